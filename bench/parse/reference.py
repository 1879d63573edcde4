#!/usr/bin/env python3
"""A plain Python/numpy implementation of the conversions PodAgent's Swift plugins do.

Written independently of the Swift code, from the same spec (shared/specs/model-outputs.md), it
serves twice: it generates the golden files the Swift tests compare against, and it is the
baseline the `bench/parse` benchmark measures Swift against.

    reference.py nuscenes RAW.json CALIBRATION.json MODEL [THRESHOLD]   -> results_nusc.json on stdout
    reference.py nuscmap  RAW.json MODEL [THRESHOLD]                    -> nuscmap_results.json (VAD: map_results)
    reference.py openlane RAW.json SAMPLE_KEY [THRESHOLD] [INFO.json]   -> OpenLane-V2 JSON
RAW.json holds one sample's output, or a list of samples each with a "sample_id".

Each model's exports follow its own repository's `_format_bbox`:
- PETR, StreamPETR: mmdet3d's, with nuScenes' detection_cvpr_2019 radial class ranges.
- VAD (hustvl/VAD 1688c4b, projects/mmdet3d_plugin/datasets/nuscenes_vad_dataset.py): boxes kept when the
  ego-frame centre has |x| <= 30 and |y| <= 15 (vad_nusc_detection_cvpr_2019.json, used at l.1905-1911),
  score >= 0.2 for boxes only (l.1483), `fut_traj` = the box's trajs_3d row untouched (l.1516; the box class
  never moves it, core/bbox/structures/nuscenes_box.py l.102-116), every map vector kept, map results in a
  dict by token under `map_results` (l.1539, l.1552).
- meta is the config's input_modality: use_external True for StreamPETR, VAD and MapTR, False for PETR.
"""
import json
import sys

import numpy as np

CLASSES = ["car", "truck", "construction_vehicle", "bus", "trailer", "barrier", "motorcycle",
           "bicycle", "pedestrian", "traffic_cone"]
MAP_CLASSES = ["divider", "ped_crossing", "boundary"]
RANGES = {"car": 50, "truck": 50, "bus": 50, "trailer": 50, "construction_vehicle": 50,
          "pedestrian": 40, "motorcycle": 40, "bicycle": 40, "traffic_cone": 30, "barrier": 30}
DEFAULT_ATTR = {"car": "vehicle.parked", "pedestrian": "pedestrian.moving", "trailer": "vehicle.parked",
                "truck": "vehicle.parked", "bus": "vehicle.moving", "motorcycle": "cycle.without_rider",
                "construction_vehicle": "vehicle.parked", "bicycle": "cycle.without_rider",
                "barrier": "", "traffic_cone": ""}
CONVENTION = {"PETR": "0.17", "VAD": "0.17", "StreamPETR": "1.0"}
# input_modality['use_external'] in each model's config.
USE_EXTERNAL = {"PETR": False, "StreamPETR": True, "VAD": True, "MapTR": True}
# VAD's vad_nusc_detection_cvpr_2019.json: class_range_x / class_range_y, the same for every class.
VAD_RANGE_X, VAD_RANGE_Y = 30.0, 15.0


def modality(model):
    return dict(use_lidar=False, use_camera=True, use_radar=False, use_map=False, use_external=USE_EXTERNAL[model])


def quat_matrix(q):
    w, x, y, z = np.asarray(q, dtype=np.float64) / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def quat_mul(a, b):
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return np.array([aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw])


def samples_of(raw):
    if isinstance(raw, list):
        return [(s.get("sample_id") or s.get("sample_token") or f"sample_{i}", s) for i, s in enumerate(raw)]
    return [(raw.get("sample_id") or raw.get("sample_token"), raw)]


def nuscenes(raw, calibration, model, threshold):
    results = {}
    for token, sample in samples_of(raw):
        bbox = sample["pts_bbox"]
        boxes = np.asarray(bbox["boxes_3d"], dtype=np.float64).reshape(-1, 9)
        scores = np.asarray(bbox["scores_3d"], dtype=np.float64)
        labels = np.asarray(bbox["labels_3d"], dtype=np.int64)
        keep = np.isfinite(scores) & (scores >= threshold)
        trajs = None
        if model == "VAD":
            trajs = np.asarray(bbox["trajs_3d"], dtype=np.float64).reshape(-1, 6, 12)[keep]
        boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
        if CONVENTION[model] == "0.17":
            wlh = boxes[:, 3:6]
            yaw = -boxes[:, 6] - np.pi / 2
        else:
            wlh = boxes[:, [4, 3, 5]]
            yaw = boxes[:, 6]
        center = boxes[:, 0:3].copy()
        center[:, 2] += wlh[:, 2] / 2
        velocity = np.concatenate([boxes[:, 7:9], np.zeros((len(boxes), 1))], axis=1)
        calib = calibration[token]
        r1, t1 = quat_matrix(calib["lidar2ego_rotation"]), np.asarray(calib["lidar2ego_translation"])
        r2, t2 = quat_matrix(calib["ego2global_rotation"]), np.asarray(calib["ego2global_translation"])
        center_ego = center @ r1.T + t1
        velocity_ego = velocity @ r1.T
        names = [CLASSES[label] for label in labels]
        if model == "VAD":
            in_range = (np.abs(center_ego[:, 0]) <= VAD_RANGE_X) & (np.abs(center_ego[:, 1]) <= VAD_RANGE_Y)
        else:
            in_range = np.array([np.hypot(c[0], c[1]) <= RANGES[n] for c, n in zip(center_ego, names)], dtype=bool)
        center_global = center_ego @ r2.T + t2
        velocity_global = velocity_ego @ r2.T
        annos = []
        for i in np.nonzero(in_range)[0]:
            q = quat_mul(calib["ego2global_rotation"],
                         quat_mul(calib["lidar2ego_rotation"], [np.cos(yaw[i] / 2), 0, 0, np.sin(yaw[i] / 2)]))
            speed = np.hypot(velocity_global[i, 0], velocity_global[i, 1])
            name = names[i]
            if speed > 0.2:
                if name in ("car", "construction_vehicle", "bus", "truck", "trailer"):
                    attr = "vehicle.moving"
                elif name in ("bicycle", "motorcycle"):
                    attr = "cycle.with_rider"
                else:
                    attr = DEFAULT_ATTR[name]
            else:
                if name == "pedestrian":
                    attr = "pedestrian.standing"
                elif name == "bus":
                    attr = "vehicle.stopped"
                else:
                    attr = DEFAULT_ATTR[name]
            anno = dict(sample_token=token, translation=center_global[i].tolist(), size=wlh[i].tolist(),
                        rotation=q.tolist(), velocity=velocity_global[i, :2].tolist(), detection_name=name,
                        detection_score=float(scores[i]), attribute_name=attr)
            if trajs is not None:
                anno["fut_traj"] = trajs[i].tolist()
            annos.append(anno)
        if len(annos) > 500:
            order = sorted(range(len(annos)), key=lambda k: -annos[k]["detection_score"])[:500]
            annos = [annos[k] for k in sorted(order)]
        results[token] = annos
    return {"meta": modality(model), "results": results}


