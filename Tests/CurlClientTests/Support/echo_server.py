"""An HTTP(S) server on loopback for CurlClient's tests: it answers what it received.

Usage: python3 echo_server.py [CERT KEY]   (prints "listening on http(s)://127.0.0.1:PORT")
Routes (any method): /status/NNN answers NNN with {"error": ...}; /big/N answers N bytes; /slow waits 5 s;
/redirect answers 302 to /echo; anything else echoes {"method", "path", "headers", "body"} with X-Echo: yes.
"""
import http.server
import json
import ssl
import sys
import time


class Echo(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=None):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/status/"):
            status = int(self.path.split("/")[2])
            return self.reply(status, json.dumps({"error": f"asked for {status}"}).encode(), {"Content-Type": "application/json"})
        if self.path.startswith("/big/"):
            return self.reply(200, b"z" * int(self.path.split("/")[2]))
        if self.path == "/slow":
            time.sleep(5)
            return self.reply(200, b"late")
        if self.path == "/redirect":
            return self.reply(302, b"", {"Location": "/echo"})
        echo = {"method": self.command, "path": self.path, "headers": dict(self.headers.items()), "body": body.decode("latin-1")}
        self.reply(200, json.dumps(echo).encode(), {"Content-Type": "application/json", "X-Echo": "yes"})

    do_GET = do_POST = do_PUT = do_DELETE = handle_any


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
scheme = "http"
if len(sys.argv) == 3:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[1], sys.argv[2])
    server.socket = context.wrap_socket(server.socket, server_side=True)
    scheme = "https"
print(f"listening on {scheme}://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
