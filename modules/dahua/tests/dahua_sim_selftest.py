#!/usr/bin/env python3
"""Self-test of dahua_sim.py, run by ctest (bounded, 127.0.0.1 only).

Starts the simulator, fetches the event stream with urllib + digest auth, feeds the
bytes to dahua_cgi_dump (the C++ parser + mapping) and checks the events; checks the
other CGI endpoints, basic auth, wrong password, a replayed capture, the trickle and
drop faults, the request log, and a DHIP login + attach + event in Python.
"""
import argparse
import hashlib
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
FAILS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILS.append(what)


class Sim:
    def __init__(self, tmp, *extra):
        self.log = os.path.join(tmp, "requests-%d.jsonl" % time.monotonic_ns())
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "dahua_sim.py"), "--lifetime", "30",
                                      "--log", self.log, "--password", "s3cret-pw"] + list(extra),
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        ports = dict(kv.split("=") for kv in line)
        self.port, self.dhip = int(ports["http"]), int(ports["dhip"])

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def opener(self, password="s3cret-pw", basic=False):
        mgr = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        mgr.add_password(None, self.url("/"), "admin", password)
        h = urllib.request.HTTPBasicAuthHandler(mgr) if basic else urllib.request.HTTPDigestAuthHandler(mgr)
        return urllib.request.build_opener(h)

    def requests(self):
        with open(self.log) as f:
            return [json.loads(l) for l in f]

    def stop(self):
        self.proc.kill()  # the process we started, by its handle
        self.proc.wait(timeout=5)


def dump(binary, data):
    r = subprocess.run([binary, "--chunk", "1"], input=data, capture_output=True, timeout=20)
    lines = r.stdout.decode().splitlines()
    events = [json.loads(l[6:]) for l in lines if l.startswith("event ")]
    return lines, events


def dhip_frame(session, rid, body):
    data = json.dumps(body).encode()
    return struct.pack("<I4sIIQQ", 32, b"DHIP", session, rid, len(data), len(data)) + data


