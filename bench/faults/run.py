#!/usr/bin/env python3
"""bench/faults: how podagent's liveness holds up under hostile load, two podagent binaries in the same run.

For each binary: start `podagent run` serving the synthetic Demo model, then
  1. large uploads: 4 clients each POST a 60 MiB JSON body (45 MiB base64 upload) to /models/Demo/infer
     while a prober asks /v2/health/live every 50 ms (timeout 5 s);
  2. slow clients: 300 connections that start a request head and never finish it, under
     `prlimit --nofile=256:256`, while the prober asks /v2/health/live 20 times (timeout 5 s).
Reports liveness latency (median, p99, max, answers missing) and the upload answers. Prints a Markdown table.

Usage: bench/faults/run.py [--before /path/to/an/older/podagent] [--after .build/release/podagent]
"""
import argparse
import http.client
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The test suites' helper that starts `podagent run` and waits for its "listening on" line (one parser).
sys.path.insert(0, os.path.join(REPO, "Tests", "pysupport"))
from listening_agent import ListeningAgent  # noqa: E402


def start(binary, state, wrapper=()):
    """A started agent (its `port`, `stop()`), once the Demo model is ready."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODAGENT_")}
    env.update({"PODAGENT_SSH": "off", "PODAGENT_MODELS": "Demo", "PODAGENT_LOG_FILE": "off"})
    # As root the workers run as nobody: give them a Python that user can run (not a pyenv under /root).
    if os.path.exists("/usr/bin/python3"):
        env["PODAGENT_INFERENCE_PYTHON"] = "/usr/bin/python3"
    try:
        agent = ListeningAgent([*wrapper, binary, "run", "--http-host", "127.0.0.1", "--http-port", "0", "--state-dir", state,
                                "--plugins-dir", os.path.join(REPO, "Plugins")], env=env, timeout=60)
    except AssertionError as error:
        raise SystemExit(f"{binary} did not start: {error}")
    deadline = time.time() + 60
    while time.time() < deadline and status(agent.port, "/v2/health/ready", 2) != 200:
        time.sleep(0.1)
    return agent


def status(port, path, timeout):
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        connection.request("GET", path)
        code = connection.getresponse().status
        connection.close()
        return code
    except OSError:
        return 0


def probe(port, stop, interval, timeout, samples):
    while not stop.is_set():
        began = time.perf_counter()
        code = status(port, "/v2/health/live", timeout)
        samples.append((time.perf_counter() - began, code))
        time.sleep(interval)


def summary(samples):
    latencies = sorted(s for s, code in samples if code == 200)
    missing = sum(1 for _, code in samples if code != 200)
    if not latencies:
        return "none answered", "", "", missing
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return f"{statistics.median(latencies) * 1000:.1f}", f"{p99 * 1000:.1f}", f"{latencies[-1] * 1000:.1f}", missing


def uploads(binary):
    state = tempfile.mkdtemp(prefix="bench-faults-")
    agent = start(binary, state)
    port = agent.port
    # 60 MiB of base64 (45 MiB of data): the body is just under the default 64 MiB limit.
    body = json.dumps({"inputs": {"sample_id": "big", "img_path": {"base64": "A" * (60 << 20), "filename": "f.bin"}}}).encode()
    answers = []

    def upload():
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            connection.request("POST", "/models/Demo/infer", body=body, headers={"Content-Type": "application/json"})
            answers.append(connection.getresponse().status)
        except OSError as error:
            answers.append(type(error).__name__)

    samples, stop = [], threading.Event()
    prober = threading.Thread(target=probe, args=(port, stop, 0.05, 5, samples))
    prober.start()
    began = time.time()
    clients = [threading.Thread(target=upload) for _ in range(4)]
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    took = time.time() - began
    stop.set()
    prober.join()
    agent.stop()
    return summary(samples), sorted(map(str, answers)), took


def slow_clients(binary):
    state = tempfile.mkdtemp(prefix="bench-faults-")
    agent = start(binary, state, wrapper=("prlimit", "--nofile=256:256", "--"))
    port = agent.port
    held = []
    for _ in range(300):
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=2)
            sock.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n")
            held.append(sock)
        except OSError:
            pass
    samples, stop = [], threading.Event()
    prober = threading.Thread(target=probe, args=(port, stop, 0.05, 5, samples))
    prober.start()
    while len(samples) < 20:
        time.sleep(0.05)
    stop.set()
    prober.join()
    for sock in held:
        sock.close()
    agent.stop()
    return summary(samples)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", help="an older podagent to compare with (same run)")
    parser.add_argument("--after", default=os.path.join(REPO, ".build/release/podagent"))
    args = parser.parse_args()
    rows = []
    binaries = ([("before", args.before)] if args.before else []) + [("after", args.after)]
    for name, binary in binaries:
        (median, p99, worst, missing), answers, took = uploads(binary)
        rows.append(f"| {name} | 4 x 60 MiB uploads | {median} | {p99} | {worst} | {missing} | {', '.join(answers)} in {took:.1f} s |")
        median, p99, worst, missing = slow_clients(binary)
        rows.append(f"| {name} | 300 slow heads, 256 fds | {median} | {p99} | {worst} | {missing} | |")
    print("| binary | load | liveness median (ms) | p99 (ms) | max (ms) | no answer within 5 s | uploads |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
