#!/usr/bin/env python3
"""An eeDomus API simulator (stdlib only).

  --mode local: GET /api/set and /api/get (the box, http://BOX_IP)
  --mode cloud: GET /set and /get (https://api.eedomus.com)
  action=periph.value (set: periph_id, value[, value_date]) and
  action=periph.caract (get: periph_id -> last_value, last_value_change).
Replies: {"success": 1, "body": ...}; success and error_code alternate between
numbers and strings (--codes number|string|alternate) and the body is Latin-1
(Content-Type: text/html; charset=ISO-8859-1), as the box answers.
Errors: wrong api_user/api_secret -> success 0 with an authentication message;
unknown periph_id -> success 0 "Périphérique inconnu".
Every request is recorded. Control API on a second port:
  GET /requests, GET /state, POST /requests/clear,
  POST /hook {"down": bool, "slow": seconds, "fail_5xx": count}
"""
import argparse
import json
import os
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.RLock()
        self.requests = []
        self.history = []
        self.periphs = {
            "1234": {"name": "Détecteur entrée", "last_value": "0", "last_value_change": "2024-01-01 00:00:00"},
            "5678": {"name": "Sonnette", "last_value": "0", "last_value_change": "2024-01-01 00:00:00"},
        }
        self.slow = 0.0
        self.fail_5xx = 0
        self.conns = set()
        self.counter = 0

    def code(self, n):
        self.counter += 1
        mode = self.args.codes
        if mode == "string" or (mode == "alternate" and self.counter % 2 == 0):
            return str(n)
        return n


def reply(st, success, body):
    return {"success": st.code(success), "body": body}


def make_api(st, args):
    prefix = "/api/" if args.mode == "local" else "/"

    class Api(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def setup(self):
            super().setup()
            with st.lock:
                st.conns.add(self.connection)

        def finish(self):
            with st.lock:
                st.conns.discard(self.connection)
            super().finish()

        def send(self, status, obj):
            data = (json.dumps(obj, ensure_ascii=False) if not isinstance(obj, str) else obj).encode("latin-1", "replace")
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=ISO-8859-1")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            parsed = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
            with st.lock:
                st.requests.append({"t": time.time(), "path": parsed.path, "query": q,
                                    "headers": {k: v for k, v in self.headers.items()}})
                slow = st.slow
                fail = st.fail_5xx > 0
                if fail:
                    st.fail_5xx -= 1
            if slow:
                time.sleep(slow)
            if fail:
                return self.send(503, "Service Unavailable")
            if parsed.path not in (prefix + "set", prefix + "get"):
                return self.send(404, "<h1>Not Found</h1>")
            with st.lock:
                if q.get("api_user") != args.user or q.get("api_secret") != args.secret:
                    return self.send(200, reply(st, 0, {"error_code": st.code(6),
                                                        "error_msg": "Authentification échouée : api_user ou api_secret invalide"}))
                periph = st.periphs.get(q.get("periph_id", ""))
                verb = parsed.path[len(prefix):]
                action = q.get("action")
                if (verb, action) not in (("set", "periph.value"), ("get", "periph.caract")):
                    return self.send(200, reply(st, 0, {"error_code": st.code(3), "error_msg": "Action inconnue"}))
                if periph is None:
                    return self.send(200, reply(st, 0, {"error_code": st.code(5),
                                                        "error_msg": "Périphérique inconnu (periph_id=%s)" % q.get("periph_id")}))
                if verb == "set":
                    date = q.get("value_date") or time.strftime("%Y-%m-%d %H:%M:%S")
                    periph["last_value"] = q.get("value", "")
                    periph["last_value_change"] = date
                    st.history.append({"periph_id": q["periph_id"], "value": q.get("value", ""),
                                       "value_date": q.get("value_date"), "t": time.time()})
                    return self.send(200, reply(st, 1, {"result": "[OK]"}))
                body = dict(periph, periph_id=q["periph_id"], last_value_text=periph["last_value"])
                return self.send(200, reply(st, 1, body))

    return Api


def make_control(st, sim):
    class Control(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def send(self, obj, status=200):
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            with st.lock:
                if self.path == "/requests":
                    return self.send(st.requests)
                if self.path == "/state":
                    return self.send({"periphs": st.periphs, "history": st.history})
            self.send({"error": "not found"}, 404)

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(n) or b"{}")
            if self.path == "/requests/clear":
                with st.lock:
                    st.requests.clear()
                return self.send({"ok": True})
            if self.path == "/hook":
                with st.lock:
                    if "slow" in body:
                        st.slow = float(body["slow"])
                    if "fail_5xx" in body:
                        st.fail_5xx = int(body["fail_5xx"])
                if "down" in body:
                    sim.set_down(bool(body["down"]))
                return self.send({"ok": True})
            self.send({"error": "not found"}, 404)

    return Control


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A client closing a keep-alive connection (or "down" cutting it) is not news.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class Simulator:
    def __init__(self, args):
        self.st = State(args)
        self.handler = make_api(self.st, args)
        self.api = Server(("127.0.0.1", args.port), self.handler)
        self.port = self.api.server_address[1]
        threading.Thread(target=self.api.serve_forever, daemon=True).start()
        self.control = Server(("127.0.0.1", 0), make_control(self.st, self))
        threading.Thread(target=self.control.serve_forever, daemon=True).start()
        self.lock = threading.Lock()

    def set_down(self, down):
        with self.lock:
            if down and self.api is not None:
                self.api.shutdown()
                self.api.server_close()
                self.api = None
                with self.st.lock:
                    conns = list(self.st.conns)
                for c in conns:
                    try:
                        c.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
            elif not down and self.api is None:
                self.api = Server(("127.0.0.1", self.port), self.handler)
                threading.Thread(target=self.api.serve_forever, daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--mode", choices=("local", "cloud"), default="local")
    ap.add_argument("--codes", choices=("number", "string", "alternate"), default="alternate")
    ap.add_argument("--user", default="ee-user")
    ap.add_argument("--secret", default="ee-secret-0123456789")
    args = ap.parse_args()
    sim = Simulator(args)
    info = json.dumps({"port": sim.port, "control": sim.control.server_address[1]})
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(info)
        os.replace(args.port_file + ".tmp", args.port_file)
    print(info, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
