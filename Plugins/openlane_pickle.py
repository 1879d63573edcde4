#!/usr/bin/env python3
"""Turn PodAgent's OpenLane-V2 JSON submission into the pickle the devkit reads.

JSON keys results by "split/segment_id/timestamp"; the devkit wants (split, segment_id, timestamp)
tuples and numpy arrays (points float32, topology matrices float32). The header keys (method, authors,
e-mail, institution / company, country / region) are copied when the JSON has them. Usage:
    openlane_pickle.py SUBMISSION.json OUTPUT.pkl
What OpenLane-V2 v1.0.0's check_results (openlanev2/preprocessing/check.py) refuses is refused here
first, naming the frame and item: lane points not (N, 3), traffic-element points not (2, 2), ids not
unique within a frame, matrices not (#lanes, #lanes) and (#lanes, #traffic elements), a header value
of the wrong type, more than 10 authors. The output is written to a temp file, fsynced and renamed, so
it is whole or absent. Exit 2 with the reason on stderr for a bad submission.

Arrays are pickled as `numpy.ndarray(shape, dtype, buffer)`, which numpy 1.x and 2.x both load: numpy 2's
own reduction names the module `numpy._core`, which the devkit's numpy (>=1.22, <1.24) cannot import.
"""
import json
import os
import pickle
import sys

import numpy as np

HEADER_STRINGS = ("method", "e-mail", "institution / company", "country / region")
MAX_AUTHORS = 10


class Invalid(ValueError):
    pass


def points(item, shape, where):
    array = np.asarray(item.get("points"), dtype=np.float32)
    rows, columns = shape
    if array.ndim != 2 or array.shape[1] != columns or (rows is not None and array.shape[0] != rows) or array.shape[0] == 0:
        want = f"({rows if rows is not None else 'N'}, {columns})"
        raise Invalid(f"{where}: points must be {want}, got shape {array.shape}")
    return array


def matrix(value, rows, columns, where):
    array = np.asarray(value, dtype=np.float32)
    if rows == 0 or columns == 0:
        array = array.reshape(rows, columns)  # json has [] or [[], ...] for an empty side
    if array.shape != (rows, columns):
        raise Invalid(f"{where}: expected shape ({rows}, {columns}), got {array.shape}")
    return array


def convert(submission):
    if not isinstance(submission, dict) or not isinstance(submission.get("results"), dict):
        raise Invalid("expected an object with a 'results' object")
    output = {}
    for key in HEADER_STRINGS:
        if key in submission:
            if not isinstance(submission[key], str):
                raise Invalid(f"key {key!r}: expected a string")
            output[key] = submission[key]
    if "authors" in submission:
        authors = submission["authors"]
        if not isinstance(authors, list) or not all(isinstance(a, str) for a in authors):
            raise Invalid("key 'authors': expected a list of strings")
        if len(authors) > MAX_AUTHORS:
            raise Invalid(f"key 'authors': {len(authors)} authors, at most {MAX_AUTHORS}")
        output["authors"] = list(authors)
    unknown = set(submission) - set(HEADER_STRINGS) - {"authors", "results"}
    if unknown:
        raise Invalid(f"unknown keys {sorted(unknown)}")

    results = {}
    for key, entry in submission["results"].items():
        parts = key.split("/")
        if len(parts) != 3 or not all(parts):
            raise Invalid(f"result key {key!r} is not split/segment_id/timestamp")
        predictions = entry["predictions"]
        lanes = predictions["lane_centerline"]
        elements = predictions["traffic_element"]
        ids = [item["id"] for item in lanes] + [item["id"] for item in elements]
        if len(set(ids)) != len(ids):
            twice = sorted({i for i in ids if ids.count(i) > 1})
            raise Invalid(f"results/{key}: ids {twice} are used more than once (lanes and traffic elements share one id space)")
        results[tuple(parts)] = {"predictions": {
            "lane_centerline": [
                {"id": lane["id"], "points": points(lane, (None, 3), f"results/{key}/lane_centerline/{lane['id']}"),
                 "confidence": float(lane["confidence"])}
                for lane in lanes],
            "traffic_element": [
                {"id": element["id"], "attribute": int(element["attribute"]),
                 "points": points(element, (2, 2), f"results/{key}/traffic_element/{element['id']}"),
                 "confidence": float(element["confidence"])}
                for element in elements],
            "topology_lclc": matrix(predictions["topology_lclc"], len(lanes), len(lanes), f"results/{key}/topology_lclc"),
            "topology_lcte": matrix(predictions["topology_lcte"], len(lanes), len(elements), f"results/{key}/topology_lcte"),
        }}
    output["results"] = results
    return output


class PortablePickler(pickle.Pickler):
    """Writes numpy arrays as numpy.ndarray(shape, dtype string, bytearray): portable across numpy 1 and 2."""

    def reducer_override(self, obj):
        if isinstance(obj, np.ndarray):
            array = np.ascontiguousarray(obj)
            return np.ndarray, (array.shape, array.dtype.str, bytearray(array.tobytes()))
        return NotImplemented


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
    try:
        with open(temp, "wb") as handle:
            PortablePickler(handle, protocol=4).dump(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, argv[2])
    except OSError as error:
        try:
            os.unlink(temp)
        except OSError:
            pass
        print(f"{argv[2]}: cannot write: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
