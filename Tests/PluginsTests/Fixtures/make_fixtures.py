#!/usr/bin/env python3
"""Builds the raw-output fixtures (shapes and conventions from shared/specs/model-outputs.md) and the
golden export files, the latter with the independent numpy implementation in bench/parse/reference.py.

Run from the repository root: python3 Tests/PluginsTests/Fixtures/make_fixtures.py
"""
import json
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "bench", "parse"))
import reference  # noqa: E402


def dump(name, value):
    with open(os.path.join(HERE, name), "w") as handle:
        json.dump(value, handle, indent=1)
        handle.write("\n")


def unit(q):
    q = np.asarray(q, dtype=np.float64)
    return (q / np.linalg.norm(q)).tolist()


# Calibration like nuScenes' LIDAR_TOP (roughly -90 deg about z, 1.8 m up) and an ego pose in Boston.
CALIB = {
    "lidar2ego_rotation": unit([0.7071, 0.0, 0.0, -0.7071]),
    "lidar2ego_translation": [0.94, 0.0, 1.84],
    "ego2global_rotation": unit([0.5720, -0.0016, 0.0117, -0.8202]),
    "ego2global_translation": [411.30, 1180.89, 0.0],
}


def petr_like(convention, token):
    # Rows [x, y, z_bottom, d3, d4, d5, yaw, vx, vy]; d3..d5 = w,l,h (0.17) or l,w,h (1.0).
    car = [10.0, 5.0, -1.8, 1.9, 4.6, 1.7, 0.4, 3.0, 0.5]
    if convention == "1.0":
        car = [10.0, 5.0, -1.8, 4.6, 1.9, 1.7, 0.4, 3.0, 0.5]
    boxes = [
        car,
        [-20.0, 3.0, -1.6, 0.6, 0.7, 1.75, 1.2, 0.05, 0.02],   # pedestrian, standing
        [5.0, -12.0, -1.5, 2.9, 11.0, 3.4, -0.2, 0.0, 0.1],    # bus, stopped
        [44.0, 0.0, -1.7, 1.8, 4.4, 1.6, 0.0, 0.0, 0.0],       # car at 44 m: inside 50 m
        [0.0, 35.0, -1.9, 0.4, 0.4, 1.0, 0.0, 0.0, 0.0],       # traffic cone at 35 m: beyond 30 m, dropped
        [8.0, 8.0, -1.8, 0.7, 1.8, 1.4, 2.0, 1.5, 1.5],        # bicycle, moving
        [-6.0, -6.0, -1.9, 2.5, 0.5, 1.0, 0.1, 0.0, 0.0],      # barrier
    ]
    scores = [0.92, 0.81, 0.75, 0.55, 0.40, 0.33, 0.12]
    labels = [0, 8, 3, 0, 9, 7, 5]
    return {"sample_token": token, "pts_bbox": {"boxes_3d": boxes, "scores_3d": scores, "labels_3d": labels}}


def polyline(x0, y0, x1, y1, n=20):
    return [[x0 + (x1 - x0) * k / (n - 1), y0 + (y1 - y0) * k / (n - 1)] for k in range(n)]


def bbox_of(points):
    p = np.asarray(points)
    return [float(p[:, 0].min()), float(p[:, 1].min()), float(p[:, 0].max()), float(p[:, 1].max())]


def maptr(token):
    lines = [polyline(-14, -2, 14, -2), polyline(-3, 5, 3, 5), polyline(-14, 8, 14, 9),
             polyline(-3, 5, 3, 5), polyline(2, -28, 2, 28)]
    # The second entry of query 1 (rows 1 and 3 share points) carries another label: both are kept.
    labels = [0, 1, 2, 2, 0]
    scores = [0.9, 0.7, 0.6, 0.45, 0.1]
    return {"sample_token": token, "pts_bbox": {
        "boxes_3d": [bbox_of(p) for p in lines], "scores_3d": scores, "labels_3d": labels, "pts_3d": lines}}


