"""STAND-IN plugin package (tests only): registers the stand-in PETR model under its upstream type name."""
from mmdet3d.models import DETECTORS
from standin_log import record
from standin_models import PETRStandin

DETECTORS.register_module(name="Petr3D")(PETRStandin)
record("plugin.imported", module=__name__)
