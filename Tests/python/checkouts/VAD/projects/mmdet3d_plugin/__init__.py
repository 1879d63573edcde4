"""STAND-IN plugin package (tests only): registers the stand-in VAD model under its upstream type name."""
from mmdet3d.models import DETECTORS
from standin_log import record
from standin_models import VADStandin

DETECTORS.register_module(name="VAD")(VADStandin)
record("plugin.imported", module=__name__)
