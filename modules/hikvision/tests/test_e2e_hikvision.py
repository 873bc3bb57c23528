"""End to end: hik_sim.py -> the real daemon (hikvision module) -> filelog.
The three big real captures replayed whole (every part parsed, counts checked),
health and counters visible in /api/v1/instances, an action through the API."""
import json
import os
import time
import unittest

from daemon_harness import Daemon, SimProcess, read_jsonl, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.join(HERE, "hik_sim.py")
# Part counts of the HikSink captures (the core tests count them independently).
SAMPLE_PARTS = {"cam": 770, "nvr": 5581, "ptz": 1516}

CONFIG = """
[daemon]
state_dir = "@DIR@/state"

[daemon.api]
listen = "127.0.0.1:@PORT@"

[instance.cam]
module = "hikvision"
url = "{url}"
user = "admin"
password = "${{HIK_PASSWORD}}"
heartbeat_timeout = "5s"
{extra}

[instance.events]
module = "filelog"
path = "@DIR@/events.log"

[[route]]
when = {{ source = "cam" }}
to = "events"
"""


class Sim(SimProcess):
    def __init__(self, *args, lifetime=60):
        super().__init__(SIM, *args, lifetime=lifetime)

    def requests(self):
        import urllib.request
        with urllib.request.urlopen(self.url + "/sim/requests", timeout=5) as r:
            return json.loads(r.read())


def instance(d, name):
    status, body = d.get_json("/api/v1/instances")
    if status != 200:
        return None
    for i in body["instances"]:
        if i["name"] == name:
            return i
    return None


class HikvisionEndToEnd(unittest.TestCase):
    def run_daemon(self, sim, extra=""):
        d = Daemon(CONFIG.format(url=sim.url, extra=extra), env={"HIK_PASSWORD": "sim-password"})
        self.addCleanup(d.kill)
        d.start()
        return d

    def replay(self, samples):
        # One stream carrying the whole capture, then heartbeats until the stream closes.
        sim = Sim("--scenario", "replay", "--samples", samples, "--heartbeat", "0.5", "--stream-seconds", "12",
                  "--auth", "digest-md5")
        self.addCleanup(sim.stop)
        d = self.run_daemon(sim)
        expected = SAMPLE_PARTS[samples]
        inst = wait_until(lambda: (lambda i: i if i and i["counters"].get("parts", 0) >= expected else None)(
            instance(d, "cam")), timeout=40)
        self.assertTrue(inst, "parts never reached %d: %s\n%s" % (expected, instance(d, "cam"), d.log()[-3000:]))
        self.assertEqual(inst["health"], "connected")
        self.assertEqual(inst["counters"].get("parse_errors", 0), 0)
        self.assertIn("model", inst["info"])
        # every part of the capture parsed: the sim's count of what it sent on the first stream
        first = wait_until(lambda: [r for r in sim.requests()
                                    if r["path"] == "/ISAPI/Event/notification/alertStream" and "parts" in r],
                           timeout=20)
        self.assertTrue(first)
        sent = first[0]
        self.assertEqual(sent["parts"] - sent["heartbeats"], expected)
        self.assertGreaterEqual(inst["counters"]["parts"], expected)
        log = d.path("events.log")
        events = wait_until(lambda: [e for e in read_jsonl(log) if e["module"] == "hikvision"], timeout=10)
        self.assertTrue(events)
        codes = {e["code"] for e in events}
        sent_types = {t for t in sent["by_type"] if t != "videoloss"}
        self.assertTrue(sent_types <= codes | {"videoloss"}, (sent_types, codes))
        for e in events:
            self.assertIn(e["state"], ("start", "stop", "pulse"))
            if e["state"] == "stop" and e["type"] != "device":
                self.assertIn(e["attrs"].get("synthesized"), ("true", "false"))
        return d, events

    def test_cam_capture_end_to_end(self):
        self.replay("cam")

    def test_nvr_capture_end_to_end(self):
        d, events = self.replay("nvr")
        self.assertTrue(any(e["channel"] > 1 for e in events))

    def test_ptz_capture_end_to_end(self):
        self.replay("ptz")

    def test_health_auth_failed_and_action_through_the_api(self):
        sim = Sim("--scenario", "silent", "--stream-seconds", "30", "--auth", "digest-sha256")
        self.addCleanup(sim.stop)
        d = Daemon(CONFIG.format(url=sim.url, extra='image_dir = "@DIR@/images"'), env={"HIK_PASSWORD": "nope"})
        self.addCleanup(d.kill)
        d.start()
        inst = wait_until(lambda: (lambda i: i if i and i["health"] == "auth_failed" else None)(instance(d, "cam")),
                          timeout=15)
        self.assertTrue(inst, d.log()[-2000:])
        self.assertNotIn("nope", json.dumps(instance(d, "cam")))
        d.kill()
        d2 = Daemon(CONFIG.format(url=sim.url, extra='image_dir = "@DIR@/images"'),
                    env={"HIK_PASSWORD": "sim-password"})
        self.addCleanup(d2.kill)
        d2.start()
        self.assertTrue(wait_until(lambda: (instance(d2, "cam") or {}).get("health") == "connected", timeout=15))
        status, body = d2.request("POST", "/api/v1/instances/cam/actions/snapshot?channel=1")
        self.assertEqual(status, 200, body)
        reply = json.loads(body)
        text = json.dumps(reply)
        self.assertIn("images", text)


if __name__ == "__main__":
    unittest.main()
