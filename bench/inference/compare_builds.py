"""Two (or more) podagent builds side by side in the same run: one warm agent per build, each serving
one Demo instance, sent the same VAD-size binary-form request in turn, request by request, so every
build meets the same machine load. For before/after figures of a change to the request path.

Usage: python3 bench/inference/compare_builds.py [--cases SIZE:FORM[:DETECTIONS],...] REQUESTS PODAGENT [PODAGENT ...]
       (a PODAGENT may be prefixed with GLIBC_TUNABLES settings and '@', to try a malloc setting)
--cases: the requests sent, each in turn to every build (default vad:binary); SIZE petr, vad or
topomlp, FORM json or binary (http_bench's forms), DETECTIONS a box count (petr:binary:1, a one-box
answer, is the fixed per-request cost).
Prints each build's median overhead (latency - the worker's inference_s), inside-the-engine overhead
and parse time, in ms, per case; then each build's podagent CPU time per request (from /proc).
"""
import http.client
import os
import sys

import http_bench as hb


def start(spec):
    tunables, _, binary = spec.rpartition("@")
    saved = dict(os.environ)
    if tunables:
        os.environ["GLIBC_TUNABLES"] = tunables
    try:
        return hb.Agent(binary, 1, 1)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def cpu_seconds(pid):
    """User + system CPU time of process `pid` so far, from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parse_cases(text):
    cases = []
    for case in text.split(","):
        size, form, *count = case.split(":")
        options = dict(hb.SIZES[size], tensors=hb.FORMS[form])
        if count:
            options["detections"] = int(count[0])
        cases.append((case, size, options))
    return cases


def main():
    args = sys.argv[1:]
    cases = parse_cases("vad:binary")
    if args and args[0] == "--cases":
        cases, args = parse_cases(args[1]), args[2:]
    requests, builds = int(args[0]), args[1:]
    agents = [start(build) for build in builds]
    try:
        conns = [http.client.HTTPConnection("127.0.0.1", agent.port, timeout=120) for agent in agents]
        for _ in range(20):
            for _, size, options in cases:
                for agent, conn in zip(agents, conns):
                    hb.infer(conn, agent.token, size, "warm", options)
        rows = [[[] for _ in cases] for _ in agents]
        cpu = [cpu_seconds(agent.process.pid) for agent in agents]
        for i in range(requests):
            for c, (_, size, options) in enumerate(cases):
                for k, (agent, conn) in enumerate(zip(agents, conns)):
                    rows[k][c].append(hb.infer(conn, agent.token, size, f"s{i}", options))
        cpu = [cpu_seconds(agent.process.pid) - before for agent, before in zip(agents, cpu)]
        for c, (name, _, _) in enumerate(cases):
            for build, found in zip(builds, rows):
                s = hb.summary(found[c])
                label = build if len(cases) == 1 else f"{name} {build}"
                print(f"{label}: overhead {s['overhead_median_ms']:.2f} ms (p90 {s['overhead_p90_ms']:.2f}), "
                      f"inside the engine {s['engine_overhead_median_ms']:.2f} ms, parse {s['parse_median_ms']:.2f} ms")
        for build, seconds in zip(builds, cpu):
            print(f"{build}: podagent CPU {seconds / (requests * len(cases)) * 1000:.2f} ms per request")
    finally:
        for agent in agents:
            agent.stop()


if __name__ == "__main__":
    main()
