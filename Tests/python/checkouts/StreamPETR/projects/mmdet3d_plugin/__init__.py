"""STAND-IN plugin package (tests only): registers the stand-in StreamPETR model under its upstream type name."""
from mmdet3d.models import DETECTORS
from standin_log import record
from standin_models import StreamPETRStandin

DETECTORS.register_module(name="Petr3D")(StreamPETRStandin)
record("plugin.imported", module=__name__)
