"""A deliberately bad HTTP server for AgentAPI's transport tests: each connection gets the next scripted
answer, byte for byte, however broken. It is a test tool, not a stand-in for the agent.

Usage: python3 scripted_http.py SCRIPT.json   (prints "listening on http://127.0.0.1:PORT")
SCRIPT: a list of {"send": [[bytes-as-latin-1 string, pause-seconds-after], ...], "hold": seconds}:
the parts are sent in order with their pauses, then the connection stays open `hold` seconds (0: closed
at once). The request each connection sent is appended, as received, to SCRIPT.requests.
"""
import json
import socket
import sys
import threading
import time

script = json.load(open(sys.argv[1]))
log = open(sys.argv[1] + ".requests", "ab", buffering=0)
server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 0))
server.listen(16)
print(f"listening on http://127.0.0.1:{server.getsockname()[1]}", flush=True)


def read_request(conn):
    data = b""
    conn.settimeout(5)
    try:
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
        return head + b"\r\n\r\n" + body
    except OSError:
        return data


def serve(conn, answer):
    request = read_request(conn)
    log.write(json.dumps(request.decode("latin-1")).encode() + b"\n")
    try:
        for text, pause in answer.get("send", []):
            conn.sendall(text.encode("latin-1"))
            if pause:
                time.sleep(pause)
        if answer.get("hold"):
            time.sleep(answer["hold"])
    except OSError:
        pass
    conn.close()


for answer in script:
    conn, _ = server.accept()
    threading.Thread(target=serve, args=(conn, answer), daemon=True).start()
time.sleep(60)
