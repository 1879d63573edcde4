"""STAND-IN for podagent's inference HTTP API (CONTRACT.md "HTTP API"), used by tests until the real API
is merged. It serves standard results that the tests produced with the REAL Demo worker and the REAL
parsers (`podagent parse`); only the HTTP layer is a stand-in.

Usage: python3 standin_agent.py CONFIG.json   (prints "listening on http://127.0.0.1:PORT")
CONFIG: {"token": str|null, "models": {name: {"load_s": x, "gpu_memory_mib": y}},
         "results": {model: {sample_id: result file}}, "fail": {model: {sample_id: [status, message]}}}
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONFIG = json.load(open(sys.argv[1]))


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def authorized(self):
        token = CONFIG.get("token")
        if token and self.headers.get("Authorization") != f"Bearer {token}":
            self.answer(401, {"error": "missing or wrong bearer token"})
            return False
        return True

    def do_GET(self):
        if not self.authorized():
            return
        if self.path == "/v2/repository/index":
            # The real index's shape (AgentAPI's ModelStatus): every key podagent writes.
            index = [{"name": name, "version": "1", "state": "READY", "reason": "", "config": "", "checkpoint": "",
                      "queued": 0, "queue_limit": 16,
                      "instances": [{"index": 0, "gpu": None, "pid": 4242, "state": "idle", "restarts": 0,
                                     "load_s": facts.get("load_s"), "gpu_memory_mib": facts.get("gpu_memory_mib")}]}
                     for name, facts in CONFIG["models"].items()]
            return self.answer(200, index)
        self.answer(404, {"error": f"no route {self.path}"})

    def do_POST(self):
        if not self.authorized():
            return
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        parts = self.path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "models" or parts[2] != "infer":
            return self.answer(404, {"error": f"no route {self.path}"})
        model = parts[1]
        if model not in CONFIG["models"]:
            return self.answer(404, {"error": f"model '{model}' is not known"})
        sample = body.get("inputs", {}).get("sample_id", "")
        failure = CONFIG.get("fail", {}).get(model, {}).get(sample)
        if failure:
            headers = {"Retry-After": "3"} if failure[0] == 429 else {}
            return self.answer(failure[0], {"error": failure[1]}, headers)
        path = CONFIG["results"].get(model, {}).get(sample)
        if path is None:
            return self.answer(400, {"error": f"no result prepared for sample '{sample}'"})
        memory = CONFIG["models"][model].get("gpu_memory_mib")
        headers = {"X-Request-Id": f"req-{model}-{sample}", "X-PodAgent-Attempts": "1"}
        if memory is not None:
            headers["X-PodAgent-GPU-Memory-MiB"] = str(memory)
        self.answer(200, open(path, "rb").read(), headers)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
