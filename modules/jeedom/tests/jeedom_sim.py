#!/usr/bin/env python3
"""A Jeedom API simulator (stdlib only) faithful to what passerelle relies on.

Endpoint <prefix>/core/api/jeeApi.php:
  - JSON-RPC 2.0 (POST): always HTTP 200; errors {"code": N, "message": French text}:
      1 missing key / bad request, 2 wrong key, 500 unknown method,
      602 unknown equipment, 701/702 unknown command, -32000 uncoded.
    Methods: cmd::event, cmd::execCmd, cmd::byId, cmd::byEqLogicId, cmd::save,
    eqLogic::byType, eqLogic::fullById, eqLogic::save (a `cmd` list deletes the
    unlisted commands, as the real one does), scenario::changeState, message::add,
    event::changes (params datetime, longPolling: Jeedom's event cache, see below).
  - event cache, as core/class/event.class.php keeps it: every stored value adds
    {"datetime": microtime, "name": "cmd::update", "option": {"cmd_id", "value",
    "display_value", "unit", "valueDate", "collectDate"}} (scenario changes add
    "scenario::update", equipment saves "eqLogic::update"); only the newest entry
    per object is kept, at most 250. event::changes answers {"datetime": now,
    "result": [entries newer than datetime, oldest first]} at once when there are
    some, else waits up to longPolling seconds for one (the real one re-reads its
    cache every second; this one wakes at once).
  - plain API (GET): ?apikey=<core>&type=cmd&id=&value= (info command), and
    ?apikey=<virtual key>&plugin=virtual&type=event&id=&value= (Virtuel only).
  - a wrong key: sleeps --bad-key-delay seconds (5 by default, as Jeedom does),
    counts a failure per client IP; after --ban-after (6) failures the IP is
    banned for --ban-seconds (600): every request then answers HTTP 404.
  - an event on a command of a disabled equipment answers "ok" and stores nothing.
Every request is recorded (method, path, query, headers, parsed body, time).

Control API on a second port (JSON):
  GET  /requests        the recorded requests          POST /requests/clear
  GET  /state           equipments, commands, history, messages, scenarios
  POST /hook            {"down": bool, "slow": seconds, "fail_5xx": count, "banned": bool,
                         "event_error": code (every cmd::event answers it; 0 = off),
                         "changes_replies": [raw bodies: the next event::changes calls answer
                         these verbatim, one each (garbage, truncated, huge...)]}
  POST /change          {"cmd": id, "value": v} a user or a plugin changing an info
                         command (what a pressed virtual button does): stored + cached event
  POST /raw_event       {"name": ..., "option": {...}} any entry added to the event cache
  POST /seed            {"eqLogics": [...], "cmds": [...]}
  POST /delete          {"cmd": id} or {"eqLogic": id} (a user deleting something)
HTTPS: --tls-cert FILE --tls-key FILE serve the API over TLS (a box's own certificate).
Start: jeedom_sim.py --port-file F  (writes {"port": P, "control": C, "pid": N} to F)
"""
import argparse
import json
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NOT_AUTHORIZED = "Vous n'êtes pas autorisé à effectuer cette action"


