#!/usr/bin/env python3
"""webhook_receiver.py - a webhook receiver for the tests: records every request (path,
headers, body, arrival time, answer) as one JSON line in LOG and answers by path:
  /ok/...        200
  /flaky/...     500 to the first request of each path, then 200
  /hang/...      accepts, reads the request, never answers (holds the connection 60 s)
  /redirect/...  302 to /ok/followed (a client must not follow it)
Usage: webhook_receiver.py LOG PORTFILE [CERT KEY]  (listens on 127.0.0.1, an ephemeral port,
written to PORTFILE once listening; with CERT and KEY, HTTPS)."""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG, PORTFILE = sys.argv[1], sys.argv[2]
lock = threading.Lock()
seen = set()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        path = self.path
        status = 200
        with lock:
            if path.startswith("/flaky/") and path not in seen:
                status = 500
            seen.add(path)
            if path.startswith("/hang/"):
                status = 0
            elif path.startswith("/redirect/"):
                status = 302
            rec = {"path": path, "headers": {k.lower(): v for k, v in self.headers.items()},
                   "body": body, "t": time.time(), "status": status}
            with open(LOG, "a") as f:
                f.write(json.dumps(rec) + "\n")
        if status == 0:
            time.sleep(60)
            return
        self.send_response(status)
        if status == 302:
            self.send_header("Location", "/ok/followed")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


ThreadingHTTPServer.daemon_threads = True
srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
if len(sys.argv) > 4:
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
