#!/usr/bin/env python3
"""Writes Sources/podagent/startup.order: the functions an idle podagent runs (issue 17).

The release link gives it to lld (`--symbol-ordering-file`, Package.swift), which places those functions
next to each other at the start of .text. The kernel maps a binary's code in 64 KiB blocks around each
page it faults in; with the start-up and health-route code scattered over the whole of .text, nearly all
of it became resident although an idle agent runs a small part of it. Grouped, the same work maps a few
MiB. Nothing is read or run differently; only the placement changes.

How: runs PODAGENT (a release build with symbols) under valgrind's callgrind, with sshd off and the
repository's Plugins catalog, waits until /v2/health/live answers, requests the health routes and
/metrics, stops it with SIGINT, and keeps every function callgrind saw that is defined in the binary's
text, sorted (stable diffs; lld needs only the grouping). Names that no longer exist are ignored by lld
(`--no-warn-symbol-ordering`), so a stale file costs memory, never a failed build: rerun this after big
changes and compare the idle RSS with bench/health/run.py.

Needs valgrind (apt-get install valgrind); not part of `make test`.

Usage: bench/health/startup_order.py [--podagent .build-static/release/podagent] [--out Sources/podagent/startup.order]
"""
import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ROUTES = ["/v2/health/live", "/v2/health/ready", "/health", "/metrics", "/v2", "/v2/models"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def text_symbols(binary):
    """Names of the functions defined in the binary (nm), the only ones an ordering can place."""
    out = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True).stdout
    return {p[2] for p in (line.split() for line in out.splitlines()) if len(p) == 3 and p[1] in "tT"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--podagent", default=os.path.join(ROOT, ".build-static", "release", "podagent"))
    ap.add_argument("--out", default=os.path.join(ROOT, "Sources", "podagent", "startup.order"))
    args = ap.parse_args()
    if not shutil.which("valgrind"):
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as scratch:
        # valgrind cannot read the toolchain's DWARF; the symbol table is all it needs.
        binary = os.path.join(scratch, "podagent")
        subprocess.run(["strip", "--strip-debug", "-o", binary, args.podagent], check=True)
        names = text_symbols(binary)
        if not names:
            sys.exit(f"{args.podagent} has no symbol table (a stripped binary?)")
        port, state, profile = free_port(), os.path.join(scratch, "state"), os.path.join(scratch, "callgrind.out")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PODAGENT_")}
        env["PODAGENT_SSH"] = "off"
        proc = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--demangle=no", f"--callgrind-out-file={profile}", binary, "run",
             "--http-host", "127.0.0.1", "--http-port", str(port), "--state-dir", state, "--log-level", "error"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 120
            while get(port, "/v2/health/live") != 200:
                if proc.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"podagent did not answer under valgrind: {proc.stderr.read() if proc.poll() is not None else 'timeout'}")
                time.sleep(0.5)
            answered = {route: get(port, route) for route in ROUTES}
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        seen = set()
        with open(profile) as f:
            for line in f:
                m = re.match(r"c?fn=\(\d+\) (.+)$", line.rstrip("\n"))
                if m:
                    seen.add(m.group(1))
    ordered = sorted(seen & names)
    temporary = args.out + ".tmp"
    with open(temporary, "w") as f:
        f.write("\n".join(ordered) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, args.out)
    print(f"{args.out}: {len(ordered)} functions (routes answered: {answered})")


if __name__ == "__main__":
    main()
