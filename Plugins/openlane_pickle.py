#!/usr/bin/env python3
"""Turn PodAgent's OpenLane-V2 JSON submission into the pickle the devkit reads.

JSON keys results by "split/segment_id/timestamp"; the devkit wants (split, segment_id, timestamp)
tuples and numpy arrays (points float32, topology matrices float32). Usage:
    openlane_pickle.py SUBMISSION.json OUTPUT.pkl
The output is written to a temp file, fsynced and renamed, so it is whole or absent.
"""
import json
import os
import pickle
import sys

import numpy as np


def convert(submission):
    results = {}
    for key, entry in submission["results"].items():
        parts = key.split("/")
        if len(parts) != 3:
            raise ValueError(f"result key {key!r} is not split/segment_id/timestamp")
        predictions = entry["predictions"]
        results[tuple(parts)] = {"predictions": {
            "lane_centerline": [
                {"id": lane["id"], "points": np.asarray(lane["points"], dtype=np.float32),
                 "confidence": float(lane["confidence"])}
                for lane in predictions["lane_centerline"]],
            "traffic_element": [
                {"id": element["id"], "attribute": int(element["attribute"]),
                 "points": np.asarray(element["points"], dtype=np.float32),
                 "confidence": float(element["confidence"])}
                for element in predictions["traffic_element"]],
            "topology_lclc": np.asarray(predictions["topology_lclc"], dtype=np.float32).reshape(
                len(predictions["lane_centerline"]), len(predictions["lane_centerline"])),
            "topology_lcte": np.asarray(predictions["topology_lcte"], dtype=np.float32).reshape(
                len(predictions["lane_centerline"]), len(predictions["traffic_element"])),
        }}
    output = {k: v for k, v in submission.items() if k != "results"}
    output["results"] = results
    return output


def main(argv):
    if len(argv) != 3:
        print("usage: openlane_pickle.py SUBMISSION.json OUTPUT.pkl", file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as handle:
            data = convert(json.load(handle))
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"{argv[1]}: cannot convert: {error}", file=sys.stderr)
        return 2
    temp = f"{argv[2]}.tmp-{os.getpid()}"
    with open(temp, "wb") as handle:
        pickle.dump(data, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
