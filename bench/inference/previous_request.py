"""What the previous request leaves behind: the same binary VAD request to one warm agent, timed after a
one-box request, after a VAD JSON request to the same agent, and after a VAD JSON request to a second
agent (another process: its work can only leave the machine's caches and scheduling changed, not this
agent's heap). `http_bench.py` alternates the JSON and binary forms, so every binary request it times
follows a JSON one.

Usage: python3 bench/inference/previous_request.py [REQUESTS] [PODAGENT]
Prints the median overhead (latency - the worker's inference_s) and inside-the-engine overhead of each.
"""
import http.client
import os
import sys

import http_bench as hb


def main():
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    binary = sys.argv[2] if len(sys.argv) > 2 else os.path.join(hb.ROOT, ".build", "release", "podagent")
    first, second = hb.Agent(binary, 1, 1), hb.Agent(binary, 1, 1)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", first.port, timeout=60)
        other = http.client.HTTPConnection("127.0.0.1", second.port, timeout=60)
        vad_binary = dict(hb.SIZES["vad"], tensors=hb.FORMS["binary"])
        vad_json = dict(hb.SIZES["vad"], tensors=hb.FORMS["json"])
        one_box = dict(hb.SIZES["petr"], tensors=hb.FORMS["binary"], detections=1)
        for i in range(20):
            hb.infer(conn, first.token, "vad", f"w{i}", vad_binary)
            hb.infer(conn, first.token, "vad", f"w{i}", vad_json)
            hb.infer(other, second.token, "vad", f"w{i}", vad_json)
            hb.infer(conn, first.token, "petr", f"w{i}", one_box)
        rows = {"after a one-box request": [], "after a VAD JSON request to the same agent": [],
                "after a VAD JSON request to another agent": []}
        for i in range(requests):
            hb.infer(conn, first.token, "petr", f"t{i}", one_box)
            rows["after a one-box request"].append(hb.infer(conn, first.token, "vad", f"a{i}", vad_binary))
            hb.infer(conn, first.token, "vad", f"j{i}", vad_json)
            rows["after a VAD JSON request to the same agent"].append(hb.infer(conn, first.token, "vad", f"b{i}", vad_binary))
            hb.infer(other, second.token, "vad", f"k{i}", vad_json)
            rows["after a VAD JSON request to another agent"].append(hb.infer(conn, first.token, "vad", f"c{i}", vad_binary))
        for name, found in rows.items():
            s = hb.summary(found)
            print(f"binary VAD {name}: overhead {s['overhead_median_ms']:.2f} ms (p90 {s['overhead_p90_ms']:.2f}), "
                  f"inside the engine {s['engine_overhead_median_ms']:.2f} ms")
    finally:
        first.stop()
        second.stop()


if __name__ == "__main__":
    main()