class RpcError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class Jeedom:
    def __init__(self, args):
        self.args = args
        self.lock = threading.RLock()
        self.requests = []
        self.eqs = {}
        self.cmds = {}
        self.history = []      # every stored cmd::event / plain event, in order
        self.execs = []
        self.messages = []
        self.scenarios = {"5": {"id": "5", "name": "Alarme", "state": "stop", "isActive": "1"}}
        self.failures = {}     # ip -> count
        self.banned_until = {}  # ip -> monotonic time
        self.next_id = 100
        self.down = False
        self.slow = 0.0
        self.fail_5xx = 0
        self.force_banned = False
        self.event_error = 0   # hook: every cmd::event answers this error code
        self.events = []       # Jeedom's event cache (event::changes)
        self.events_cv = threading.Condition(self.lock)
        self.changes_replies = []  # hook: raw bodies answered to the next event::changes calls
        # Defaults: an enabled Virtuel with an info and an action command, and a disabled one.
        self.add_eq({"id": "1", "name": "Salon", "eqType_name": "virtual", "logicalId": "", "isEnable": "1"})
        self.add_cmd({"id": "10", "eqLogic_id": "1", "name": "Alarme", "type": "info", "subType": "binary"})
        self.add_cmd({"id": "11", "eqLogic_id": "1", "name": "Sirène", "type": "action", "subType": "other"})
        self.add_eq({"id": "2", "name": "Garage", "eqType_name": "virtual", "logicalId": "", "isEnable": "0"})
        self.add_cmd({"id": "20", "eqLogic_id": "2", "name": "Porte", "type": "info", "subType": "binary"})

    # --- objects ---------------------------------------------------------------
    def new_id(self):
        self.next_id += 1
        return str(self.next_id)

    def add_eq(self, eq):
        eq = dict(eq)
        eq["id"] = str(eq.get("id") or self.new_id())
        eq.setdefault("logicalId", "")
        eq.setdefault("isEnable", "1")
        eq.setdefault("isVisible", "1")
        eq.setdefault("eqType_name", "virtual")
        self.eqs[eq["id"]] = eq
        return eq

    def add_cmd(self, cmd):
        cmd = dict(cmd)
        cmd["id"] = str(cmd.get("id") or self.new_id())
        cmd["eqLogic_id"] = str(cmd.get("eqLogic_id"))
        cmd.setdefault("logicalId", "")
        cmd.setdefault("configuration", {})
        cmd.setdefault("value", None)
        cmd.setdefault("datetime", None)
        self.cmds[cmd["id"]] = cmd
        return cmd

    def event(self, cmd_id, value, datetime):
        cmd = self.cmds.get(str(cmd_id))
        if cmd is None:
            raise RpcError(701, "Commande introuvable : %s" % cmd_id)
        eq = self.eqs.get(cmd["eqLogic_id"])
        if eq is None or str(eq.get("isEnable")) in ("0", "false", ""):
            return "ok"  # Jeedom says ok and keeps nothing for a disabled equipment
        cmd["value"] = value
        cmd["datetime"] = datetime or time.strftime("%Y-%m-%d %H:%M:%S")
        self.history.append({"id": cmd["id"], "value": value, "datetime": cmd["datetime"], "t": time.time()})
        self.add_event("cmd::update", {"cmd_id": cmd["id"], "value": value, "display_value": value,
                                       "unit": cmd.get("unite", ""), "valueDate": cmd["datetime"],
                                       "collectDate": cmd["datetime"]})
        return "ok"

    # --- event cache (event::changes) --------------------------------------------
    @staticmethod
    def event_key(name, option):
        for field in ("cmd_id", "eqLogic_id", "scenario_id", "object_id"):
            if isinstance(option, dict) and field in option:
                return name + str(option[field])
        return None

    def add_event(self, name, option):
        # getmicrotime(); strictly increasing here so that "newer than" is exact.
        now = time.time()
        if self.events and now <= self.events[-1]["datetime"]:
            now = self.events[-1]["datetime"] + 1e-6
        entry = {"datetime": now, "name": name, "option": option}
        key = self.event_key(name, option)
        if key is not None:  # cleanEvent: only the newest entry per object stays
            self.events = [e for e in self.events if self.event_key(e["name"], e["option"]) != key]
        self.events.append(entry)
        del self.events[:-250]
        self.events_cv.notify_all()

    def changes_since(self, since):
        return {"datetime": time.time(), "result": [e for e in self.events if e["datetime"] > since]}

    def changes(self, since, long_polling):
        # Called with the lock held; waiting releases it (Condition).
        out = self.changes_since(since)
        if long_polling is None or out["result"]:
            return out
        deadline = time.monotonic() + long_polling
        while not out["result"]:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.events_cv.wait(min(left, 1.0))
            out = self.changes_since(since)
        return out

    # --- JSON-RPC ----------------------------------------------------------------
    def rpc(self, method, p):
        if method == "cmd::event":
            if self.event_error:
                raise RpcError(self.event_error, "Erreur forcée par le simulateur")
            return self.event(p.get("id"), str(p.get("value")), p.get("datetime"))
        if method == "cmd::execCmd":
            cmd = self.cmds.get(str(p.get("id")))
            if cmd is None:
                raise RpcError(702, "Commande ID inconnu : %s" % p.get("id"))
            self.execs.append({"id": cmd["id"], "options": p.get("options", {})})
            return {"value": None}
        if method == "cmd::byId":
            cmd = self.cmds.get(str(p.get("id")))
            if cmd is None:
                raise RpcError(701, "Commande introuvable : %s" % p.get("id"))
            return cmd
        if method == "cmd::byEqLogicId":
            return [c for c in self.cmds.values() if c["eqLogic_id"] == str(p.get("eqLogic_id"))]
        if method == "cmd::save":
            eq_id = str(p.get("eqLogic_id"))
            if eq_id not in self.eqs:
                raise RpcError(602, "EqLogic inconnu : %s" % eq_id)
            cid = str(p.get("id") or "")
            for c in self.cmds.values():
                if c["eqLogic_id"] == eq_id and c["name"] == p.get("name") and c["id"] != cid:
                    raise RpcError(-32000, "Le nom de la commande existe déjà : %s" % p.get("name"))
            if cid and cid in self.cmds:
                self.cmds[cid].update({k: v for k, v in p.items() if k not in ("apikey", "id")})
                return self.cmds[cid]
            fields = {k: v for k, v in p.items() if k not in ("apikey", "id")}
            return self.add_cmd(fields)
        if method == "eqLogic::byType":
            return [e for e in self.eqs.values() if e["eqType_name"] == p.get("type")]
        if method == "eqLogic::fullById":
            eq = self.eqs.get(str(p.get("id")))
            if eq is None:
                raise RpcError(602, "EqLogic inconnu : %s" % p.get("id"))
            return dict(eq, cmds=[c for c in self.cmds.values() if c["eqLogic_id"] == eq["id"]])
        if method == "eqLogic::save":
            fields = {k: v for k, v in p.items() if k not in ("apikey", "cmd")}
            eid = str(p.get("id") or "")
            if eid and eid in self.eqs:
                self.eqs[eid].update({k: v for k, v in fields.items() if k != "id"})
                eq = self.eqs[eid]
            else:
                fields.pop("id", None)
                eq = self.add_eq(fields)
            if "cmd" in p:  # the trap: commands not in the list are deleted
                keep = set()
                for c in p["cmd"]:
                    c = dict(c, eqLogic_id=eq["id"])
                    keep.add(self.add_cmd(c)["id"] if not c.get("id") else str(c["id"]))
                for cid in [k for k, c in self.cmds.items() if c["eqLogic_id"] == eq["id"] and k not in keep]:
                    del self.cmds[cid]
            return eq
        if method == "scenario::changeState":
            sc = self.scenarios.get(str(p.get("id")))
            if sc is None:
                raise RpcError(-32000, "Scénario ID inconnu : %s" % p.get("id"))
            state = p.get("state")
            if state in ("start", "stop"):
                sc["state"] = "in progress" if state == "start" else "stop"
            elif state in ("enable", "disable"):
                sc["isActive"] = "1" if state == "enable" else "0"
            else:
                raise RpcError(-32000, "Etat inconnu : %s" % state)
            self.add_event("scenario::update", {"scenario_id": sc["id"], "state": sc["state"],
                                                "isActive": sc["isActive"]})
            return "ok"
        if method == "event::changes":
            if "datetime" not in p:
                raise RpcError(-32000, "Undefined index: datetime")
            try:
                since = float(p["datetime"])
            except (TypeError, ValueError):
                raise RpcError(-32000, "datetime invalide")
            lp = p.get("longPolling")
            try:
                lp = None if lp is None else float(lp)
            except (TypeError, ValueError):
                lp = None
            return self.changes(since, lp)
        if method == "message::add":
            self.messages.append({"type": p.get("type"), "message": p.get("message")})
            return "ok"
        raise RpcError(500, "Aucune méthode correspondante : %s" % method)

    def state(self):
        return {"eqLogics": list(self.eqs.values()), "cmds": list(self.cmds.values()), "history": self.history,
                "execs": self.execs, "messages": self.messages, "scenarios": list(self.scenarios.values()),
                "events": self.events}