def nuscmap(raw, model, threshold):
    prefix = "map_" if model == "VAD" else ""
    if model == "VAD":
        threshold = -np.inf  # VAD's threshold is for boxes only
    out = []
    for token, sample in samples_of(raw):
        bbox = sample["pts_bbox"]
        scores = np.asarray(bbox[prefix + "scores_3d"], dtype=np.float64)
        labels = np.asarray(bbox[prefix + "labels_3d"], dtype=np.int64)
        pts = np.asarray(bbox[prefix + "pts_3d"], dtype=np.float64)
        vectors = []
        for i in range(len(scores)):
            if not np.isfinite(scores[i]) or scores[i] < threshold:
                continue
            vectors.append(dict(pts=pts[i].tolist(), pts_num=len(pts[i]), cls_name=MAP_CLASSES[labels[i]],
                                type=int(labels[i]), confidence_level=float(scores[i])))
        out.append(dict(sample_token=token, vectors=vectors))
    if model == "VAD":
        return {"meta": modality(model), "map_results": {entry["sample_token"]: entry for entry in out}}
    return {"meta": modality(model), "results": out}


def bernstein(n_control, n_points=11):
    from math import comb
    t = np.arange(n_points) / (n_points - 1)
    return np.stack([comb(n_control - 1, j) * (1 - t) ** (n_control - 1 - j) * t ** j for j in range(n_control)], axis=1)


def openlane(raw, key, threshold, info=None):
    results = {}
    for sample_key, sample in samples_of(raw):
        sample_key = sample_key or key
        ctrl = np.asarray(sample["pred_lc"][0], dtype=np.float64)
        lc_scores = np.asarray(sample["pred_lc"][1], dtype=np.float64)[:, 0]
        order = np.argsort(lc_scores, kind="stable")[:300]
        lanes = ctrl[order].reshape(len(order), -1, 3)
        lanes = np.einsum("ij,njk->nik", bernstein(lanes.shape[1]), lanes)
        conf = lc_scores[order]
        keep_lc = np.isfinite(conf) & (conf >= threshold)
        te = np.asarray(sample["pred_te"][0], dtype=np.float64).reshape(-1, 5)
        te_scores = np.asarray(sample["pred_te"][1], dtype=np.float64)
        keep_te = np.isfinite(te_scores) & (te_scores >= threshold)
        lclc = np.asarray(sample["pred_topology_lclc"], dtype=np.float64)[order][:, order]
        lcte = np.asarray(sample["pred_topology_lcte"], dtype=np.float64)[order]
        lane_list = [dict(id=1000 + i, points=lanes[i].tolist(), confidence=float(conf[i]))
                     for i in range(len(order)) if keep_lc[i]]
        te_list = [dict(id=2000 + i, attribute=int(te[i, 4]), points=te[i, :4].reshape(2, 2).tolist(),
                        confidence=float(te_scores[i])) for i in range(len(te)) if keep_te[i]]
        results[sample_key] = {"predictions": dict(
            lane_centerline=lane_list, traffic_element=te_list,
            topology_lclc=lclc[keep_lc][:, keep_lc].tolist(), topology_lcte=lcte[keep_lc][:, keep_te].tolist())}
    header = {}
    if info is not None:
        header = {k: info[k] for k in ("method", "authors", "e-mail", "institution / company", "country / region")}
    return dict(header, results=results)


def main(argv):
    kind = argv[1]
    with open(argv[2]) as handle:
        raw = json.load(handle)
    if kind == "nuscenes":
        with open(argv[3]) as handle:
            calibration = json.load(handle)
        out = nuscenes(raw, calibration, argv[4], float(argv[5]) if len(argv) > 5 else 0.0)
    elif kind == "nuscmap":
        out = nuscmap(raw, argv[3], float(argv[4]) if len(argv) > 4 else 0.0)
    elif kind == "openlane":
        info = None
        if len(argv) > 5:
            with open(argv[5]) as handle:
                info = json.load(handle)
        out = openlane(raw, argv[3], float(argv[4]) if len(argv) > 4 else 0.0, info)
    else:
        raise SystemExit(f"unknown kind {kind}")
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv)
