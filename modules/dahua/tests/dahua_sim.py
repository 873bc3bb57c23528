#!/usr/bin/env python3
"""Dahua camera / NVR / VTO simulator for tests (Python 3 standard library only).

HTTP (127.0.0.1 only):
  /cgi-bin/eventManager.cgi?action=attach&codes=[All]&heartbeat=N
      multipart/x-mixed-replace stream framed like the real captures
      (../shared/fixtures/dahua-http): event parts end with CRLF CRLF, heartbeats
      start with a CRLF and end right before the next boundary.
  /cgi-bin/snapshot.cgi?channel=N            a small JPEG
  /cgi-bin/magicBox.cgi?action=getSystemInfo key=value lines
  /cgi-bin/configManager.cgi?action=getConfig&name=ChannelTitle
  /cgi-bin/accessControl.cgi?action=openDoor&channel=N
  /cgi-bin/recordFinder.cgi?action=find&name=VideoTalkLog
Auth: digest MD5 qop=auth with a fresh nonce on every 401 (default) or --basic.
  --nonce-once: like Dahua firmware, each nonce is good for one request; a request
  reusing one gets a plain 401 (no stale flag) with a new nonce.
--device-type: the model magicBox reports (IPC-HDW5231R-ZE; VTO2000A for a doorbell).
--tls-cert/--tls-key: HTTPS instead of HTTP (the handshake runs in the request's
  thread; a failed one is logged as {"tls": "handshake_failed"}).
Faults (--fault): drop_mid_part, trickle, garbage, giant_headers, silent, wrong_password.
DHIP (--dhip-port): global.login (two steps, realm/random), eventManager.attach,
  global.keepAlive, accessControl.factory.instance/openDoor/destroy; scripted events
  are sent as client.notifyEventStream.
Every request is appended to --log as one JSON line (never the password).
The process exits after --lifetime seconds whatever happens.

Script (--script FILE or --events): a JSON list of
  {"at": 0.5, "code": "VideoMotion", "action": "Start", "index": 0, "data": {...}}
--events is a shorthand: "VideoMotion:Start:0,AlarmLocal:Stop:1" (at = 0.2 s apart).
"""
import argparse
import base64
import hashlib
import json
import os
import random
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BOUNDARY = "myboundary"
REALM = "Login to 4H01D66PAJ2FA64"
# A 1x1 grey baseline JPEG (SOI ... EOI).
JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJDRENDg8QEBEQCgwS"
    "ExIQEw8QEBD/yQALCAABAAEBAREA/8wABgAQEAX/2gAIAQEAAD8A0s8g/9k=")

_log_lock = threading.Lock()


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


def log_request(args, entry):
    if not args.log:
        return
    entry["time"] = round(time.time(), 3)
    with _log_lock, open(args.log, "a") as f:
        f.write(json.dumps(entry) + "\n")


def dahua_json(data):
    # Dahua prints JSON with 3-space indents and " : " separators.
    return json.dumps(data, indent=3, separators=(",", " : "))


def event_body(ev):
    body = "Code=%s;action=%s;index=%d" % (ev["code"], ev.get("action", "Pulse"), int(ev.get("index", 0)))
    if "data" in ev:
        body += ";data=" + dahua_json(ev["data"]) + "\n"
    return body.encode()


def event_part(ev):
    body = event_body(ev)
    return (b"--" + BOUNDARY.encode() + b"\r\nContent-Type: text/plain\r\nContent-Length:%d\r\n\r\n" % len(body)
            + body + b"\r\n\r\n")


def heartbeat_part():
    return b"\r\n--" + BOUNDARY.encode() + b"\r\nContent-Type: text/plain\r\nContent-Length:9\r\n\r\nHeartbeat"