def vad(token):
    sample = petr_like("0.17", token)
    bbox = sample["pts_bbox"]
    # VAD's own range (|x| <= 30, |y| <= 15 in the ego frame) against detection_cvpr_2019's radial one: this
    # traffic cone lands at ego (28, 14), 31.3 m out: beyond the cone's 30 m radius but inside VAD's box; and
    # petr_like's pedestrian (ego y = 20, 20.4 m out) and far car (ego y = -44) are inside their radii but
    # outside VAD's box.
    bbox["boxes_3d"].append([-14.0, 27.06, -1.9, 0.4, 0.4, 1.0, 0.0, 0.0, 0.0])
    bbox["scores_3d"].append(0.5)
    bbox["labels_3d"].append(9)
    n = len(bbox["scores_3d"])
    rng = np.random.RandomState(4)
    trajs = np.round(rng.uniform(-1.5, 1.5, size=(n, 6, 12)), 3)
    lines = [polyline(-14, -2, 14, -2), polyline(-3, 5, 3, 5), polyline(2, -28, 2, 28)]
    bbox.update({
        "trajs_3d": trajs.tolist(),
        "map_boxes_3d": [bbox_of(p) for p in lines], "map_scores_3d": [0.85, 0.5, 0.15], "map_labels_3d": [0, 1, 2],
        "map_pts_3d": lines,
        "ego_fut_preds": np.round(rng.uniform(-0.3, 3.0, size=(3, 6, 2)), 3).tolist(),
        "ego_fut_cmd": [[[[0.0, 1.0, 0.0]]]],
    })
    sample["metric_results"] = {"plan_L2_1s": 0.41, "fut_valid_flag": True}
    return sample


def topomlp(key):
    rng = np.random.RandomState(7)
    lanes, te = 5, 3
    ctrl = np.round(rng.uniform(-20, 20, size=(lanes, 12)), 3)
    ctrl[:, 2::3] = np.round(rng.uniform(-1, 1, size=(lanes, 4)), 3)
    scores = [[0.30], [0.90], [0.05], [0.60], [0.30]]   # a tie (rows 0 and 4): the stable order keeps 0 first
    te_boxes = [[100.0, 200.0, 130.0, 260.0, 1.0], [400.5, 120.0, 420.0, 170.0, 4.0], [900.0, 300.0, 960.0, 330.0, 0.0]]
    te_scores = [0.8, 0.35, 0.02]
    lclc = np.round(rng.uniform(0, 1, size=(lanes, lanes)), 3)
    lcte = np.round(rng.uniform(0, 1, size=(lanes, te)), 3)
    return {"sample_id": key, "pred_lc": [ctrl.tolist(), scores], "pred_te": [te_boxes, te_scores],
            "pred_topology_lclc": lclc.tolist(), "pred_topology_lcte": lcte.tolist()}


