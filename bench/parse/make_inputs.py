#!/usr/bin/env python3
"""Writes raw outputs at realistic sizes into OUT_DIR (default bench/results/parse):
PETR 300 boxes; VAD 100 boxes with trajectories + 50 map elements; TopoMLP 300 lanes, 100 traffic
elements, 300x300 and 300x100 topology. Values are float32 turned into JSON with tolist(), as the
workers write them (so numbers carry float32's long decimal forms)."""
import json
import os
import sys

import numpy as np

out = sys.argv[1] if len(sys.argv) > 1 else "bench/results/parse"
os.makedirs(out, exist_ok=True)
rng = np.random.RandomState(0)
f32 = np.float32


def boxes(n):
    b = np.zeros((n, 9), dtype=f32)
    b[:, 0:2] = rng.uniform(-50, 50, size=(n, 2))
    b[:, 2] = rng.uniform(-3, 0, size=n)
    b[:, 3:6] = rng.uniform(0.4, 5, size=(n, 3))
    b[:, 6] = rng.uniform(-np.pi, np.pi, size=n)
    b[:, 7:9] = rng.uniform(-5, 5, size=(n, 2))
    scores = np.sort(rng.uniform(0, 1, size=n).astype(f32))[::-1]
    labels = rng.randint(0, 10, size=n)
    return b.tolist(), scores.tolist(), labels.tolist()


def write(name, value):
    with open(os.path.join(out, name), "w") as handle:
        json.dump(value, handle)


b, s, l = boxes(300)
write("petr_300.json", {"sample_token": "bench", "pts_bbox": {"boxes_3d": b, "scores_3d": s, "labels_3d": l}})

b, s, l = boxes(100)
pts = rng.uniform(-30, 30, size=(50, 20, 2)).astype(f32)
write("vad_100.json", {"sample_token": "bench", "pts_bbox": {
    "boxes_3d": b, "scores_3d": s, "labels_3d": l,
    "trajs_3d": rng.uniform(-2, 2, size=(100, 6, 12)).astype(f32).tolist(),
    "map_boxes_3d": np.concatenate([pts.min(1), pts.max(1)], axis=1).tolist(),
    "map_scores_3d": rng.uniform(0, 1, size=50).astype(f32).tolist(),
    "map_labels_3d": rng.randint(0, 3, size=50).tolist(),
    "map_pts_3d": pts.tolist(),
    "ego_fut_preds": rng.uniform(-1, 3, size=(3, 6, 2)).astype(f32).tolist(),
    "ego_fut_cmd": [[[[0.0, 0.0, 1.0]]]],
}})

te = np.zeros((100, 5), dtype=f32)
te[:, :4] = rng.uniform(0, 1900, size=(100, 4))
te[:, 4] = rng.randint(0, 13, size=100)
write("topomlp_300.json", {"sample_id": "val/10000/315967376899927209",
    "pred_lc": [rng.uniform(-50, 50, size=(300, 12)).astype(f32).tolist(), rng.uniform(0, 1, size=(300, 1)).astype(f32).tolist()],
    "pred_te": [te.tolist(), rng.uniform(0, 1, size=100).astype(f32).tolist()],
    "pred_topology_lclc": rng.uniform(0, 1, size=(300, 300)).astype(f32).tolist(),
    "pred_topology_lcte": rng.uniform(0, 1, size=(300, 100)).astype(f32).tolist(),
})

q1 = np.array([0.7071, 0.0, 0.0, -0.7071]); q2 = np.array([0.5720, -0.0016, 0.0117, -0.8202])
write("calibration.json", {"bench": {
    "lidar2ego_rotation": (q1 / np.linalg.norm(q1)).tolist(), "lidar2ego_translation": [0.94, 0.0, 1.84],
    "ego2global_rotation": (q2 / np.linalg.norm(q2)).tolist(), "ego2global_translation": [411.3, 1180.89, 0.0]}})
