"""An HTTP(S) endpoint for the delivery end-to-end tests (stdlib only).

It records every request (path, headers, JSON body, arrival time) and answers
what each path's behaviour says: a status (or a list of statuses, one per
request, the last repeating), extra headers, a delay. It can be taken down
(the port refuses connections) and brought back up on the same port.
"""
import json
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Behaviour:
    def __init__(self, statuses=(200,), delay=0.0, headers=None):
        self.statuses = list(statuses)
        self.delay = delay
        self.headers = dict(headers or {})
        self.count = 0

    def next_status(self):
        i = min(self.count, len(self.statuses) - 1)
        self.count += 1
        return self.statuses[i]


class Received:
    def __init__(self, method, path, headers, body, at):
        self.method = method
        self.path = path
        self.headers = headers
        self.raw = body
        self.at = at
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    @property
    def seq(self):
        return int(self.json["attrs"]["seq"]) if self.json and "seq" in self.json.get("attrs", {}) else None

    @property
    def event_id(self):
        return self.json["id"] if self.json else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # a peer that went away (the daemon killed mid-request) is expected here


class Receiver:
    def __init__(self, port=None, certfile=None, keyfile=None):
        if port is None:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
        self.port = port
        self.certfile = certfile
        self.keyfile = keyfile
        self.lock = threading.Lock()
        self.behaviours = {}
        self.requests = []
        self.server = None
        self.thread = None

    def url(self, path):
        scheme = "https" if self.certfile else "http"
        return "%s://127.0.0.1:%d%s" % (scheme, self.port, path)

    def on(self, path, **kw):
        with self.lock:
            self.behaviours[path] = Behaviour(**kw)

    def _answer(self, handler, method):
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode("utf-8", "replace") if length else ""
        path = handler.path.split("?")[0]
        with self.lock:
            self.requests.append(Received(method, handler.path, dict(handler.headers), body, time.monotonic()))
            b = self.behaviours.get(path) or Behaviour()
            status = b.next_status()
            delay, headers = b.delay, dict(b.headers)
        if delay:
            time.sleep(delay)
        payload = b"{}"
        handler.send_response(status)
        for k, v in headers.items():
            handler.send_header(k, v)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.send_header("Connection", "close")  # so that "down" really is down
        handler.end_headers()
        handler.wfile.write(payload)
        handler.close_connection = True

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                receiver._answer(self, "POST")

            def do_GET(self):
                receiver._answer(self, "GET")

            def log_message(self, *args):
                pass

        self.server = _Server(("127.0.0.1", self.port), Handler)
        if self.certfile:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.certfile, self.keyfile)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def seen(self, path=None):
        with self.lock:
            return [r for r in self.requests if path is None or r.path.split("?")[0] == path]
