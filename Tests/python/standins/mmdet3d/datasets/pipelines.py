"""STAND-IN for mmdet3d.datasets.pipelines (tests only): Compose over generic stand-in transforms.

Loaders really open the files they are given (a missing file fails like the real loader); the
formatting/collect steps build DataContainers the way mmdet3d's do; everything else passes the
results through. Every transform applied is recorded.
"""
import importlib
import os

import numpy as np

import torch
from mmcv.parallel import DataContainer
from standin_log import record as _record

META_KEYS = ("filename", "ori_shape", "img_shape", "lidar2img", "pad_shape", "scale_factor", "flip",
             "box_mode_3d", "box_type_3d", "img_norm_cfg", "sample_idx", "scene_token", "can_bus",
             "timestamp", "pts_filename", "img_paths", "te_yolov8", "lidar2global", "lidar2ego")


def _to_tensor(value):
    if isinstance(value, torch.Tensor):
        return value
    return torch.Tensor(np.asarray(value))


class Transform:
    def __init__(self, kind, **args):
        self.kind = kind
        self.args = args

    def __call__(self, results):
        _record("pipeline", transform=self.kind)
        # Faults of the image, not of the sample (knobs, unset by default):
        # STANDIN_PIPELINE_NEEDS: a key another version of this code reads that the worker's dict lacks;
        # STANDIN_PIPELINE_IMPORTS: a module a transform imports when it runs (missing from the image).
        # And of the sample: STANDIN_PIPELINE_LOOKUP names a key whose value the transform looks up in
        # a table of known values (as a map location is), so an unknown value is a KeyError of it.
        needed = os.environ.get("STANDIN_PIPELINE_NEEDS")
        if needed and needed not in results and "img" not in results:
            raise KeyError(needed)
        if os.environ.get("STANDIN_PIPELINE_IMPORTS"):
            importlib.import_module(os.environ["STANDIN_PIPELINE_IMPORTS"])
        if os.environ.get("STANDIN_PIPELINE_LOOKUP"):
            {"scene-known": 0}[results[os.environ["STANDIN_PIPELINE_LOOKUP"]]]
        if "Load" in self.kind and "Image" in self.kind:
            paths = results["img_paths"] if "img_paths" in results else results["img_filename"]
            images = []
            for path in paths:
                with open(path, "rb") as handle:
                    handle.read(1)
                images.append(np.zeros((4, 8, 3), dtype=np.float32))
            results["img"] = images
            results["filename"] = paths
            results["img_shape"] = results["ori_shape"] = results["pad_shape"] = [i.shape for i in images]
        elif self.kind == "LoadPointsFromFile":
            with open(results["pts_filename"], "rb") as handle:
                handle.read(1)
            results["points"] = np.zeros((10, 5), dtype=np.float32)
        elif self.kind == "LoadAnnotations3D":
            info = results["ann_info"]
            results["gt_bboxes_3d"] = info["gt_bboxes_3d"]
            results["gt_labels_3d"] = info["gt_labels_3d"]
            if self.args.get("with_attr_label"):
                results["gt_attr_labels"] = info["attr_labels"]
        elif self.kind == "MultiScaleFlipAug3D":
            inner = Compose(self.args["transforms"])
            out = inner(dict(results))
            return {k: [v] for k, v in out.items()}
        elif "FormatBundle" in self.kind:
            if "img" in results:
                results["img"] = DataContainer(torch.Tensor(np.stack([i.transpose(2, 0, 1) for i in results["img"]])),
                                               stack=True)
            for key in self.args.get("collect_keys", []):
                if key in results and key != "img":
                    results[key] = DataContainer(_to_tensor(np.asarray(results[key])), stack=True)
            for key in ("points", "gt_labels_3d", "gt_attr_labels", "ego_his_trajs", "ego_fut_trajs", "ego_fut_masks",
                        "ego_fut_cmd", "ego_lcf_feat", "fut_valid_flag"):
                if key in results and not isinstance(results[key], DataContainer):
                    results[key] = DataContainer(_to_tensor(np.asarray(results[key])), stack=key != "points")
            if "gt_bboxes_3d" in results:
                results["gt_bboxes_3d"] = DataContainer(results["gt_bboxes_3d"], cpu_only=True)
        elif self.kind in ("Collect3D", "CustomCollect3D", "Collect"):
            meta = {k: results[k] for k in self.args.get("meta_keys", META_KEYS) if k in results}
            out = {"img_metas": DataContainer(meta, cpu_only=True)}
            for key in self.args["keys"]:
                out[key] = results[key]  # a missing key fails like the real Collect3D
            return out
        return results


class Compose:
    def __init__(self, transforms):
        _record("pipeline.Compose", transforms=[t["type"] for t in transforms])
        # Like mmcv's build_from_cfg: a transform type no installed package registered (knob).
        missing = os.environ.get("STANDIN_UNREGISTERED_TRANSFORM")
        if missing and missing in [t["type"] for t in transforms]:
            raise KeyError(f"{missing} is not in the pipeline registry")
        self.transforms = [Transform(t["type"], **{k: v for k, v in t.items() if k != "type"}) for t in transforms]

    def __call__(self, data):
        for transform in self.transforms:
            data = transform(data)
            if data is None:
                return None
        return data