def variants(model, typical, score_paths, zero, wrong):
    """Writes typical, zero, all-low, NaN-score, wrong-shape and truncated fixtures for one model."""
    dump(f"{model}_typical.json", typical)
    dump(f"{model}_zero.json", zero)
    low = json.loads(json.dumps(typical))
    for path in score_paths:
        holder, key = path(low)
        holder[key] = (np.asarray(holder[key]) * 0.0 + 0.01).tolist()
    dump(f"{model}_low.json", low)
    nan = json.loads(json.dumps(typical))
    holder, key = score_paths[0](nan)
    values = holder[key]
    if isinstance(values[0], list):
        values[0][0] = float("nan")
    else:
        values[0] = float("nan")
    with open(os.path.join(HERE, f"{model}_nan.json"), "w") as handle:
        json.dump(nan, handle, indent=1)  # Python writes NaN, as the workers' json.dumps does
        handle.write("\n")
    dump(f"{model}_wrong_shape.json", wrong)
    text = json.dumps(typical, indent=1)
    with open(os.path.join(HERE, f"{model}_truncated.json"), "w") as handle:
        handle.write(text[: len(text) // 2])


def main():
    calibration = {"tok_petr": CALIB, "tok_stream": CALIB, "tok_vad": CALIB}
    dump("calibration.json", calibration)
    det_scores = [lambda d: (d["pts_bbox"], "scores_3d")]
    empty_det = {"pts_bbox": {"boxes_3d": [], "scores_3d": [], "labels_3d": []}}

    petr = petr_like("0.17", "tok_petr")
    wrong = json.loads(json.dumps(petr))
    wrong["pts_bbox"]["boxes_3d"] = [row[:7] for row in wrong["pts_bbox"]["boxes_3d"]]
    variants("petr", petr, det_scores, dict(empty_det, sample_token="tok_petr"), wrong)

    stream = petr_like("1.0", "tok_stream")
    wrong = json.loads(json.dumps(stream))
    wrong["pts_bbox"]["labels_3d"] = wrong["pts_bbox"]["labels_3d"][:3]
    variants("streampetr", stream, det_scores, dict(empty_det, sample_token="tok_stream"), wrong)

    m = maptr("tok_maptr")
    wrong = json.loads(json.dumps(m))
    wrong["pts_bbox"]["pts_3d"] = [[[x, y, 0.0] for x, y in line] for line in wrong["pts_bbox"]["pts_3d"]]
    variants("maptr", m, [lambda d: (d["pts_bbox"], "scores_3d")],
             {"sample_token": "tok_maptr", "pts_bbox": {"boxes_3d": [], "scores_3d": [], "labels_3d": [], "pts_3d": []}}, wrong)

    v = vad("tok_vad")
    wrong = json.loads(json.dumps(v))
    wrong["pts_bbox"]["trajs_3d"] = [np.asarray(t).reshape(6, 6, 2).tolist() for t in wrong["pts_bbox"]["trajs_3d"]]
    zero = json.loads(json.dumps(v))
    for key in ["boxes_3d", "scores_3d", "labels_3d", "trajs_3d", "map_boxes_3d", "map_scores_3d", "map_labels_3d", "map_pts_3d"]:
        zero["pts_bbox"][key] = []
    variants("vad", v, [lambda d: (d["pts_bbox"], "scores_3d"), lambda d: (d["pts_bbox"], "map_scores_3d")], zero, wrong)

    key = "val/00001/315969904949927216"
    t = topomlp(key)
    wrong = json.loads(json.dumps(t))
    wrong["pred_topology_lclc"] = [row[:4] for row in wrong["pred_topology_lclc"]]
    zero = {"sample_id": key, "pred_lc": [[], []], "pred_te": [[], []], "pred_topology_lclc": [], "pred_topology_lcte": []}
    variants("topomlp", t, [lambda d: (d["pred_lc"], 1), lambda d: (d["pred_te"], 1)], zero, wrong)

    # Goldens from the independent numpy implementation.
    dump("golden_petr_nuscenes.json", reference.nuscenes(petr, calibration, "PETR", 0.0))
    dump("golden_streampetr_nuscenes.json", reference.nuscenes(stream, calibration, "StreamPETR", 0.0))
    dump("golden_vad_nuscenes.json", reference.nuscenes(v, calibration, "VAD", 0.2))
    dump("golden_maptr_nuscmap.json", reference.nuscmap(m, "MapTR", 0.0))
    dump("golden_vad_nuscmap.json", reference.nuscmap(v, "VAD", 0.2))
    dump("golden_topomlp_openlane.json", reference.openlane(t, key, 0.0))
    # An OpenLane-V2 submission's header (podagent parse --submission-info).
    info = {"method": "TopoMLP (PodAgent fixture)", "authors": ["A. Author", "B. Author"],
            "e-mail": "team@example.org", "institution / company": "Example University", "country / region": "Germany"}
    dump("submission_info.json", info)
    dump("golden_topomlp_openlane_submission.json", reference.openlane(t, key, 0.0, info))


if __name__ == "__main__":
    main()