def parse_events_option(text):
    out = []
    for i, item in enumerate(filter(None, text.split(","))):
        code, action, index = (item.split(":") + ["Pulse", "0"])[:3]
        out.append({"at": 0.2 * (i + 1), "code": code, "action": action, "index": int(index)})
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Webs"
    sys_version = ""

    def log_message(self, fmt, *a):  # quiet: the JSON log is the record
        pass

    def setup(self):
        # TLS handshake here, in the request's thread: a client that refuses the
        # certificate must not stall the accept loop.
        ctx = getattr(self.server, "tls", None)
        if ctx is not None:
            self.request.settimeout(5)
            try:
                self.request = ctx.wrap_socket(self.request, server_side=True)
            except (ssl.SSLError, OSError) as e:
                log_request(self.server.args, {"tls": "handshake_failed", "error": str(e)[:200]})
                raise
            self.request.settimeout(None)
        super().setup()

    # ---- auth -------------------------------------------------------------
    def check_auth(self):
        args = self.server.args
        header = self.headers.get("Authorization", "")
        if args.fault == "wrong_password":
            return False, "rejected"
        if args.basic:
            if not header.startswith("Basic "):
                return False, "none"
            try:
                user, _, pw = base64.b64decode(header[6:]).decode().partition(":")
            except Exception:
                return False, "bad"
            ok = user == args.user and pw == args.password
            return ok, "basic-ok" if ok else "bad"
        if not header.startswith("Digest "):
            return False, "none"
        fields = {}
        for part in request_parse_list(header[7:]):
            k, _, v = part.partition("=")
            fields[k.strip()] = v.strip().strip('"')
        nonce = fields.get("nonce", "")
        with self.server.lock:
            known = nonce in self.server.nonces
            if known and args.nonce_once:
                if nonce in self.server.used_nonces:
                    return False, "nonce_reused"
                self.server.used_nonces.add(nonce)
        if not known or fields.get("username") != args.user:
            return False, "bad"
        ha1 = md5("%s:%s:%s" % (args.user, REALM, args.password))
        ha2 = md5("%s:%s" % (self.command, fields.get("uri", "")))
        if fields.get("qop") == "auth":
            expect = md5(":".join([ha1, nonce, fields.get("nc", ""), fields.get("cnonce", ""), "auth", ha2]))
        else:
            expect = md5(":".join([ha1, nonce, ha2]))
        ok = expect == fields.get("response")
        return ok, "digest-ok" if ok else "bad"

    def send_401(self):
        args = self.server.args
        body = b"<html><body>401 Unauthorized</body></html>"
        self.send_response(401)
        if args.basic:
            self.send_header("WWW-Authenticate", 'Basic realm="%s"' % REALM)
        else:
            nonce = "%d%08x" % (int(time.time()), random.getrandbits(32))
            with self.server.lock:
                self.server.nonces.add(nonce)
            self.send_header("WWW-Authenticate", 'Digest realm="%s", qop="auth", nonce="%s", opaque="%s"'
                             % (REALM, nonce, md5(REALM)[:16]))
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def reply(self, status, body, ctype="text/plain;charset=utf-8"):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    # ---- routes -----------------------------------------------------------
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        ok, auth = self.check_auth()
        entry = {"method": "GET", "path": url.path, "query": q, "auth": auth}
        if not ok:
            entry["status"] = 401
            log_request(self.server.args, entry)
            self.send_401()
            return
        routes = {
            "/cgi-bin/eventManager.cgi": self.event_manager,
            "/cgi-bin/snapshot.cgi": self.snapshot,
            "/cgi-bin/magicBox.cgi": self.magic_box,
            "/cgi-bin/configManager.cgi": self.config_manager,
            "/cgi-bin/accessControl.cgi": self.access_control,
            "/cgi-bin/recordFinder.cgi": self.record_finder,
        }
        handler = routes.get(url.path)
        status = handler(q) if handler else self.reply(404, "Error\r\nNot Found!\r\n") or 404
        entry["status"] = status
        log_request(self.server.args, entry)

    def bad_request(self):
        self.reply(400, "Error\r\nBad Request!\r\n")
        return 400

    def snapshot(self, q):
        ch = q.get("channel", "1")
        if not ch.isdigit() or not 1 <= int(ch) <= self.server.args.channels:
            return self.bad_request()
        self.reply(200, JPEG, "image/jpeg")
        return 200

    def magic_box(self, q):
        if q.get("action") != "getSystemInfo":
            return self.bad_request()
        model = self.server.args.device_type
        self.reply(200, "deviceType=%s\r\nhardwareVersion=1.00\r\nprocessor=S3LM\r\n"
                        "serialNumber=4H01D66PAJ2FA64\r\nupdateSerial=%s\r\n" % (model, model))
        return 200

    def config_manager(self, q):
        if q.get("action") == "setConfig":
            # MotionDetect[0].Enable=true, DisableLinkage[0].Enable=false...
            keys = [k for k in q if k != "action"]
            if not keys or not all(k.startswith(("MotionDetect[", "DisableLinkage[")) for k in keys):
                return self.bad_request()
            self.reply(200, "OK\r\n")
            return 200
        if q.get("action") != "getConfig" or q.get("name") != "ChannelTitle":
            return self.bad_request()
        lines = "".join("table.ChannelTitle[%d].Name=Camera %d\r\n" % (i, i + 1)
                        for i in range(self.server.args.channels))
        self.reply(200, lines)
        return 200

    def access_control(self, q):
        if q.get("action") != "openDoor":
            return self.bad_request()
        self.server.doors_opened.append(q.get("channel", "1"))
        self.reply(200, "OK\r\n")
        return 200

    def record_finder(self, q):
        if q.get("action") != "find" or q.get("name") != "VideoTalkLog":
            return self.bad_request()
        # Two old records, then --call-log records (times relative to the
        # simulator's start) once their time has come.
        records = [(1630272364, "Missed"), (1630272400, "Received")]
        now = time.time()
        for at, state in self.server.call_log:
            if self.server.start_wall + at <= now:
                records.append((int(self.server.start_wall + at), state))
        text = "found=%d\r\n" % len(records)
        for i, (t, state) in enumerate(records):
            text += ("records[%d].CreateTime=%d\r\nrecords[%d].EndState=%s\r\n"
                     "records[%d].PeerNumber=9901\r\nrecords[%d].RecNo=%d\r\n" % (i, t, i, state, i, i, i + 1))
        self.reply(200, text)
        return 200

    def event_manager(self, q):
        args = self.server.args
        if q.get("action") != "attach" or "codes" not in q:
            return self.bad_request()
        try:
            heartbeat = float(q.get("heartbeat", "0") or 0)
        except ValueError:
            return self.bad_request()
        self.close_connection = True
        head = ("HTTP/1.1 200 OK\r\nCache-Control: no-cache\r\nPragma: no-cache\r\n"
                "Expires: Thu, 01 Dec 2099 16:00:00 GMT\r\nConnection: close\r\n"
                "Content-Type: multipart/x-mixed-replace; boundary=%s\r\n\r\n" % BOUNDARY).encode()
        try:
            self.wfile.write(head)
            self.wfile.flush()
            self.stream(args, heartbeat)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return 200

    def write(self, data):
        if self.server.args.fault == "trickle":
            for i in range(len(data)):
                self.wfile.write(data[i:i + 1])
                self.wfile.flush()
                time.sleep(0.0005)
        else:
            self.wfile.write(data)
            self.wfile.flush()

    def stream(self, args, heartbeat):
        start = time.monotonic()
        end = start + args.stream_duration if args.stream_duration else self.server.deadline
        if args.fault == "silent":
            while time.monotonic() < end:
                time.sleep(0.05)
            return
        if args.replay:
            with open(args.replay, "rb") as f:
                self.write(f.read())
        pending = sorted(self.server.script, key=lambda e: e.get("at", 0))
        next_hb = start + heartbeat if heartbeat > 0 else None
        sent = 0
        while time.monotonic() < end:
            now = time.monotonic()
            while pending and start + pending[0].get("at", 0) <= now:
                ev = pending.pop(0)
                part = event_part(ev)
                sent += 1
                if args.fault == "drop_mid_part" and sent == 2:
                    self.write(part[:len(part) // 2])
                    return  # connection closes mid-part
                if args.fault == "garbage":
                    self.write(bytes(random.getrandbits(8) for _ in range(64)))
                if args.fault == "giant_headers" and sent == 1:
                    self.write(b"--" + BOUNDARY.encode() + b"\r\nX-Filler: " + b"a" * 100000 + b"\r\n\r\n")
                self.write(part)
            if next_hb is not None and now >= next_hb:
                self.write(heartbeat_part())
                next_hb += heartbeat
            time.sleep(0.01)


def request_parse_list(s):
    # Split a comma separated auth header, honouring quoted strings.
    out, cur, quoted = [], "", False
    for c in s:
        if c == '"':
            quoted = not quoted
        if c == "," and not quoted:
            out.append(cur.strip())
            cur = ""
        else:
            cur += c
    if cur.strip():
        out.append(cur.strip())
    return out


# ---- DHIP ------------------------------------------------------------------
def dhip_frame(session, rid, body):
    data = json.dumps(body, separators=(",", ":")).encode() + b"\n"
    return struct.pack("<I4sIIQQ", 32, b"DHIP", session, rid, len(data), len(data)) + data


class DhipHandler(socketserver.BaseRequestHandler):
    def handle(self):
        args = self.server.args
        sock = self.request
        sock.settimeout(0.2)
        buf = b""
        session = 0x7ffffe62
        random_str = str(random.randint(10 ** 8, 10 ** 9))
        logged_in = False
        attached_at = None
        pending = []
        deadline = self.server.deadline
        # --stream-duration also closes DHIP connections (a VTO that drops its clients).
        conn_end = time.monotonic() + args.stream_duration if args.stream_duration else None
        while time.time() < deadline:
            if conn_end is not None and time.monotonic() >= conn_end:
                return
            try:
                chunk = sock.recv(65536)
                if not chunk:
                    return
                buf += chunk
            except socket.timeout:
                pass
            except OSError:
                return
            while len(buf) >= 32:
                hsize, magic, _sess, rid, length, _len2 = struct.unpack("<I4sIIQQ", buf[:32])
                if hsize != 32 or magic != b"DHIP" or length > 1 << 20:
                    return
                if len(buf) < 32 + length:
                    break
                body, buf = buf[32:32 + length], buf[32 + length:]
                try:
                    msg = json.loads(body)
                except ValueError:
                    return
                method = msg.get("method", "")
                params = msg.get("params") or {}
                log_request(args, {"proto": "dhip", "method": method, "id": msg.get("id")})
                reply = {"id": msg.get("id"), "session": session}
                if method == "global.login":
                    if "password" not in params:
                        reply.update({"result": False, "error": {"code": 268632079,
                                      "message": "Component error: login challenge!"},
                                      "params": {"authorization": md5(random_str), "encryption": "Default",
                                                 "mac": "BC325FAF5332", "random": random_str, "realm": REALM}})
                    else:
                        ha = md5("%s:%s:%s" % (params.get("userName"), REALM, args.password)).upper()
                        want = md5("%s:%s:%s" % (args.user, random_str, ha)).upper()
                        logged_in = params.get("password") == want and args.fault != "wrong_password"
                        reply["result"] = logged_in
                        if logged_in:
                            reply["params"] = {"keepAliveInterval": args.keepalive}
                        else:
                            reply["error"] = {"code": 268632085, "message": "Component error: password not valid!"}
                elif not logged_in:
                    reply.update({"result": False, "error": {"code": 287637505, "message": "Invalid session"}})
                elif method == "eventManager.attach":
                    reply["result"] = True
                    attached_at = time.monotonic()
                    pending = sorted(self.server.script, key=lambda e: e.get("at", 0))
                elif method == "global.keepAlive":
                    reply.update({"result": True, "params": {"timeout": params.get("timeout", 60)}})
                elif method == "accessControl.factory.instance":
                    reply["result"] = 1234
                elif method == "accessControl.openDoor":
                    self.server.doors_opened.append(str(params.get("DoorIndex", 0)))
                    reply["result"] = True
                elif method == "accessControl.destroy":
                    reply["result"] = True
                else:
                    reply.update({"result": False, "error": {"code": 268894210, "message": "Method not found"}})
                sock.sendall(dhip_frame(session, msg.get("id") or 0, reply))
            if attached_at is not None:
                now = time.monotonic()
                due = [e for e in pending if attached_at + e.get("at", 0) <= now]
                pending = [e for e in pending if e not in due]
                if due:
                    events = [{"Action": e.get("action", "Pulse"), "Code": e["code"], "Data": e.get("data", {}),
                               "Index": int(e.get("index", 0))} for e in due]
                    note = {"id": 8, "method": "client.notifyEventStream",
                            "params": {"SID": 513, "eventList": events}, "session": session}
                    sock.sendall(dhip_frame(session, 8, note))


class HttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # refused handshakes and dropped clients are normal here; the JSON log says what happened


class DhipServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0, help="HTTP port on 127.0.0.1 (0: any free port)")
    ap.add_argument("--dhip-port", type=int, default=-1, help="DHIP port (0: any, -1: off)")
    ap.add_argument("--port-file", help="write 'http=PORT dhip=PORT' here once listening")
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password", default="secret")
    ap.add_argument("--basic", action="store_true", help="basic auth instead of digest")
    ap.add_argument("--nonce-once", action="store_true",
                    help="each digest nonce is good for one request (Dahua); reuse gets a 401 with a new nonce")
    ap.add_argument("--device-type", default="IPC-HDW5231R-ZE", help="model reported by magicBox getSystemInfo")
    ap.add_argument("--tls-cert", help="PEM certificate: serve HTTPS")
    ap.add_argument("--tls-key", help="PEM private key (default: in --tls-cert)")
    ap.add_argument("--channels", type=int, default=4)
    ap.add_argument("--script", help="JSON file: list of events")
    ap.add_argument("--events", default="", help='shorthand "Code:Action:index,..."')
    ap.add_argument("--replay", help="raw multipart bytes sent first on every stream (a fixture)")
    ap.add_argument("--stream-duration", type=float, default=0,
                    help="close each stream (and each DHIP connection) after S seconds")
    ap.add_argument("--fault", default="none",
                    choices=["none", "drop_mid_part", "trickle", "garbage", "giant_headers", "silent",
                             "wrong_password"])
    ap.add_argument("--log", help="append one JSON line per request here")
    ap.add_argument("--call-log", default="",
                    help='VideoTalkLog records "SECONDS:EndState,..." (time after start; listed once due)')
    ap.add_argument("--keepalive", type=int, default=60, help="DHIP keepAliveInterval given at login")
    ap.add_argument("--lifetime", type=float, default=60, help="exit after S seconds")
    args = ap.parse_args()

    script = []
    if args.script:
        with open(args.script) as f:
            script = json.load(f)
    script += parse_events_option(args.events)

    deadline = time.time() + args.lifetime
    httpd = HttpServer(("127.0.0.1", args.port), Handler)
    httpd.args, httpd.script, httpd.lock, httpd.nonces = args, script, threading.Lock(), set()
    httpd.used_nonces = set()
    httpd.tls = None
    if args.tls_cert:
        httpd.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        httpd.tls.load_cert_chain(args.tls_cert, args.tls_key or args.tls_cert)
    httpd.doors_opened = []
    httpd.start_wall = time.time()
    httpd.call_log = [(float(a), b) for a, _, b in (x.partition(":") for x in filter(None, args.call_log.split(",")))]
    httpd.deadline = time.monotonic() + args.lifetime
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    dhip_port = -1
    if args.dhip_port >= 0:
        dhip = DhipServer(("127.0.0.1", args.dhip_port), DhipHandler)
        dhip.args, dhip.script, dhip.deadline, dhip.doors_opened = args, script, deadline, httpd.doors_opened
        dhip_port = dhip.server_address[1]
        threading.Thread(target=dhip.serve_forever, daemon=True).start()
    line = "http=%d dhip=%d" % (httpd.server_address[1], dhip_port)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(line + "\n")
        os.replace(tmp, args.port_file)
    print(line, flush=True)
    try:
        while time.time() < deadline:
            time.sleep(0.1)
    except KeyboardInterrupt:
        pass
    os._exit(0)  # bounded lifetime: streaming threads do not hold the process


if __name__ == "__main__":
    main()
