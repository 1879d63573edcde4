"""The approach podagent replaces: one `subprocess.run([python, script])` per request, which loads the
model (the synthetic Demo, load_time_s as given) and answers one sample, then exits.

Prints one JSON object: {"requests": n, "latencies_s": [...], "median_s": ...}.
Usage: python3 bench/inference/subprocess_baseline.py --requests 3 --load-time 5 --raw-format vad
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ONE_REQUEST = r'''
import json, os, sys
sys.path.insert(0, os.path.join(sys.argv[1], "Plugins", "runtime"))
sys.path.insert(0, os.path.join(sys.argv[1], "Plugins", "Demo"))
import worker
from podagent_worker import Context, to_jsonable
model = worker.Demo()
model.load(Context({"PODAGENT_WORKER_OPTIONS": json.dumps({"load_time_s": float(sys.argv[2])})}))
raw = to_jsonable(model.infer({"sample_id": "s1"}, {"raw_format": sys.argv[3]}))
print(json.dumps(raw))
'''


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3)
    parser.add_argument("--load-time", type=float, default=5.0)
    parser.add_argument("--raw-format", default="vad")
    args = parser.parse_args()
    root = os.path.abspath(os.path.join(HERE, "..", ".."))
    latencies = []
    for _ in range(args.requests):
        start = time.monotonic()
        done = subprocess.run([sys.executable, "-c", ONE_REQUEST, root, str(args.load_time), args.raw_format],
                              capture_output=True, timeout=600, check=True)
        json.loads(done.stdout)  # what the caller would do with the output
        latencies.append(time.monotonic() - start)
    print(json.dumps({"requests": args.requests, "latencies_s": latencies, "median_s": statistics.median(latencies)}))


if __name__ == "__main__":
    main()
