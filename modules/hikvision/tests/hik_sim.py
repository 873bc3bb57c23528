#!/usr/bin/env python3
"""Hikvision ISAPI device simulator (Python 3 standard library only).

Serves on 127.0.0.1 what passerelle's hikvision module talks to:
  GET  /ISAPI/Event/notification/alertStream   multipart event stream (below)
  GET  /ISAPI/System/deviceInfo                 DeviceInfo XML
  GET  /ISAPI/System/Video/inputs/channels      VideoInputChannelList XML
  GET  /ISAPI/ContentMgmt/InputProxy/channels   InputProxyChannelList XML (NVR)
  GET  /ISAPI/Streaming/channels/<n>01/picture a small valid JPEG (404 with --nvr)
  GET  /ISAPI/ContentMgmt/StreamingProxy/channels/<n>01/picture  the same JPEG (NVRs)
  GET/PUT /ISAPI/System/Video/inputs/channels/<n>/motionDetection  MotionDetection; PUT stores
  GET/PUT /ISAPI/Event/triggers                 hiksink_triggers_cam.xml; PUT stores the body
  PUT  /ISAPI/System/IO/outputs/<n>/trigger     ResponseStatus
  PUT  /ISAPI/AccessControl/RemoteControl/door/<n> ResponseStatus
  GET  /ISAPI/VideoIntercom/callStatus?format=json  {"CallStatus": {"status": ...}}
  GET  /sim/requests                            (no auth) the request log as JSON, for tests
  GET  /sim/call_status?status=ring             (no auth) sets what callStatus answers
PUT bodies are kept in the request log ("body", first 200000 characters).
--nvr: deviceType NVR, channels only through InputProxy / StreamingProxy.

The alert stream replays the real part bodies of the HikSink captures with
Hikvision's framing: "--boundary", CRLF headers, "Content-Length: N" with a
space, the body, and the next boundary right after it. Scenarios:
  replay    the capture's parts in order at --rate parts/s (default); with
            --replay-once only on the first stream (later ones: heartbeats)
  motion    VMD active repeated at --repeat-hz for --active-for s, then inactive
            (or never with --no-inactive, like NVRs)
  smart     fielddetection active (region 1, human) announcing one picture,
            followed by an image/jpeg part, then inactive
  intercom  JSON parts on --MIME_boundary: VideoIntercomEvent ring, the real
            AccessControllerEvent, after a stray "Content-Length: 314" line
  silent    headers, then nothing at all (no heartbeat)
Heartbeats (the "videoloss inactive" part) every --heartbeat s (0 = none).
--nvr-mismatch: HTTP/1.0 head declaring boundary=myboundary while parts use
--boundary (older NVRs). --drop-mid-part N: close the socket halfway through
part N. --images: follow every smart-event part of the replay with a JPEG part.
--bad-part N (motion): junk bytes and a truncated XML part before the Nth
active. --legacy-path: old firmware serving the stream only on
/Event/notification/alertStream (404 on the /ISAPI path).

Auth: --auth none|basic|digest-md5|digest-sha256|digest-both (both: two
challenges, SHA-256 first, like recent firmware). Nonces expire after
--nonce-ttl s (stale=TRUE). The password never appears in the log.

Lifetime is bounded (--lifetime s, default 60). With --port 0 the chosen port
is printed as "PORT <n>" on the first stdout line.
"""
import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_FIXTURES = os.path.normpath(os.path.join(HERE, "../../../../shared/fixtures/hikvision"))
REALM = "IP Camera(C2183)"


def tiny_jpeg():
    """A valid 8x8 mid-grey baseline JPEG built from scratch: one block whose
    coefficients are all zero, with one-code Huffman tables."""
    def seg(marker, payload):
        return b"\xff" + bytes([marker]) + (len(payload) + 2).to_bytes(2, "big") + payload
    dqt = seg(0xDB, b"\x00" + b"\x01" * 64)
    sof = seg(0xC0, b"\x08\x00\x08\x00\x08\x01\x01\x11\x00")
    counts = b"\x01" + b"\x00" * 15
    dht_dc = seg(0xC4, b"\x00" + counts + b"\x00")
    dht_ac = seg(0xC4, b"\x10" + counts + b"\x00")
    sos = seg(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    return b"\xff\xd8" + dqt + sof + dht_dc + dht_ac + sos + b"\x3f" + b"\xff\xd9"


JPEG = tiny_jpeg()


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())


