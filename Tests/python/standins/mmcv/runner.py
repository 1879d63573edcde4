"""STAND-IN for mmcv.runner (tests only)."""
from standin_log import record as _record


def wrap_fp16_model(model):
    _record("mmcv.runner.wrap_fp16_model", model=type(model).__name__)
    model.fp16_enabled = True
