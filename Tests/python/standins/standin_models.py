"""STAND-IN models (tests only): what the five upstream detectors look like from the outside.

Each takes the inputs its upstream forward_test takes (checked), keeps the upstream's scene
state the same way (StreamPETR's prev_scene_token + memory, BEVFormer's prev_frame_info), records
what it saw, writes to stdout (to prove the worker protects the protocol), and returns random
outputs of the real shapes (shared/specs/model-outputs.md). Faults by sample id: 'oom' (the
RuntimeError of torch < 1.13), 'oom-new' (torch.cuda.OutOfMemoryError), 'model-error', 'nan'
(a NaN score); or once by writing the fault's name into the file $STANDIN_FAIL_FILE names.
"""
import os
import sys

import numpy as np

import torch
from mmdet3d.core.bbox import LiDARInstance3DBoxes
from standin_log import record


def _first_meta(img_metas):
    meta = img_metas
    while isinstance(meta, list):
        meta = meta[0]
    return meta


class StandinDetector:
    def __init__(self, **cfg):
        self.cfg = cfg
        self.rng = np.random.default_rng(7)

    def __call__(self, return_loss=True, rescale=False, **data):
        assert return_loss is False, "the worker must call the model with return_loss=False"
        meta = _first_meta(data["img_metas"])
        record("model.forward", model=type(self).__name__, rescale=rescale, keys=sorted(data),
               sample_idx=meta.get("sample_idx"), meta_keys=sorted(meta))
        print(f"stand-in {type(self).__name__}: a print() inside the model")
        sys.stdout.flush()
        os.write(1, b"stand-in: a C-level write to fd 1\n")
        fault = meta.get("sample_idx")
        fail_file = os.environ.get("STANDIN_FAIL_FILE")
        if fail_file and os.path.exists(fail_file):  # a one-shot fault for configs whose meta has no sample_idx
            with open(fail_file) as handle:
                fault = handle.read().strip()
            os.remove(fail_file)
        if fault == "oom":
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB (stand-in)")
        if fault == "oom-new":
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.00 GiB (stand-in)")
        if fault == "model-error":
            raise ValueError("stand-in model failure")
        if torch.cuda.is_initialized():
            torch.cuda.standin_use(mib_allocated=512, mib_cached=256)  # a forward leaves cached blocks
        return self.forward_test(meta, data)

    def detections(self, n, box_dim=9, classes=10, nan=False):
        boxes = self.rng.uniform(-40, 40, (n, box_dim)).astype(np.float32)
        boxes[:, 3:6] = np.abs(boxes[:, 3:6]) / 10 + 0.5
        scores = np.sort(self.rng.uniform(0, 1, n).astype(np.float32))[::-1].copy()
        if nan:
            scores[1] = np.nan
        labels = self.rng.integers(0, classes, n).astype(np.int64)
        return {"boxes_3d": LiDARInstance3DBoxes(torch.Tensor(boxes), box_dim=box_dim),
                "scores_3d": torch.Tensor(scores), "labels_3d": torch.Tensor(labels)}

    def vectors(self, n, prefix=""):
        pts = self.rng.uniform(-14, 14, (n, 20, 2)).astype(np.float32)
        boxes = np.concatenate([pts.min(1), pts.max(1)], axis=1)
        return {f"{prefix}boxes_3d": torch.Tensor(boxes),
                f"{prefix}scores_3d": torch.Tensor(self.rng.uniform(0, 1, n).astype(np.float32)),
                f"{prefix}labels_3d": torch.Tensor(self.rng.integers(0, 3, n).astype(np.int64)),
                f"{prefix}pts_3d": torch.Tensor(pts)}


def _check_multiview(img, cameras):
    assert isinstance(img, torch.Tensor) and img.dim() == 5 and img.shape[:3] == (1, cameras, 3), \
        f"img must be (1, {cameras}, 3, H, W), got {getattr(img, 'shape', type(img))}"


class PETRStandin(StandinDetector):
    """PETR's Petr3D: forward_test(img_metas, img) with test-time-aug lists."""

    def forward_test(self, meta, data):
        assert isinstance(data["img_metas"], list) and isinstance(data["img_metas"][0], list)
        _check_multiview(data["img"][0], 6)
        assert len(meta["lidar2img"]) == 6 and np.asarray(meta["lidar2img"][0]).shape == (4, 4)
        return [{"pts_bbox": self.detections(300, nan=meta.get("sample_idx") == "nan")}]


class _Head:
    def __init__(self):
        self.memory = 0

    def reset_memory(self):
        self.memory = 0
        record("head.reset_memory")


