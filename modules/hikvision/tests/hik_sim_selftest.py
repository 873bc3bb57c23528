#!/usr/bin/env python3
"""Self-test of hik_sim.py: starts the simulator, talks to it with urllib's
digest client (MD5) and a hand-written SHA-256 digest client, checks the
endpoints, and pipes alert streams through hik_stream_check (the C++ parser,
decoder and state machine). Standard library only; bounded in time."""
import base64
import hashlib
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.join(HERE, "hik_sim.py")
CHECK = sys.argv[1]
FIXTURES = sys.argv[2]
USER, PASSWORD = "admin", "s3cret-pw"
failures = []


def expect(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


class Sim:
    def __init__(self, *args):
        env = dict(os.environ, HIK_SIM_PASSWORD=PASSWORD)
        self.p = subprocess.Popen([sys.executable, SIM, "--fixtures", FIXTURES, "--lifetime", "40", *args],
                                  stdout=subprocess.PIPE, env=env, text=True)
        line = self.p.stdout.readline()
        self.port = int(line.split()[1])
        self.base = f"http://127.0.0.1:{self.port}"

    def requests(self):
        with urllib.request.urlopen(self.base + "/sim/requests", timeout=5) as r:
            return json.load(r)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.p.terminate()
        self.p.wait(timeout=10)


def md5_opener(base):
    mgr = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    mgr.add_password(None, base, USER, PASSWORD)
    return urllib.request.build_opener(urllib.request.HTTPDigestAuthHandler(mgr))


def sha256_digest_get(base, path):
    """GET with a SHA-256 digest answer (urllib only knows MD5/SHA-1)."""
    try:
        urllib.request.urlopen(base + path, timeout=5)
        raise AssertionError("expected 401")
    except urllib.error.HTTPError as e:
        chal = [v for k, v in e.headers.items() if k.lower() == "www-authenticate"]
    c = next(x for x in chal if "SHA-256" in x)
    params = dict(kv.strip().split("=", 1) for kv in c[len("Digest "):].split(","))
    params = {k: v.strip('"') for k, v in params.items()}
    h = lambda s: hashlib.sha256(s.encode()).hexdigest()
    cnonce, nc = secrets.token_hex(8), "00000001"
    ha1 = h(f"{USER}:{params['realm']}:{PASSWORD}")
    ha2 = h(f"GET:{path}")
    resp = h(f"{ha1}:{params['nonce']}:{nc}:{cnonce}:auth:{ha2}")
    auth = (f'Digest username="{USER}", realm="{params["realm"]}", nonce="{params["nonce"]}", uri="{path}", '
            f'algorithm=SHA-256, qop=auth, nc={nc}, cnonce="{cnonce}", response="{resp}"')
    req = urllib.request.Request(base + path, headers={"Authorization": auth})
    return urllib.request.urlopen(req, timeout=10).read()


def check_stream(raw, declared="", *flags):
    out = subprocess.run([CHECK] + ([declared] if declared else []) + list(flags), input=raw, capture_output=True, timeout=30)
    return json.loads(out.stdout)


# 1. digest MD5 via urllib: endpoints + replay of 200 real camera parts, with images.
with Sim("--auth", "digest-md5", "--max-parts", "200", "--images", "--heartbeat", "0.3",
         "--stream-seconds", "1") as sim:
    op = md5_opener(sim.base)
    info = op.open(sim.base + "/ISAPI/System/deviceInfo", timeout=5).read()
    expect(b"<DeviceInfo" in info, "deviceInfo over MD5 digest")
    pic = op.open(sim.base + "/ISAPI/Streaming/channels/101/picture", timeout=5).read()
    expect(pic[:2] == b"\xff\xd8" and pic[-2:] == b"\xff\xd9", "picture is a JPEG")
    trig = op.open(sim.base + "/ISAPI/Event/triggers", timeout=5).read()
    expect(b"EventTriggerList" in trig, "GET triggers")
    put = urllib.request.Request(sim.base + "/ISAPI/System/IO/outputs/1/trigger", method="PUT",
                                 data=b"<IOPortData><outputState>high</outputState></IOPortData>")
    expect(b"<statusCode>1</statusCode>" in op.open(put, timeout=5).read(), "PUT IO output trigger")
    r = op.open(sim.base + "/ISAPI/Event/notification/alertStream", timeout=15)
    declared = r.headers.get("Content-Type", "")
    raw = r.read()
    summary = check_stream(raw, declared.split("boundary=")[-1], "--hold-smart")
    plain = check_stream(raw, declared.split("boundary=")[-1])
    log = sim.requests()
    stream_entry = [e for e in log if e["path"].endswith("alertStream") and e.get("status") == 200][-1]
    expect(summary["parts"] == stream_entry["parts"], f"parser saw every part sent ({summary['parts']})")
    expect(summary["images"] == stream_entry["images"] and summary["images"] > 0, "image parts framed")
    expect(not summary["errors"], f"no parse errors {summary['errors'][:3]}")
    expect(summary["by_code"].get("VMD") == 66 and summary["by_code"].get("linedetection") == 43,
           "first 200 camera parts: 66 VMD, 43 linedetection")
    # HikSink's camera announces no pictures: attached only when smart events are held.
    # (only starts are held: the pictures after folded repeats have no event to join)
    expect(summary["attachments"] > 0 and summary["attachments"] + summary["orphan_images"] == summary["images"],
           f"unannounced images attached to smart starts with hold_smart_events ({summary['attachments']})")
    expect(plain["attachments"] == 0 and plain["orphan_images"] == plain["images"],
           "unannounced images are orphans by default")
    expect(all(e.get("auth") != "rejected" or not e["has_auth"] for e in log), "no valid request rejected")
    expect(PASSWORD not in json.dumps(log), "password not in the request log")

# 2. digest SHA-256, NVR boundary mismatch, HTTP/1.0, motion repeats without inactive.
with Sim("--auth", "digest-both", "--scenario", "motion", "--repeat-hz", "10", "--active-for", "1",
         "--no-inactive", "--nvr-mismatch", "--heartbeat", "0", "--stream-seconds", "1.5") as sim:
    raw = sha256_digest_get(sim.base, "/ISAPI/Event/notification/alertStream")
    summary = check_stream(raw, "myboundary")
    expect(summary["parts"] == 10 and not summary["errors"], f"NVR mismatch stream parsed ({summary['parts']} parts)")
    expect(summary["events"] == {"start:motion": 1, "stop:motion": 1}, f"repeats folded {summary['events']}")
    expect(any(e.get("auth") == "digest-sha-256" for e in sim.requests()), "SHA-256 digest accepted")

# 3. basic auth, intercom JSON parts; smart event with picture; drop mid-part; wrong password.
with Sim("--auth", "basic", "--scenario", "intercom", "--heartbeat", "0", "--stream-seconds", "0.5") as sim:
    tok = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    req = urllib.request.Request(sim.base + "/ISAPI/Event/notification/alertStream",
                                 headers={"Authorization": "Basic " + tok})
    summary = check_stream(urllib.request.urlopen(req, timeout=10).read())
    expect(summary["events"] == {"pulse:doorbell": 1, "pulse:door": 1}, f"intercom JSON events {summary['events']}")
    bad = urllib.request.Request(sim.base + "/ISAPI/System/deviceInfo",
                                 headers={"Authorization": "Basic " + base64.b64encode(b"admin:nope").decode()})
    try:
        urllib.request.urlopen(bad, timeout=5)
        expect(False, "wrong password rejected")
    except urllib.error.HTTPError as e:
        expect(e.code == 401, "wrong password rejected")

with Sim("--auth", "none", "--scenario", "smart", "--heartbeat", "0", "--stream-seconds", "0.5") as sim:
    summary = check_stream(urllib.request.urlopen(sim.base + "/ISAPI/Event/notification/alertStream",
                                                  timeout=10).read())
    expect(summary["attachments"] == 1 and summary["events"] == {"start:intrusion": 1, "stop:intrusion": 1},
           f"smart event with its picture {summary['events']}")

with Sim("--auth", "none", "--max-parts", "50", "--drop-mid-part", "20", "--heartbeat", "0") as sim:
    try:
        raw = urllib.request.urlopen(sim.base + "/ISAPI/Event/notification/alertStream", timeout=10).read()
    except Exception as e:  # IncompleteRead: keep what arrived
        raw = getattr(e, "partial", b"")
    summary = check_stream(raw)
    expect(summary["parts"] == 19 and len(summary["errors"]) == 1, f"drop mid-part: 19 parts + 1 error ({summary})")

print("FAILED: %d" % len(failures) if failures else "all simulator checks passed")
sys.exit(1 if failures else 0)
