"""STAND-IN plugin package (tests only): registers the stand-in PETR model under its upstream type name."""
import importlib
import os

from mmdet3d.models import DETECTORS
from standin_log import record
from standin_models import PETRStandin

DETECTORS.register_module(name="Petr3D")(PETRStandin)
record("plugin.imported", module=__name__)

# STANDIN_PLUGIN_IMPORTS (knob): modules this plugin imports at load that the image may lack, as
# MapTR's datasets/__init__.py imports av2.
for _name in filter(None, os.environ.get("STANDIN_PLUGIN_IMPORTS", "").split(",")):
    importlib.import_module(_name)
