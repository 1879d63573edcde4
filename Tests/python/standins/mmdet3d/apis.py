"""STAND-IN for mmdet3d.apis (tests only): init_model(config, checkpoint, device) as in 0.17/1.0."""
import torch
from mmcv import Config
from standin_log import record as _record

from .models import DETECTORS


def init_model(config, checkpoint=None, device="cuda:0"):
    if isinstance(config, str):
        config = Config.fromfile(config)
    _record("mmdet3d.apis.init_model", config=config.get("filename"), checkpoint=checkpoint, device=device,
            model_type=config.model["type"])
    with open(checkpoint, "rb") as handle:  # the real one loads it; a missing file must fail here too
        handle.read(16)
    args = {k: v for k, v in config.model.items() if k != "type"}
    if config.model["type"] not in DETECTORS:
        raise KeyError(f"{config.model['type']} is not in the models registry")
    model = DETECTORS[config.model["type"]](**args)
    model.CLASSES = config.class_names
    model.cfg = config
    if device != "cpu":
        torch.cuda.set_device(device)
        torch.cuda.standin_use(mib_allocated=512, mib_cached=0)
    return model
