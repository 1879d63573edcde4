"""Inference over HTTP: a warm podagent serving the synthetic Demo model against one subprocess per
request (what people do today), in the same run; then throughput and latency with concurrent clients.

podagent's own overhead is measured per request as the client's latency minus the worker's own compute
(`meta.timings_seconds.inference_s`, timed inside the worker): it holds the HTTP round trip, the JSON
request, the worker protocol line both ways, the worker runtime's json.dumps, the parse into the standard
result and the JSON response.

Usage: python3 bench/inference/http_bench.py [--podagent .build/release/podagent] [--requests 200]
           [--baseline-requests 3] [--load-time 5] [--clients 1,4,16] [--seconds 10] [--instances 2]
Prints a Markdown table and writes bench/inference/http-last-run.json.
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
    def __init__(self, binary, instances, load_time):
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.state = tempfile.mkdtemp(prefix="bench-infer-")
        env = dict(os.environ, PODAGENT_SSH="off", PODAGENT_MODELS="Demo", PODAGENT_TOKEN=self.token,
                   PODAGENT_STATE_DIR=self.state, PODAGENT_PLUGINS_DIR=os.path.join(ROOT, "Plugins"),
                   PODAGENT_INFERENCE_INSTANCES=str(instances), PODAGENT_LOG_LEVEL="warning",
                   PODAGENT_LOG_FILE="off", PODAGENT_HTTP_HOST="127.0.0.1", PODAGENT_INFERENCE_QUEUE_LIMIT="64")
        self.process = subprocess.Popen([binary, "run", "--http-port", str(self.port)], env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                status, _ = self.get("/v2/health/ready")
                if status == 200:
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


def infer(conn, token, raw_format, sample):
    body = json.dumps({"inputs": {"sample_id": sample}, "options": {"raw_format": raw_format}})
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


def sequential(agent, raw_format, requests):
    conn = http.client.HTTPConnection("127.0.0.1", agent.port, timeout=60)
    for i in range(10):
        infer(conn, agent.token, raw_format, f"warm{i}")
    latencies, overheads, engine, size = [], [], [], 0
    for i in range(requests):
        latency, timings, size = infer(conn, agent.token, raw_format, f"s{i}")
        latencies.append(latency)
        overheads.append(latency - timings["inference_s"])
        engine.append(timings["total_s"] - timings["inference_s"])
    return {"median_ms": statistics.median(latencies) * 1000, "p90_ms": pct(latencies, 0.9) * 1000,
            "overhead_median_ms": statistics.median(overheads) * 1000, "overhead_p90_ms": pct(overheads, 0.9) * 1000,
            "engine_overhead_median_ms": statistics.median(engine) * 1000, "answer_bytes": size}


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
    parser.add_argument("--baseline-requests", type=int, default=3)
    parser.add_argument("--load-time", type=float, default=5.0)
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--instances", type=int, default=2)
    args = parser.parse_args()

    baseline = json.loads(subprocess.run(
        [sys.executable, os.path.join(HERE, "subprocess_baseline.py"), "--requests", str(args.baseline_requests),
         "--load-time", str(args.load_time), "--raw-format", "vad"], capture_output=True, check=True, text=True).stdout)

    agent = Agent(args.podagent, args.instances, args.load_time)
    try:
        warm = {fmt: sequential(agent, fmt, args.requests) for fmt in ("vad", "petr")}
        loads = [concurrent(agent, int(c), args.seconds, "petr") for c in args.clients.split(",")]
    finally:
        agent.stop()

    report = {"subprocess_per_request": baseline, "warm": warm, "concurrent": loads, "instances": args.instances}
    with open(os.path.join(HERE, "http-last-run.json"), "w") as out:
        json.dump(report, out, indent=2)
    base_ms = baseline["median_s"] * 1000
    print("| measure | median | p90 |\n|---|---|---|")
    print(f"| subprocess per request (Demo load {args.load_time:g} s), VAD result | {base_ms:.0f} ms | |")
    for fmt, row in warm.items():
        print(f"| warm podagent over HTTP, {fmt.upper()} result ({row['answer_bytes'] // 1024} KiB) | {row['median_ms']:.1f} ms | {row['p90_ms']:.1f} ms |")
        print(f"| podagent overhead over the worker's compute, {fmt.upper()} (client latency − inference_s) | {row['overhead_median_ms']:.2f} ms | {row['overhead_p90_ms']:.2f} ms |")
        print(f"| of which inside the engine (total_s − inference_s), {fmt.upper()} | {row['engine_overhead_median_ms']:.2f} ms | |")
    print(f"| ratio subprocess / warm podagent (VAD) | **{base_ms / warm['vad']['median_ms']:.0f}×** | |")
    print(f"\nConcurrent clients, PETR results, {args.instances} Demo instances, {args.seconds:g} s each:\n")
    print("| clients | requests/s | p50 | p99 | errors |\n|---|---|---|---|---|")
    for row in loads:
        print(f"| {row['clients']} | {row['rps']:.0f} | {row['p50_ms']:.1f} ms | {row['p99_ms']:.1f} ms | {row['errors']} |")


if __name__ == "__main__":
    main()