def alert_xml(event_type, state, channel=1, description=None, post_count=1, extra=""):
    description = description or f"{event_type} alarm"
    body = (
        '<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">\r\n'
        "<ipAddress>127.0.0.1</ipAddress>\r\n<portNo>80</portNo>\r\n<protocol>HTTP</protocol>\r\n"
        "<macAddress>ff:ff:ff:ff:ff:ff</macAddress>\r\n"
        f"<channelID>{channel}</channelID>\r\n<dateTime>{now_iso()}</dateTime>\r\n"
        f"<activePostCount>{post_count}</activePostCount>\r\n<eventType>{event_type}</eventType>\r\n"
        f"<eventState>{state}</eventState>\r\n<eventDescription>{description}</eventDescription>\r\n"
        f"{extra}<channelName>Sim</channelName>\r\n</EventNotificationAlert>\r\n"
    )
    return body.encode()


def heartbeat_xml():
    return alert_xml("videoloss", "inactive", post_count=0, description="videoloss alarm")


SMART_EXTRA = (
    "<DetectionRegionList>\r\n<DetectionRegionEntry>\r\n<regionID>1</regionID>\r\n"
    "<sensitivityLevel>50</sensitivityLevel>\r\n<detectionTarget>human</detectionTarget>\r\n"
    "</DetectionRegionEntry>\r\n</DetectionRegionList>\r\n"
    "<detectionPictureTransType>binary</detectionPictureTransType>\r\n"
    "<detectionPicturesNumber>1</detectionPicturesNumber>\r\n"
)


class Sim:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.log = []
        self.nonces = {}
        self.triggers = self._read(f"hiksink_triggers_cam.xml")
        self.call_status = "idle"
        self.motion = {}
        self.dropped = False
        self.replayed = False
        self.samples = []
        if args.scenario == "replay":
            path = os.path.join(args.fixtures, f"hiksink_samples_{args.samples}.txt")
            with open(path, encoding="utf-8") as f:
                self.samples = [json.loads(line)["content"].encode() for line in f if line.strip()]
            if args.max_parts:
                self.samples = self.samples[: args.max_parts]

    def _read(self, name, binary=False):
        with open(os.path.join(self.args.fixtures, name), "rb") as f:
            data = f.read()
        return data if binary else data.decode("utf-8")

    def record(self, entry):
        with self.lock:
            self.log.append(entry)
            return len(self.log) - 1

    def update(self, index, **kw):
        with self.lock:
            self.log[index].update(kw)

    # ---- auth ---------------------------------------------------------
    def challenges(self, stale=False):
        mode = self.args.auth
        out = []
        nonce = secrets.token_hex(16)
        with self.lock:
            self.nonces[nonce] = time.monotonic()
        st = "TRUE" if stale else "FALSE"
        if mode in ("digest-sha256", "digest-both"):
            out.append(f'Digest qop="auth", realm="{REALM}", nonce="{nonce}", algorithm="SHA-256", stale="{st}"')
        if mode in ("digest-md5", "digest-both"):
            out.append(f'Digest qop="auth", realm="{REALM}", nonce="{nonce}", stale="{st}"')
        if mode == "basic":
            out.append(f'Basic realm="{REALM}"')
        return out

    def check_auth(self, method, header):
        """Returns (ok, scheme, stale)."""
        mode = self.args.auth
        if mode == "none":
            return True, "none", False
        if not header:
            return False, "", False
        scheme, _, rest = header.partition(" ")
        if scheme.lower() == "basic":
            if mode != "basic":
                return False, "basic", False
            try:
                user, _, pw = base64.b64decode(rest.strip()).decode().partition(":")
            except Exception:
                return False, "basic", False
            return (user == self.args.user and pw == self.args.password), "basic", False
        if scheme.lower() != "digest" or not mode.startswith("digest"):
            return False, scheme.lower(), False
        p = parse_auth_params(rest)
        algo = p.get("algorithm", "MD5").upper()
        allowed = {"digest-md5": {"MD5"}, "digest-sha256": {"SHA-256"}, "digest-both": {"MD5", "SHA-256"}}[mode]
        if algo not in allowed:
            return False, "digest", False
        h = (lambda s: hashlib.sha256(s.encode()).hexdigest()) if algo == "SHA-256" else (
            lambda s: hashlib.md5(s.encode()).hexdigest())
        nonce = p.get("nonce", "")
        with self.lock:
            issued = self.nonces.get(nonce)
        if issued is None:
            return False, "digest", False
        if p.get("username") != self.args.user or p.get("realm") != REALM:
            return False, "digest", False
        ha1 = h(f"{self.args.user}:{REALM}:{self.args.password}")
        ha2 = h(f"{method}:{p.get('uri', '')}")
        if p.get("qop"):
            expect = h(f"{ha1}:{nonce}:{p.get('nc', '')}:{p.get('cnonce', '')}:{p.get('qop')}:{ha2}")
        else:
            expect = h(f"{ha1}:{nonce}:{ha2}")
        if not secrets.compare_digest(expect, p.get("response", "")):
            return False, "digest", False
        if time.monotonic() - issued > self.args.nonce_ttl:
            return False, "digest", True
        return True, "digest-" + algo.lower(), False