class StreamPETRStandin(StandinDetector):
    """StreamPETR's Petr3D: memory reset when img_metas[0]['scene_token'] changes."""

    def __init__(self, **cfg):
        super().__init__(**cfg)
        self.prev_scene_token = None
        self.pts_bbox_head = _Head()

    def forward_test(self, meta, data):
        keys = ("lidar2img", "intrinsics", "extrinsics", "timestamp", "img_timestamp", "ego_pose", "ego_pose_inv")
        for key in keys:
            assert key in data, f"collect key {key} missing"
        frame = {k: data[k][0][0].unsqueeze(0) for k in keys}
        _check_multiview(data["img"][0], 6)
        assert frame["ego_pose"].shape == (1, 4, 4) and frame["lidar2img"].shape == (1, 6, 4, 4)
        if meta["scene_token"] != self.prev_scene_token:
            self.prev_scene_token = meta["scene_token"]
            prev_exists = False
            self.pts_bbox_head.reset_memory()
        else:
            prev_exists = True
        self.pts_bbox_head.memory = min(self.pts_bbox_head.memory + 256, 1024)
        record("streampetr.frame", scene_token=meta["scene_token"], timestamp=float(frame["timestamp"].numpy().ravel()[0]),
               prev_exists=prev_exists, memory=self.pts_bbox_head.memory)
        return [{"pts_bbox": self.detections(300)}]


class BEVFormerStyle(StandinDetector):
    """MapTR/VAD: prev_frame_info (prev BEV, scene token, ego motion from can_bus); prev BEV used only with
    video_test_mode (default False), as their forward_test does."""

    def __init__(self, video_test_mode=False, **cfg):
        super().__init__(**cfg)
        self.video_test_mode = video_test_mode
        self.prev_frame_info = {"prev_bev": None, "scene_token": None, "prev_pos": 0, "prev_angle": 0}

    def temporal_step(self, meta):
        if meta["scene_token"] != self.prev_frame_info["scene_token"]:
            self.prev_frame_info["prev_bev"] = None
        self.prev_frame_info["scene_token"] = meta["scene_token"]
        if not self.video_test_mode:
            self.prev_frame_info["prev_bev"] = None
        can_bus = np.asarray(meta["can_bus"], dtype=np.float64)
        used_prev = self.prev_frame_info["prev_bev"] is not None
        record("bev.frame", model=type(self).__name__, scene_token=meta["scene_token"], used_prev_bev=used_prev,
               can_bus=can_bus.tolist())
        self.prev_frame_info.update(prev_pos=can_bus[:3].copy(), prev_angle=can_bus[-1], prev_bev="bev")


class MapTRStandin(BEVFormerStyle):
    def forward_test(self, meta, data):
        _check_multiview(data["img"][0], 6)
        self.temporal_step(meta)
        return [{"pts_bbox": self.vectors(50)}]


class VADStandin(BEVFormerStyle):
    def forward_test(self, meta, data):
        for key in ("gt_bboxes_3d", "gt_labels_3d", "ego_his_trajs", "ego_fut_trajs", "ego_fut_cmd", "ego_lcf_feat",
                    "gt_attr_labels", "fut_valid_flag", "points"):
            assert key in data, f"VAD's forward_test needs {key}"
        _check_multiview(data["img"][0], 6)
        self.temporal_step(meta)
        command = data["ego_fut_cmd"][0].numpy().reshape(1, 1, 1, 3)
        record("vad.command", ego_fut_cmd=command.ravel().tolist())
        bbox = self.detections(100)
        bbox["trajs_3d"] = torch.Tensor(self.rng.uniform(-1, 1, (100, 6, 12)).astype(np.float32))
        bbox.update(self.vectors(50, prefix="map_"))
        bbox["ego_fut_preds"] = torch.Tensor(self.rng.uniform(-1, 2, (3, 6, 2)).astype(np.float32))
        bbox["ego_fut_cmd"] = torch.Tensor(command.astype(np.float32))
        metrics = {"plan_L2_1s": 0.0, "plan_obj_col_1s": 0.0, "fut_valid_flag": False}
        return [{"pts_bbox": bbox, "metric_results": metrics}]


class TopoMLPStandin(StandinDetector):
    """TopoMLP: forward_test(img, img_metas), no test-time-aug lists; numpy outputs."""

    def forward_test(self, meta, data):
        _check_multiview(data["img"], 7)
        assert isinstance(data["img_metas"], list) and isinstance(data["img_metas"][0], dict)
        assert len(meta["lidar2img"]) == 7
        r = self.rng
        lanes = r.uniform(-50, 50, (300, 12)).astype(np.float32)
        te = np.concatenate([r.uniform(0, 1000, (100, 4)), r.integers(0, 13, (100, 1))], axis=1).astype(np.float32)
        return [{"pred_lc": (lanes, r.uniform(0, 1, (300, 1)).astype(np.float32)),
                 "pred_te": (te, r.uniform(0, 1, (100,)).astype(np.float32)),
                 "pred_topology_lclc": r.uniform(0, 1, (300, 300)).astype(np.float32),
                 "pred_topology_lcte": r.uniform(0, 1, (300, 100)).astype(np.float32)}]
