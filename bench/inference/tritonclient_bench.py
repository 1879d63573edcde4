"""NVIDIA's tritonclient (HTTP) against a warm podagent serving the synthetic Demo model: the output
`result` as JSON (`binary_data=False`: the standard result escaped into a JSON string) against Triton's
binary tensor data (`binary_data=True`: the same bytes after the JSON header), request by request
alternately in the same run, for PETR-, VAD- and TopoMLP-size results.

Latency is the client's: `client.infer(...)` to the InferResult, plus `as_numpy("result")` and
`json.loads` of the standard result (what a caller does to use it). Run with the tritonclient venv that
bootstrap/install-deps makes:

    /opt/podagent-tritonclient/bin/python bench/inference/tritonclient_bench.py [--podagent .build/release/podagent]
        [--requests 60] [--topomlp-requests 20] [--formats petr,vad,topomlp]

Prints a Markdown table and writes bench/inference/tritonclient-last-run.json.
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import tritonclient.http as httpclient

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from http_bench import ROOT, SIZES, Agent, pct  # noqa: E402


def call(client, token, size, sample, binary):
    tensor = httpclient.InferInput("sample", [1], "BYTES")
    tensor.set_data_from_numpy(np.array([json.dumps({"sample_id": sample}).encode()], dtype=np.object_), binary_data=binary)
    parameters = dict(SIZES[size], score_threshold=0)
    start = time.perf_counter()
    answer = client.infer(
        "Demo", [tensor], parameters=parameters, headers={"Authorization": "Bearer " + token},
        outputs=[httpclient.InferRequestedOutput("result", binary_data=binary)])
    element = answer.as_numpy("result")[0]
    result = json.loads(element)
    latency = time.perf_counter() - start
    timings = result["meta"]["timings_seconds"]
    return latency, timings, len(element)


def summary(rows):
    latencies = [r[0] for r in rows]
    overheads = [r[0] - r[1]["inference_s"] for r in rows]
    return {"requests": len(rows), "median_ms": statistics.median(latencies) * 1000, "p90_ms": pct(latencies, 0.9) * 1000,
            "overhead_median_ms": statistics.median(overheads) * 1000, "result_bytes": rows[-1][2]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--podagent", default=os.path.join(ROOT, ".build", "release", "podagent"))
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--topomlp-requests", type=int, default=20)
    parser.add_argument("--formats", default="petr,vad,topomlp")
    args = parser.parse_args()
    agent = Agent(args.podagent, instances=1, load_time=0)
    results = {}
    try:
        client = httpclient.InferenceServerClient(f"127.0.0.1:{agent.port}", network_timeout=300, connection_timeout=60)
        for size in args.formats.split(","):
            count = args.topomlp_requests if size == "topomlp" else args.requests
            for i in range(3):
                for binary in (False, True):
                    call(client, agent.token, size, f"warm{i}", binary)
            rows = {"json": [], "binary": []}
            for i in range(count):
                for form, binary in (("json", False), ("binary", True)):
                    rows[form].append(call(client, agent.token, size, f"s{i}", binary))
            results[size] = {form: summary(found) for form, found in rows.items()}
        client.close()
    finally:
        agent.stop()
    print("| result size | output form | result bytes | requests | median ms | p90 ms | overhead median ms | JSON / binary (median) |")
    print("|---|---|---|---|---|---|---|---|")
    for size, forms in results.items():
        ratio = forms["json"]["median_ms"] / forms["binary"]["median_ms"]
        for form, row in forms.items():
            shown = f"{ratio:.2f}x" if form == "binary" else ""
            print(f"| {size} | {form} | {row['result_bytes']} | {row['requests']} | {row['median_ms']:.2f} | {row['p90_ms']:.2f} | {row['overhead_median_ms']:.2f} | {shown} |")
    with open(os.path.join(HERE, "tritonclient-last-run.json"), "w") as out:
        json.dump(results, out, indent=2)


if __name__ == "__main__":
    main()