def make_api_handler(j, args):
    class Api(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def setup(self):
            super().setup()
            with j.lock:
                j.conns.add(self.connection)

        def finish(self):
            with j.lock:
                j.conns.discard(self.connection)
            super().finish()

        def send(self, status, body, ctype="application/json"):
            data = body.encode("utf-8") if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def record(self, body):
            parsed = urllib.parse.urlsplit(self.path)
            rec = {"t": time.time(), "method": self.command, "path": parsed.path,
                   "query": dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)),
                   "headers": {k: v for k, v in self.headers.items()}, "body": body}
            try:
                rec["json"] = json.loads(body) if body else None
            except ValueError:
                rec["json"] = None
            with j.lock:
                j.requests.append(rec)
            return rec

        def do_GET(self):
            self.handle_api(b"")

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            self.handle_api(self.rfile.read(n) if n else b"")

        def bad_key(self, ip):
            # Jeedom counts the failure, then sleeps before answering.
            with j.lock:
                j.failures[ip] = j.failures.get(ip, 0) + 1
                if j.failures[ip] >= args.ban_after and ip not in args.whitelist:
                    j.banned_until[ip] = time.monotonic() + args.ban_seconds
            time.sleep(args.bad_key_delay)

        def handle_api(self, raw):
            body = raw.decode("utf-8", "replace")
            rec = self.record(body)
            ip = self.client_address[0]
            with j.lock:
                slow, banned = j.slow, j.force_banned or j.banned_until.get(ip, 0) > time.monotonic()
                fail = j.fail_5xx > 0
                if fail:
                    j.fail_5xx -= 1
            if slow:
                time.sleep(slow)
            if banned:
                return self.send(404, "<h1>404 Not Found</h1>", "text/html")
            if fail:
                return self.send(503, "Service Unavailable", "text/plain")
            if rec["path"] != args.prefix + "/core/api/jeeApi.php":
                return self.send(404, "<h1>404 Not Found</h1>", "text/html")
            if self.command == "POST" and body.strip().startswith("{"):
                return self.jsonrpc(rec, ip)
            return self.plain(rec, ip)

        def jsonrpc(self, rec, ip):
            req = rec["json"]
            rid = req.get("id") if isinstance(req, dict) else None

            def err(code, message):
                self.send(200, json.dumps({"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": message}}))

            if not isinstance(req, dict) or not isinstance(req.get("params", {}), dict) or "method" not in req:
                return err(1, "Requête invalide")
            p = req.get("params") or {}
            if not p.get("apikey"):
                return err(1, "Aucune clef API")
            if p.get("apikey") != args.core_key:
                self.bad_key(ip)
                return err(2, NOT_AUTHORIZED)
            with j.lock:
                j.failures.pop(ip, None)
                if req["method"] == "event::changes" and j.changes_replies:
                    canned = j.changes_replies.pop(0)
                    return self.send(200, canned)
                try:
                    result = j.rpc(req["method"], p)
                except RpcError as e:
                    return err(e.code, e.message)
            self.send(200, json.dumps({"jsonrpc": "2.0", "id": rid, "result": result}))

        def plain(self, rec, ip):
            q = rec["query"]
            key = q.get("apikey", "")
            virtual = q.get("plugin") == "virtual"
            if not key or key != (args.virtual_key if virtual else args.core_key):
                self.bad_key(ip)
                return self.send(200, NOT_AUTHORIZED, "text/plain")
            with j.lock:
                j.failures.pop(ip, None)
                cmd = j.cmds.get(q.get("id", ""))
                want = "event" if virtual else "cmd"
                if q.get("type") != want:
                    return self.send(200, "Aucune méthode correspondante : %s" % q.get("type"), "text/plain")
                if cmd is None or (virtual and j.eqs.get(cmd["eqLogic_id"], {}).get("eqType_name") != "virtual"):
                    return self.send(200, "Aucune commande correspondant à l'ID : %s" % q.get("id"), "text/plain")
                j.event(cmd["id"], q.get("value", ""), None)
            self.send(200, "", "text/plain")

    return Api


