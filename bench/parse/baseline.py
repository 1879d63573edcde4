#!/usr/bin/env python3
"""The Python/numpy side of bench/parse: json.loads of the raw bytes, the conversion in
reference.py (plus VAD's trajectory and plan sums, which the Swift parse also does), json.dumps.
Prints {"iterations", "median_ms", "min_ms", "output_bytes"} like `podagent parse --repeat-count`.

    baseline.py CASE RAW.json [CALIBRATION.json] ITERATIONS
CASE: petr-nuscenes, vad-nuscenes, vad-nuscmap, topomlp-openlane
"""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference  # noqa: E402


def vad_sums(raw):
    bbox = raw["pts_bbox"]
    boxes = np.asarray(bbox["boxes_3d"], dtype=np.float64)
    trajs = np.asarray(bbox["trajs_3d"], dtype=np.float64).reshape(-1, 6, 6, 2).cumsum(axis=2)
    trajs += boxes[:, None, None, 0:2]
    plans = np.asarray(bbox["ego_fut_preds"], dtype=np.float64).cumsum(axis=1)
    command = int(np.argmax(np.asarray(bbox["ego_fut_cmd"]).reshape(-1)))
    return trajs, plans[command]


def run(case, data, calibration):
    raw = json.loads(data)
    if case == "petr-nuscenes":
        out = reference.nuscenes(raw, calibration, "PETR", 0.0)
    elif case == "vad-nuscenes":
        vad_sums(raw)
        out = reference.nuscenes(raw, calibration, "VAD", 0.0)
    elif case == "vad-nuscmap":
        vad_sums(raw)
        out = reference.nuscmap(raw, "VAD", 0.0)
    elif case == "topomlp-openlane":
        out = reference.openlane(raw, None, 0.0)
    else:
        raise SystemExit(f"unknown case {case}")
    return json.dumps(out, separators=(",", ":"))


def main(argv):
    case, raw_path = argv[1], argv[2]
    calibration = None
    if len(argv) == 5:
        with open(argv[3]) as handle:
            calibration = json.load(handle)
    iterations = int(argv[-1])
    with open(raw_path, "rb") as handle:
        data = handle.read()
    samples, size = [], 0
    for _ in range(iterations):
        start = time.perf_counter()
        size = len(run(case, data, calibration))
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    print(json.dumps({"iterations": iterations, "median_ms": samples[len(samples) // 2], "min_ms": samples[0], "output_bytes": size}))


if __name__ == "__main__":
    main(sys.argv)