def parse_auth_params(text):
    out, i, n = {}, 0, len(text)
    while i < n:
        while i < n and text[i] in " ,":
            i += 1
        eq = text.find("=", i)
        if eq < 0:
            break
        key = text[i:eq].strip().lower()
        i = eq + 1
        if i < n and text[i] == '"':
            j = i + 1
            val = []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                val.append(text[j])
                j += 1
            out[key] = "".join(val)
            i = j + 1
        else:
            j = text.find(",", i)
            j = n if j < 0 else j
            out[key] = text[i:j].strip()
            i = j
    return out


def response_status(path, code=1, text="OK"):
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\r\n'
        '<ResponseStatus version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">\r\n'
        f"<requestURL>{path}</requestURL>\r\n<statusCode>{code}</statusCode>\r\n"
        f"<statusString>{text}</statusString>\r\n<subStatusCode>ok</subStatusCode>\r\n</ResponseStatus>\r\n"
    ).encode()


DEVICE_INFO = (
    '<?xml version="1.0" encoding="UTF-8"?>\r\n'
    '<DeviceInfo version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">\r\n'
    "<deviceName>passerelle-sim</deviceName>\r\n<deviceID>sim-0001</deviceID>\r\n"
    "<model>DS-2CD2185FWD-I</model>\r\n<serialNumber>DS-2CD2185FWD-I20180101AAWR111111111</serialNumber>\r\n"
    "<macAddress>ff:ff:ff:ff:ff:ff</macAddress>\r\n<firmwareVersion>V5.5.82</firmwareVersion>\r\n"
    "<firmwareReleasedDate>build 190909</firmwareReleasedDate>\r\n<deviceType>IPCamera</deviceType>\r\n"
    "</DeviceInfo>\r\n"
).encode()

VIDEO_INPUTS = (
    '<?xml version="1.0" encoding="UTF-8"?>\r\n'
    '<VideoInputChannelList version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">\r\n'
    "<VideoInputChannel>\r\n<id>1</id>\r\n<inputPort>1</inputPort>\r\n<videoInputEnabled>true</videoInputEnabled>\r\n"
    "<name>Entrance</name>\r\n<videoFormat>PAL</videoFormat>\r\n</VideoInputChannel>\r\n</VideoInputChannelList>\r\n"
).encode()

INPUT_PROXY = (
    '<?xml version="1.0" encoding="UTF-8"?>\r\n'
    '<InputProxyChannelList version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">\r\n'
    + "".join(
        f"<InputProxyChannel>\r\n<id>{i}</id>\r\n<name>Camera {i:02d}</name>\r\n<sourceInputPortDescriptor>\r\n"
        f"<proxyProtocol>HIKVISION</proxyProtocol>\r\n<ipAddress>127.0.0.{i + 1}</ipAddress>\r\n"
        "</sourceInputPortDescriptor>\r\n</InputProxyChannel>\r\n"
        for i in (1, 2)
    )
    + "</InputProxyChannelList>\r\n"
).encode()


