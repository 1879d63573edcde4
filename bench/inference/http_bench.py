"""Inference over HTTP: a warm podagent serving the synthetic Demo model against one subprocess per
request (what people do today), in the same run; the worker's answer as JSON lists (protocol 1's form)
against binary tensor frames (protocol 2), request by request in the same run, for PETR-, VAD- and
TopoMLP-size results; then throughput and latency with concurrent clients.

podagent's own overhead is measured per request as the client's latency minus the worker's own compute
(`meta.timings_seconds.inference_s`, timed inside the worker around `model.infer`): it holds the HTTP
round trip, the JSON request, the worker's conversion of its output (to JSON lists, or to frames) and
writing it, reading it in the agent, the parse into the standard result and the JSON response. "Inside
the engine" is the engine's own `total_s - inference_s` (from the request's arrival in the engine to the
parsed result). The client reads the response body inside the latency but decodes it outside.

The JSON form is the Demo's `tensors: lists` (its answer before tensor frames: Python lists, JSON on any
protocol); the binary form its `tensors: numpy` (float32 numpy arrays, int64 labels, as real models return,
sent as frames). The two forms are sent alternately, so both meet the same machine load: request by request
by default, or in blocks of `--block N` requests of one form (a request then mostly follows one of its own
form, as in a deployment that uses one form; request by request, each binary request follows a JSON one,
which slows it by 0.3-0.5 ms on the 2-core VM even when that JSON request went to another agent, see
previous_request.py). With blocks the first request of each block is left out of the medians.

Usage: python3 bench/inference/http_bench.py [--podagent .build/release/podagent] [--requests 200]
           [--topomlp-requests 40] [--block 1] [--formats petr,vad,topomlp] [--baseline-requests 3] [--load-time 5]
           [--clients 1,4,16] [--seconds 10] [--instances 2] [--plugins Plugins]
Prints Markdown tables and writes bench/inference/http-last-run.json.
"""
import argparse
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Agent:
    def __init__(self, binary, instances, load_time, plugins=os.path.join(ROOT, "Plugins")):
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.state = tempfile.mkdtemp(prefix="bench-infer-")
        env = dict(os.environ, PODAGENT_SSH="off", PODAGENT_MODELS="Demo", PODAGENT_TOKEN=self.token,
                   PODAGENT_STATE_DIR=self.state, PODAGENT_PLUGINS_DIR=plugins,
                   PODAGENT_INFERENCE_INSTANCES=str(instances), PODAGENT_LOG_LEVEL="warning",
                   PODAGENT_LOG_FILE="off", PODAGENT_HTTP_HOST="127.0.0.1", PODAGENT_INFERENCE_QUEUE_LIMIT="64")
        # Run as root, podagent starts workers as an unprivileged user: a Python that user can run, with numpy.
        env.setdefault("PODAGENT_INFERENCE_PYTHON", "/usr/bin/python3")
        self.process = subprocess.Popen([binary, "run", "--http-port", str(self.port)], env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                status, _ = self.get("/v2/health/ready")
                if status == 200 and self.get("/v2/models/Demo/ready")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit("podagent did not become ready in 120 s")

    def get(self, path):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request("GET", path, headers={"Authorization": "Bearer " + self.token})
        response = conn.getresponse()
        return response.status, response.read()

    def stop(self):
        self.process.terminate()
        self.process.wait(30)


# The request options per result size: every box kept (threshold 0), as many as the model gives.
SIZES = {"petr": {"raw_format": "petr", "detections": 300}, "vad": {"raw_format": "vad", "detections": 100},
         "topomlp": {"raw_format": "topomlp"}}
FORMS = {"json": "lists", "binary": "numpy"}


def infer(conn, token, raw_format, sample, options=None):
    body = json.dumps({"inputs": {"sample_id": sample},
                       "options": dict(options or {"raw_format": raw_format}, score_threshold=0)})
    start = time.perf_counter()
    conn.request("POST", "/models/Demo/infer", body=body,
                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    response = conn.getresponse()
    payload = response.read()
    latency = time.perf_counter() - start
    if response.status != 200:
        raise SystemExit(f"infer answered {response.status}: {payload[:300]!r}")
    result = json.loads(payload)
    return latency, result["meta"]["timings_seconds"], len(payload)


def summary(rows):
    latencies = [r[0] for r in rows]
    overheads = [r[0] - r[1]["inference_s"] for r in rows]
    engine = [r[1]["total_s"] - r[1]["inference_s"] for r in rows]
    return {"requests": len(rows), "median_ms": statistics.median(latencies) * 1000, "p90_ms": pct(latencies, 0.9) * 1000,
            "overhead_median_ms": statistics.median(overheads) * 1000, "overhead_p90_ms": pct(overheads, 0.9) * 1000,
            "engine_overhead_median_ms": statistics.median(engine) * 1000, "engine_overhead_p90_ms": pct(engine, 0.9) * 1000,
            "parse_median_ms": statistics.median(r[1]["parse_s"] for r in rows) * 1000,
            "inference_median_ms": statistics.median(r[1]["inference_s"] for r in rows) * 1000, "answer_bytes": rows[-1][2]}


def compare_forms(agent, size, requests, block=1):
    """The JSON and the binary form of one result size, alternately: request by request, or in blocks of
    `block` requests of one form, the first of each block (it follows the other form) not counted."""
    conn = http.client.HTTPConnection("127.0.0.1", agent.port, timeout=120)
    options = {form: dict(SIZES[size], tensors=tensors) for form, tensors in FORMS.items()}
    for i in range(5):
        for form in FORMS:
            infer(conn, agent.token, size, f"warm{i}", options[form])
    rows = {form: [] for form in FORMS}
    kept = block - 1 if block > 1 else 1
    for i in range(0, requests, kept):
        for form in FORMS:
            for j in range(block):
                row = infer(conn, agent.token, size, f"s{i}-{j}", options[form])
                if block == 1 or j > 0:
                    rows[form].append(row)
    return {form: summary(found) for form, found in rows.items()}


def worker_answer_bytes(size):
    """Bytes the Demo worker writes for one answer of `size` in each form (protocol 1 JSON line; protocol 2 line + frames)."""
    sys.path.insert(0, os.path.join(ROOT, "Tests", "python"))
    from workerharness import WorkerProcess
    sizes = {}
    for form, protocol in (("json", 1), ("binary", 2)):
        worker = WorkerProcess("Demo", env={"PODAGENT_PROTOCOL": str(protocol)})
        try:
            worker.recv()
            worker.send({"type": "infer", "id": "size", "inputs": {"sample_id": "s"},
                         "options": dict(SIZES[size], tensors=FORMS[form])})
            answer = worker.recv()
            frames = sum(h["bytes"] for h in answer.get("framed", []))
            sizes[form] = {"line_bytes": worker.last_line_bytes, "frame_bytes": frames}
        finally:
            worker.close()
    return sizes


def concurrent(agent, clients, seconds, raw_format):
    latencies, errors, lock = [], [], threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(index):
        conn = http.client.HTTPConnection("127.0.0.1", agent.port, timeout=60)
        n = 0
        while time.monotonic() < stop_at:
            try:
                latency, _, _ = infer(conn, agent.token, raw_format, f"c{index}-{n}")
                with lock:
                    latencies.append(latency)
            except BaseException as error:  # noqa: BLE001 - counted and reported
                with lock:
                    errors.append(str(error))
                conn = http.client.HTTPConnection("127.0.0.1", agent.port, timeout=60)
            n += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    return {"clients": clients, "requests": len(latencies), "errors": len(errors), "rps": len(latencies) / elapsed,
            "p50_ms": statistics.median(latencies) * 1000 if latencies else None,
            "p99_ms": pct(latencies, 0.99) * 1000 if latencies else None}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--podagent", default=os.path.join(ROOT, ".build", "release", "podagent"))
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--topomlp-requests", type=int, default=40)
    parser.add_argument("--block", type=int, default=1,
                        help="requests of one form in a row (1: alternate request by request; N > 1: the first of each block is not counted)")
    parser.add_argument("--formats", default="petr,vad,topomlp")
    parser.add_argument("--baseline-requests", type=int, default=3)
    parser.add_argument("--load-time", type=float, default=5.0)
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--plugins", default=os.path.join(ROOT, "Plugins"),
                        help="the plugins folder (another checkout's, to measure an older runtime and Demo)")
    args = parser.parse_args()

    baseline = None
    if args.baseline_requests > 0:
        baseline = json.loads(subprocess.run(
            [sys.executable, os.path.join(HERE, "subprocess_baseline.py"), "--requests", str(args.baseline_requests),
             "--load-time", str(args.load_time), "--raw-format", "vad"], capture_output=True, check=True, text=True).stdout)

    sizes = [size for size in args.formats.split(",") if size]
    wire = {size: worker_answer_bytes(size) for size in sizes}
    agent = Agent(args.podagent, args.instances, args.load_time, args.plugins)
    try:
        forms = {size: compare_forms(agent, size, args.topomlp_requests if size == "topomlp" else args.requests, args.block) for size in sizes}
        loads = [concurrent(agent, int(c), args.seconds, "petr") for c in args.clients.split(",") if c]
    finally:
        agent.stop()

    report = {"subprocess_per_request": baseline, "forms": forms, "worker_answer": wire, "concurrent": loads,
              "instances": args.instances}
    with open(os.path.join(HERE, "http-last-run.json"), "w") as out:
        json.dump(report, out, indent=2)

    print("| result size | answer form | worker answer (line + frames) | requests | latency median | overhead median | p90 | inside the engine median | engine parse median | HTTP response |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for size, rows in forms.items():
        for form, row in rows.items():
            answer = wire[size][form]
            print(f"| {size.upper()} | {form} | {answer['line_bytes'] / 1024:.0f} KiB + {answer['frame_bytes'] / 1024:.0f} KiB "
                  f"| {row['requests']} | {row['median_ms']:.2f} ms | **{row['overhead_median_ms']:.2f} ms** | {row['overhead_p90_ms']:.2f} ms "
                  f"| {row['engine_overhead_median_ms']:.2f} ms | {row['parse_median_ms']:.2f} ms | {row['answer_bytes'] / 1024:.0f} KiB |")
    print("\n| result size | overhead JSON / binary (medians) | inside the engine JSON / binary |\n|---|---|---|")
    for size, rows in forms.items():
        print(f"| {size.upper()} | **{rows['json']['overhead_median_ms'] / rows['binary']['overhead_median_ms']:.1f}x** "
              f"| {rows['json']['engine_overhead_median_ms'] / rows['binary']['engine_overhead_median_ms']:.1f}x |")
    if baseline is not None and "vad" in forms:
        base_ms = baseline["median_s"] * 1000
        print(f"\nsubprocess per request (Demo load {args.load_time:g} s), VAD result: {base_ms:.0f} ms median; "
              f"ratio to warm podagent (binary VAD) **{base_ms / forms['vad']['binary']['median_ms']:.0f}x**")
    if loads:
        print(f"\nConcurrent clients, PETR results (binary form), {args.instances} Demo instances, {args.seconds:g} s each:\n")
        print("| clients | requests/s | p50 | p99 | errors |\n|---|---|---|---|---|")
        for row in loads:
            print(f"| {row['clients']} | {row['rps']:.0f} | {row['p50_ms']:.1f} ms | {row['p99_ms']:.1f} ms | {row['errors']} |")


if __name__ == "__main__":
    main()
