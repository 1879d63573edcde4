"""Two (or more) podagent builds side by side in the same run: one warm agent per build, each serving
one Demo instance, sent the same VAD-size binary-form request in turn, request by request, so every
build meets the same machine load. For before/after figures of a change to the request path.

Usage: python3 bench/inference/compare_builds.py REQUESTS PODAGENT [PODAGENT ...]
       (a PODAGENT may be prefixed with GLIBC_TUNABLES settings and '@', to try a malloc setting)
Prints each build's median overhead (latency - the worker's inference_s), inside-the-engine overhead
and parse time, in ms.
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


def main():
    requests, builds = int(sys.argv[1]), sys.argv[2:]
    agents = [start(build) for build in builds]
    try:
        conns = [http.client.HTTPConnection("127.0.0.1", agent.port, timeout=120) for agent in agents]
        options = dict(hb.SIZES["vad"], tensors="numpy")
        for _ in range(20):
            for agent, conn in zip(agents, conns):
                hb.infer(conn, agent.token, "vad", "warm", options)
        rows = [[] for _ in agents]
        for i in range(requests):
            for k, (agent, conn) in enumerate(zip(agents, conns)):
                rows[k].append(hb.infer(conn, agent.token, "vad", f"s{i}", options))
        for build, found in zip(builds, rows):
            s = hb.summary(found)
            print(f"{build}: overhead {s['overhead_median_ms']:.2f} ms (p90 {s['overhead_p90_ms']:.2f}), "
                  f"inside the engine {s['engine_overhead_median_ms']:.2f} ms, parse {s['parse_median_ms']:.2f} ms")
    finally:
        for agent in agents:
            agent.stop()


if __name__ == "__main__":
    main()