def make_control_handler(j, sim):
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
            with j.lock:
                if self.path == "/requests":
                    return self.send(j.requests)
                if self.path == "/state":
                    return self.send(j.state())
            self.send({"error": "not found"}, 404)

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(n) or b"{}")
            if self.path == "/requests/clear":
                with j.lock:
                    j.requests.clear()
                return self.send({"ok": True})
            if self.path == "/hook":
                with j.lock:
                    if "slow" in body:
                        j.slow = float(body["slow"])
                    if "fail_5xx" in body:
                        j.fail_5xx = int(body["fail_5xx"])
                    if "event_error" in body:
                        j.event_error = int(body["event_error"])
                    if "changes_replies" in body:
                        j.changes_replies = [str(b) for b in body["changes_replies"]]
                    if "banned" in body:
                        j.force_banned = bool(body["banned"])
                        if not body["banned"]:
                            j.banned_until.clear()
                            j.failures.clear()
                if "down" in body:
                    sim.set_down(bool(body["down"]))
                return self.send({"ok": True})
            if self.path == "/seed":
                with j.lock:
                    eqs = [j.add_eq(e) for e in body.get("eqLogics", [])]
                    cmds = [j.add_cmd(c) for c in body.get("cmds", [])]
                return self.send({"eqLogics": eqs, "cmds": cmds})
            if self.path == "/change":
                with j.lock:
                    try:
                        j.event(body.get("cmd"), str(body.get("value")), None)
                    except RpcError as e:
                        return self.send({"error": e.message}, 404)
                return self.send({"ok": True})
            if self.path == "/raw_event":
                with j.lock:
                    j.add_event(body.get("name", "notify"), body.get("option", {}))
                return self.send({"ok": True})
            if self.path == "/delete":
                with j.lock:
                    if "cmd" in body:
                        j.cmds.pop(str(body["cmd"]), None)
                    if "eqLogic" in body:
                        eid = str(body["eqLogic"])
                        j.eqs.pop(eid, None)
                        for cid in [k for k, c in j.cmds.items() if c["eqLogic_id"] == eid]:
                            del j.cmds[cid]
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
    request_queue_size = 128