MOTION_DETECTION = (
    '<?xml version="1.0" encoding="UTF-8"?>\r\n'
    '<MotionDetection version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">\r\n'
    "<enabled>true</enabled>\r\n<enableHighlight>false</enableHighlight>\r\n"
    "<samplingInterval>2</samplingInterval>\r\n<startTriggerTime>500</startTriggerTime>\r\n"
    "</MotionDetection>\r\n"
)


class Handler(BaseHTTPRequestHandler):
    server_version = "App-webs/"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):  # quiet; the request log is the record
        pass

    @property
    def sim(self):
        return self.server.sim

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _send(self, code, body, ctype="application/xml; charset=\"UTF-8\"", extra=()):
        self.send_response(code)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self):
        url = urlsplit(self.path)
        body = self._body() if self.command in ("PUT", "POST") else b""
        entry = {"t": time.time(), "method": self.command, "path": url.path, "query": url.query,
                 "body_len": len(body), "has_auth": "Authorization" in self.headers}
        if body:
            entry["body"] = body[:200000].decode("utf-8", "replace")
        if url.path == "/sim/requests":
            with self.sim.lock:
                data = json.dumps(self.sim.log).encode()
            self._send(200, data, "application/json")
            return
        if url.path == "/sim/call_status":
            self.sim.call_status = url.query.partition("status=")[2] or "idle"
            self._send(200, b"{}", "application/json")
            return
        ok, scheme, stale = self.sim.check_auth(self.command, self.headers.get("Authorization"))
        entry["auth"] = scheme if ok else ("stale" if stale else "rejected")
        idx = self.sim.record(entry)
        if not ok:
            self.send_response(401)
            for c in self.sim.challenges(stale):
                self.send_header("WWW-Authenticate", c)
            msg = b"<!DOCTYPE html><html><head><title>Document Error: Unauthorized</title></head><body>401</body></html>"
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            self.wfile.write(msg)
            self.sim.update(idx, status=401)
            return
        status = 200
        p = url.path
        legacy = self.sim.args.legacy_path
        if p == "/ISAPI/Event/notification/alertStream" and legacy:
            self._send(404, response_status(p, 4, "Invalid Operation"))
            self.sim.update(idx, status=404)
            return
        stream_path = "/Event/notification/alertStream" if legacy else "/ISAPI/Event/notification/alertStream"
        if p == stream_path and self.command == "GET":
            self.sim.update(idx, status=200)
            sent = self.stream(idx)
            self.sim.update(idx, **sent)
            self.close_connection = True
            return
        nvr = self.sim.args.nvr
        m_pic = re.fullmatch(r"/ISAPI/(Streaming|ContentMgmt/StreamingProxy)/channels/(\d+)01/picture", p)
        m_md = re.fullmatch(r"/ISAPI/System/Video/inputs/channels/(\d+)/motionDetection", p)
        if p == "/ISAPI/System/deviceInfo":
            info = DEVICE_INFO.replace(b"<deviceType>IPCamera</deviceType>", b"<deviceType>NVR</deviceType>") if nvr else DEVICE_INFO
            self._send(200, info)
        elif p == "/ISAPI/System/Video/inputs/channels" and not nvr:
            self._send(200, VIDEO_INPUTS)
        elif p == "/ISAPI/ContentMgmt/InputProxy/channels" and nvr:
            self._send(200, INPUT_PROXY)
        elif m_pic and (nvr == (m_pic.group(1) != "Streaming")):
            self._send(200, JPEG, "image/jpeg")
        elif m_md and not nvr:
            ch = m_md.group(1)
            if self.command == "PUT":
                self.sim.motion[ch] = body.decode("utf-8", "replace")
                self._send(200, response_status(p))
            else:
                self._send(200, self.sim.motion.get(ch, MOTION_DETECTION).encode())
        elif p == "/ISAPI/Event/triggers":
            if self.command == "PUT":
                if not body.lstrip().startswith(b"<"):
                    status = 400
                    self._send(400, response_status(p, 4, "Invalid XML Content"))
                else:
                    self.sim.triggers = body.decode("utf-8", "replace")
                    self._send(200, response_status(p))
            else:
                self._send(200, self.sim.triggers.encode())
        elif re.fullmatch(r"/ISAPI/System/IO/outputs/\d+/trigger", p) and self.command == "PUT":
            self._send(200, response_status(p))
        elif re.fullmatch(r"/ISAPI/AccessControl/RemoteControl/door/\d+", p) and self.command == "PUT":
            self._send(200, response_status(p))
        elif p == "/ISAPI/VideoIntercom/callStatus":
            self._send(200, json.dumps({"CallStatus": {"status": self.sim.call_status}}).encode(), "application/json")
        else:
            status = 404
            self._send(404, response_status(p, 4, "Invalid Operation"))
        self.sim.update(idx, status=status)

    do_GET = do_PUT = do_POST = do_HEAD = _handle

    # ---- the alert stream --------------------------------------------------
    def stream(self, idx):
        a = self.sim.args
        boundary = "MIME_boundary" if a.scenario == "intercom" else "boundary"
        declared = "myboundary" if a.nvr_mismatch else boundary
        head = ("HTTP/1.0 200 OK\r\n" if a.nvr_mismatch else "HTTP/1.1 200 OK\r\n")
        head += "MIME-Version: 1.0\r\nConnection: close\r\n"
        head += f"Content-Type: multipart/mixed; boundary={declared}\r\n\r\n"
        sent = {"parts": 0, "images": 0, "heartbeats": 0, "by_type": {}}
        deadline = time.monotonic() + a.stream_seconds
        try:
            self.wfile.write(head.encode())
            self.wfile.flush()
            if a.scenario == "intercom":
                self.wfile.write(b"Content-Length: 314\r\n\r\n")  # the stray line pyhik-77 shows
            last_hb = time.monotonic()

            def part(body, ctype='application/xml; charset="UTF-8"', kind=None):
                data = (f"--{boundary}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
                n = sent["parts"] + 1
                if a.drop_mid_part and n == a.drop_mid_part and not (a.drop_once and self.sim.dropped):
                    self.sim.dropped = True
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    raise ConnectionAbortedError("dropped mid-part")
                self.wfile.write(data)
                self.wfile.flush()
                sent["parts"] = n
                if kind:
                    sent["by_type"][kind] = sent["by_type"].get(kind, 0) + 1
                if ctype.startswith("image/"):
                    sent["images"] += 1

            def tick(wait):
                nonlocal last_hb
                end = time.monotonic() + wait
                while True:
                    t = time.monotonic()
                    if a.heartbeat > 0 and a.scenario != "silent" and t - last_hb >= a.heartbeat:
                        part(heartbeat_xml(), kind="videoloss")
                        sent["heartbeats"] += 1
                        last_hb = t
                    if t >= end or t >= deadline:
                        return t < deadline
                    nxt = end if a.heartbeat <= 0 else min(end, last_hb + a.heartbeat)
                    time.sleep(max(0.0, min(nxt - t, 0.05)))

            def event_type_of(body):
                s = body.find(b"<eventType>")
                return body[s + 11: body.find(b"<", s + 11)].decode() if s >= 0 else "?"

            if a.scenario == "replay":
                with self.sim.lock:
                    samples = [] if a.replay_once and self.sim.replayed else self.sim.samples
                    self.sim.replayed = True
                for body in samples:
                    et = event_type_of(body)
                    part(body, kind=et)
                    if a.images and et in ("linedetection", "fielddetection") and b">active<" in body:
                        part(JPEG, "image/jpeg")
                    if not tick(1.0 / a.rate if a.rate > 0 else 0):
                        break
            elif a.scenario == "motion":
                n = max(1, int(a.active_for * a.repeat_hz))
                for i in range(n):
                    if a.bad_part and i + 1 == a.bad_part:
                        # Junk between parts, then a part whose XML is cut short: both
                        # must be skipped, the stream and the event go on.
                        self.wfile.write(b"\r\n\x00\x01\xfe not a part at all\r\n")
                        part(alert_xml("VMD", "active")[:120], kind="bad")
                    part(alert_xml("VMD", "active", description="Motion alarm", post_count=i + 1), kind="VMD")
                    if not tick(1.0 / a.repeat_hz):
                        break
                if not a.no_inactive:
                    part(alert_xml("VMD", "inactive", description="Motion alarm", post_count=n), kind="VMD")
            elif a.scenario == "smart":
                part(alert_xml("fielddetection", "active", extra=SMART_EXTRA), kind="fielddetection")
                part(JPEG, "image/jpeg")
                tick(0.2)
                part(alert_xml("fielddetection", "inactive"), kind="fielddetection")
            elif a.scenario == "intercom":
                ring = json.dumps({"ipAddress": "127.0.0.1", "portNo": 80, "protocol": "HTTP",
                                   "dateTime": now_iso(), "activePostCount": 1,
                                   "eventType": "VideoIntercomEvent", "eventState": "active",
                                   "eventDescription": "Video Intercom Event",
                                   "VideoIntercomEvent": {"eventType": "ring", "callType": 2}},
                                  indent="\t").encode()
                self.sim.call_status = "ring"
                part(ring, 'application/json; charset="UTF-8"', kind="VideoIntercomEvent")
                acs = self.sim._read("pergolafabio-177_DS-K1T502_AccessControllerEvent.json", binary=True)
                part(acs, 'application/json; charset="UTF-8"', kind="AccessControllerEvent")
                self.sim.call_status = "idle"
            # then heartbeats only (or silence) until the stream time is up
            while tick(0.05):
                pass
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, socket.timeout) as e:
            sent["ended"] = type(e).__name__
        return sent


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--fixtures", default=DEFAULT_FIXTURES)
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password", default=os.environ.get("HIK_SIM_PASSWORD", "sim-password"))
    ap.add_argument("--auth", default="digest-md5",
                    choices=["none", "basic", "digest-md5", "digest-sha256", "digest-both"])
    ap.add_argument("--nonce-ttl", type=float, default=300.0)
    ap.add_argument("--scenario", default="replay", choices=["replay", "motion", "smart", "intercom", "silent"])
    ap.add_argument("--samples", default="cam", choices=["cam", "nvr", "ptz"])
    ap.add_argument("--max-parts", type=int, default=0, help="replay only the first N parts")
    ap.add_argument("--replay-once", action="store_true",
                    help="replay the capture on the first stream only, later streams carry heartbeats only")
    ap.add_argument("--rate", type=float, default=0.0, help="replay parts/s (0 = as fast as possible)")
    ap.add_argument("--heartbeat", type=float, default=10.0, help="heartbeat period s (0.3 for tests, 0 = none)")
    ap.add_argument("--repeat-hz", type=float, default=1.0)
    ap.add_argument("--active-for", type=float, default=3.0)
    ap.add_argument("--no-inactive", action="store_true")
    ap.add_argument("--nvr-mismatch", action="store_true")
    ap.add_argument("--nvr", action="store_true", help="behave as an NVR (InputProxy, StreamingProxy)")
    ap.add_argument("--images", action="store_true")
    ap.add_argument("--drop-mid-part", type=int, default=0)
    ap.add_argument("--drop-once", action="store_true", help="drop mid-part on the first stream only")
    ap.add_argument("--bad-part", type=int, default=0,
                    help="motion: before the Nth active part send junk bytes and a truncated XML part")
    ap.add_argument("--legacy-path", action="store_true",
                    help="old firmware: 404 on /ISAPI/Event/notification/alertStream, "
                         "the stream on /Event/notification/alertStream")
    ap.add_argument("--stream-seconds", type=float, default=5.0, help="how long one alertStream stays open")
    ap.add_argument("--lifetime", type=float, default=60.0, help="the simulator exits after this many seconds")
    ap.add_argument("--log", help="write the request log (JSON) here at exit")
    args = ap.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.sim = Sim(args)
    print(f"PORT {server.server_address[1]}", flush=True)
    timer = threading.Timer(args.lifetime, server.shutdown)
    timer.daemon = True
    timer.start()
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if args.log:
            with open(args.log, "w") as f:
                json.dump(server.sim.log, f)


if __name__ == "__main__":
    main()
