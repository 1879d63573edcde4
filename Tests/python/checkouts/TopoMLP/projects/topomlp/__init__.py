"""STAND-IN of TopoMLP's projects.topomlp (tests only): registers the stand-in model."""
from mmdet3d.models import DETECTORS
from standin_log import record
from standin_models import TopoMLPStandin

DETECTORS.register_module(name="TopoMLP")(TopoMLPStandin)
record("plugin.imported", module=__name__)
