#!/usr/bin/env python3
"""bench/health: podagent's health server against a minimal Flask health endpoint, in the same run.

Measures: idle resident memory and thread count, time from exec to /v2/health/live answering
(median of N starts), /v2/health/live throughput + p99 latency under wrk on loopback, the threads
left after that load, and the binary's size (as built and stripped). Prints Markdown tables.
`--baseline OTHER_PODAGENT` measures a second build in the same run (before/after a change).

Usage: bench/health/run.py [--podagent .build/release/podagent] [--baseline PATH] [--duration 10]
       [--connections 64] [--starts 10]
"""
import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
            s.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def start(kind, binary, port, state):
    if kind == "podagent":
        cmd = [binary, "run", "--http-host", "127.0.0.1", "--http-port", str(port), "--state-dir", state, "--log-level", "error"]
    else:
        cmd = [sys.executable, os.path.join(HERE, "flask_health.py"), str(port)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODAGENT_")}
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


def time_to_live(kind, binary, state, starts):
    samples = []
    for _ in range(starts):
        port = free_port()
        t0 = time.perf_counter()
        proc = start(kind, binary, port, state)
        while not answers(port):
            if proc.poll() is not None:
                raise SystemExit(f"{kind} exited during start")
            time.sleep(0.001)
        samples.append((time.perf_counter() - t0) * 1000)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    return statistics.median(samples)


def status(pid):
    """VmRSS in MiB and the thread count, from /proc/PID/status."""
    rss, threads = float("nan"), 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return rss, threads


def binary_sizes(path):
    """The binary's size and its stripped size, in MiB."""
    with tempfile.TemporaryDirectory() as scratch:
        stripped = os.path.join(scratch, "stripped")
        subprocess.run(["strip", "-o", stripped, path], check=True)
        return os.path.getsize(path) / 2**20, os.path.getsize(stripped) / 2**20


def wrk(port, duration, connections):
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", f"http://127.0.0.1:{port}/v2/health/live"],
        capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, float(p99.group(1)) * scale, int(errors.group(1)) if errors else 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--podagent", default=".build/release/podagent")
    parser.add_argument("--baseline", help="a second podagent build measured in the same run")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--starts", type=int, default=10)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: run bootstrap/install-deps")
    state = tempfile.mkdtemp(prefix="bench-health-")
    runs = [("podagent", args.podagent)] + ([("baseline", args.baseline)] if args.baseline else []) + [("flask", None)]
    results = {}
    for name, binary in runs:
        kind = "flask" if name == "flask" else "podagent"
        ttl = time_to_live(kind, binary, state, args.starts)
        port = free_port()
        proc = start(kind, binary, port, state)
        while not answers(port):
            time.sleep(0.01)
        time.sleep(2)  # settle before reading idle memory
        idle, idle_threads = status(proc.pid)
        rps, p99, errors = wrk(port, args.duration, args.connections)
        after_rss, after_threads = status(proc.pid)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        results[name] = dict(idle=idle, threads=idle_threads, after_rss=after_rss, after_threads=after_threads,
                             ttl=ttl, rps=rps, p99=p99, errors=errors)
    p, f = results["podagent"], results["flask"]
    print(f"| metric | podagent | Flask | ratio |")
    print(f"|---|---|---|---|")
    print(f"| idle RSS (MiB) | {p['idle']:.1f} | {f['idle']:.1f} | {f['idle'] / p['idle']:.1f}x less |")
    print(f"| exec → /v2/health/live answers (ms, median of {args.starts}) | {p['ttl']:.1f} | {f['ttl']:.1f} | {f['ttl'] / p['ttl']:.1f}x faster |")
    print(f"| /v2/health/live throughput (req/s, wrk -c{args.connections} {args.duration}s) | {p['rps']:.0f} | {f['rps']:.0f} | {p['rps'] / f['rps']:.1f}x |")
    print(f"| p99 latency (ms) | {p['p99']:.2f} | {f['p99']:.2f} | {f['p99'] / p['p99']:.1f}x lower |")
    print(f"| non-2xx responses | {p['errors']} | {f['errors']} | |")
    print()
    builds = [("podagent", args.podagent)] + ([("baseline", args.baseline)] if args.baseline else [])
    print("| build | binary (MiB) | stripped (MiB) | idle RSS (MiB) | idle threads | RSS after load (MiB) | threads after load | req/s | p99 (ms) | start (ms) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, binary in builds:
        r = results[name]
        size, stripped = binary_sizes(binary)
        print(f"| {name} ({binary}) | {size:.1f} | {stripped:.1f} | {r['idle']:.1f} | {r['threads']} | {r['after_rss']:.1f} | "
              f"{r['after_threads']} | {r['rps']:.0f} | {r['p99']:.2f} | {r['ttl']:.1f} |")
    print(f"\nmachine: {os.cpu_count()} cores (os.cpu_count)")


if __name__ == "__main__":
    main()