def dhip_read(sock):
    buf = b""
    while len(buf) < 32:
        buf += sock.recv(32 - len(buf))
    length = struct.unpack("<Q", buf[16:24])[0]
    body = b""
    while len(body) < length:
        body += sock.recv(length - len(body))
    return json.loads(body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dump", required=True)
    ap.add_argument("--fixtures", required=True)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="dahua-sim-")
    script = os.path.join(tmp, "script.json")
    with open(script, "w") as f:
        json.dump([
            {"at": 0.1, "code": "VideoMotion", "action": "Start", "index": 0,
             "data": {"Id": [0], "RegionName": ["Region1"], "SmartMotionEnable": True}},
            {"at": 0.2, "code": "CrossLineDetection", "action": "Pulse", "index": 1,
             "data": {"Name": "Fence; gate=1", "Object": {"ObjectType": "Human"}}},
            {"at": 0.3, "code": "VideoMotionInfo", "action": "State", "index": 0},
            {"at": 0.4, "code": "VideoMotion", "action": "Stop", "index": 0},
        ], f)

    # 1. Digest stream -> C++ parser.
    sim = Sim(tmp, "--script", script, "--stream-duration", "1.5", "--dhip-port", "0")
    try:
        data = sim.opener().open(sim.url("/cgi-bin/eventManager.cgi?action=attach&codes=[All]&heartbeat=1"),
                                 timeout=10).read()
        lines, events = dump(a.dump, data)
        check([e["type"] for e in events] == ["motion", "line_crossing", "motion"], "digest stream: 3 events mapped")
        check(events and events[0]["state"] == "start" and events[0]["attrs"].get("region") == "Region1",
              "VideoMotion start, region")
        check(len(events) > 1 and events[1]["channel"] == 2 and events[1]["attrs"].get("target") == "human"
              and events[1]["attrs"].get("region") == "Fence; gate=1", "CrossLineDetection channel/target/region")
        check(sum(l == "heartbeat" for l in lines) >= 1, "heartbeat received")
        check(not any(l.startswith("error") for l in lines), "no parser error")

        # Other endpoints.
        op = sim.opener()
        snap = op.open(sim.url("/cgi-bin/snapshot.cgi?channel=1"), timeout=5)
        jpeg = snap.read()
        check(snap.headers["Content-Type"] == "image/jpeg" and jpeg[:2] == b"\xff\xd8" and jpeg[-2:] == b"\xff\xd9",
              "snapshot is a JPEG")
        info = op.open(sim.url("/cgi-bin/magicBox.cgi?action=getSystemInfo"), timeout=5).read().decode()
        check("serialNumber=" in info, "magicBox getSystemInfo")
        titles = op.open(sim.url("/cgi-bin/configManager.cgi?action=getConfig&name=ChannelTitle"), timeout=5).read()
        check(b"table.ChannelTitle[0].Name=" in titles, "ChannelTitle")
        check(op.open(sim.url("/cgi-bin/accessControl.cgi?action=openDoor&channel=1"), timeout=5).read() == b"OK\r\n",
              "openDoor")
        check(b"found=2" in op.open(sim.url("/cgi-bin/recordFinder.cgi?action=find&name=VideoTalkLog"),
                                    timeout=5).read(), "VideoTalkLog")
        try:
            sim.opener("wrong").open(sim.url("/cgi-bin/magicBox.cgi?action=getSystemInfo"), timeout=5)
            check(False, "wrong password refused")
        except urllib.error.HTTPError as e:
            check(e.code == 401, "wrong password refused")

        # DHIP: two-step login, attach, events.
        s = socket.create_connection(("127.0.0.1", sim.dhip), timeout=5)
        s.sendall(dhip_frame(0, 1, {"method": "global.login", "params": {"userName": "admin"}, "id": 1, "session": 0}))
        ch = dhip_read(s)
        p = ch["params"]
        md5 = lambda x: hashlib.md5(x.encode()).hexdigest().upper()
        pw = md5("admin:%s:%s" % (p["random"], md5("admin:%s:s3cret-pw" % p["realm"])))
        s.sendall(dhip_frame(ch["session"], 2, {"method": "global.login", "id": 2, "session": ch["session"],
                                                "params": {"userName": "admin", "password": pw}}))
        check(dhip_read(s).get("result") is True, "DHIP login with the two-step hash")
        s.sendall(dhip_frame(ch["session"], 3, {"method": "eventManager.attach", "id": 3, "session": ch["session"],
                                                "params": {"codes": ["All"]}}))
        check(dhip_read(s).get("result") is True, "DHIP attach")
        codes = []
        deadline = time.time() + 5
        while len(codes) < 4 and time.time() < deadline:
            m = dhip_read(s)
            if m.get("method") == "client.notifyEventStream":
                codes += [e["Code"] for e in m["params"]["eventList"]]
        check(codes == ["VideoMotion", "CrossLineDetection", "VideoMotionInfo", "VideoMotion"], "DHIP events")
        s.close()

        reqs = sim.requests()
        check(any(r.get("path") == "/cgi-bin/eventManager.cgi" and r.get("auth") == "digest-ok" for r in reqs),
              "request log records the authenticated stream")
        check(any(r.get("status") == 401 for r in reqs), "request log records the 401s")
        with open(sim.log) as f:
            check("s3cret-pw" not in f.read(), "password never logged")
    finally:
        sim.stop()

    # 2. Basic auth + a replayed capture: same parts as parsing the capture directly.
    fixture = os.path.join(a.fixtures, "reconstructed_rroller166_wire_body.bin")
    sim = Sim(tmp, "--basic", "--replay", fixture, "--stream-duration", "0.3")
    try:
        data = sim.opener(basic=True).open(sim.url("/cgi-bin/eventManager.cgi?action=attach&codes=[All]"),
                                           timeout=10).read()
        with open(fixture, "rb") as f:
            check(dump(a.dump, data)[0] == dump(a.dump, f.read())[0], "basic auth + replayed capture")
    finally:
        sim.stop()

    # 3. Faults: trickle (one byte per write) and a connection dropped mid-part.
    sim = Sim(tmp, "--events", "VideoMotion:Start:0,VideoMotion:Stop:0", "--fault", "trickle",
              "--stream-duration", "2")
    try:
        data = sim.opener().open(sim.url("/cgi-bin/eventManager.cgi?action=attach&codes=[All]"), timeout=10).read()
        check([e["state"] for e in dump(a.dump, data)[1]] == ["start", "stop"], "trickled stream")
    finally:
        sim.stop()
    sim = Sim(tmp, "--events", "VideoMotion:Start:0,VideoMotion:Stop:0", "--fault", "drop_mid_part",
              "--stream-duration", "2")
    try:
        data = sim.opener().open(sim.url("/cgi-bin/eventManager.cgi?action=attach&codes=[All]"), timeout=10).read()
        lines, events = dump(a.dump, data)
        check(len(events) == 1 and any(l.startswith("error truncated") for l in lines), "drop mid-part: truncated")
    finally:
        sim.stop()

    for fault, what in (("garbage", "garbage between parts"), ("giant_headers", "giant part headers")):
        sim = Sim(tmp, "--events", "VideoMotion:Start:0,VideoMotion:Stop:0", "--fault", fault,
                  "--stream-duration", "1")
        try:
            data = sim.opener().open(sim.url("/cgi-bin/eventManager.cgi?action=attach&codes=[All]"),
                                     timeout=10).read()
            lines, events = dump(a.dump, data)
            check([e["state"] for e in events] == ["start", "stop"] and any(l.startswith("error") for l in lines),
                  what + ": reported, events intact")
        finally:
            sim.stop()
    # Silent stream: headers, then nothing (the session's heartbeat timeout must catch it).
    sim = Sim(tmp, "--fault", "silent", "--stream-duration", "0.5")
    try:
        t0 = time.monotonic()
        data = sim.opener().open(sim.url("/cgi-bin/eventManager.cgi?action=attach&codes=[All]&heartbeat=1"),
                                 timeout=10).read()
        check(data == b"" and time.monotonic() - t0 >= 0.4, "silent stream sends nothing")
    finally:
        sim.stop()

    print("%d failure(s)" % len(FAILS))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
