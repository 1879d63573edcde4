"""STAND-IN plugin package (tests only): registers the stand-in MapTR model under its upstream type name."""
from mmdet3d.models import DETECTORS
from standin_log import record
from standin_models import MapTRStandin

DETECTORS.register_module(name="MapTR")(MapTRStandin)
record("plugin.imported", module=__name__)