class Simulator:
    def __init__(self, args):
        self.args = args
        self.j = Jeedom(args)
        self.j.conns = set()
        self.api_handler = make_api_handler(self.j, args)
        self.api = self.make_api_server(args.port)
        self.port = self.api.server_address[1]
        self.api_thread = threading.Thread(target=self.api.serve_forever, daemon=True)
        self.api_thread.start()
        self.control = Server(("127.0.0.1", args.control_port), make_control_handler(self.j, self))
        threading.Thread(target=self.control.serve_forever, daemon=True).start()
        self.down_lock = threading.Lock()

    def make_api_server(self, port):
        server = Server(("127.0.0.1", port), self.api_handler)
        cert = getattr(self.args, "tls_cert", None)
        if cert:  # HTTPS, as a box with its own (self-signed) certificate
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, self.args.tls_key)
            server.socket = ctx.wrap_socket(server.socket, server_side=True)
        return server

    def set_down(self, down):
        with self.down_lock:
            if down and self.api is not None:
                self.api.shutdown()
                self.api.server_close()
                self.api = None
                with self.j.lock:
                    conns = list(self.j.conns)
                for c in conns:  # refuse: also cut the keep-alive connections
                    try:
                        c.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
            elif not down and self.api is None:
                self.api = self.make_api_server(self.port)
                threading.Thread(target=self.api.serve_forever, daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--control-port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--core-key", default="core-key-0123456789")
    ap.add_argument("--virtual-key", default="virtual-key-0123456789")
    ap.add_argument("--prefix", default="")
    ap.add_argument("--bad-key-delay", type=float, default=5.0)
    ap.add_argument("--ban-after", type=int, default=6)
    ap.add_argument("--ban-seconds", type=float, default=600.0)
    ap.add_argument("--whitelist", action="append", default=[])
    ap.add_argument("--tls-cert", help="serve the API over HTTPS with this PEM certificate (and --tls-key)")
    ap.add_argument("--tls-key")
    args = ap.parse_args()
    sim = Simulator(args)
    info = json.dumps({"port": sim.port, "control": sim.control.server_address[1]})
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(info)
        import os
        os.replace(args.port_file + ".tmp", args.port_file)
    print(info, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
