"""End to end: hik_sim.py -> the real daemon (hikvision module) -> filelog.
The three big real captures replayed whole (every part parsed, counts checked),
health and counters visible in /api/v1/instances, an action through the API."""
import json
import os
import time
import unittest

from daemon_harness import DaemonTestCase, SimProcess, config, file_log, instance, read_jsonl, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.join(HERE, "hik_sim.py")
# Part counts of the HikSink captures (the core tests count them independently).
SAMPLE_PARTS = {"cam": 770, "nvr": 5581, "ptz": 1516}
# Of those, heartbeats ("videoloss inactive": health, never events) and "active"
# notifications (test_hiksink_samples.cpp: starts + folded). Every active either
# starts an event or is folded into one, whatever the timing, so the events'
# sum of (1 + attrs.repeats) over the stops is exactly this.
SAMPLE_HEARTBEATS = {"cam": 349, "nvr": 0, "ptz": 75}
SAMPLE_ACTIVES = {"cam": 371, "nvr": 5581, "ptz": 1441}


def camera_config(url, *settings):
    """The camera `cam` (the simulator; its password from HIK_PASSWORD) and its events to a file log;
    `settings`: more of the camera's lines."""
    return config(instance("cam", "hikvision", 'url = "%s"' % url, 'user = "admin"', 'password = "${HIK_PASSWORD}"',
                           'heartbeat_timeout = "5s"', *settings),
                  file_log("cam"))


class Sim(SimProcess):
    def __init__(self, *args, lifetime=60):
        super().__init__(SIM, *args, lifetime=lifetime)

    def requests(self):
        import urllib.request
        with urllib.request.urlopen(self.url + "/sim/requests", timeout=5) as r:
            return json.loads(r.read())


class HikvisionEndToEnd(DaemonTestCase):
    def run_daemon(self, sim, extra=""):
        return self.start_daemon(camera_config(sim.url, extra), env={"HIK_PASSWORD": "sim-password"})

    def replay(self, samples, extra=""):
        # One stream carrying the whole capture, then heartbeats until the stream
        # closes; later streams carry heartbeats only (--replay-once), so the
        # daemon's counts can be compared exactly.
        sim = Sim("--scenario", "replay", "--samples", samples, "--heartbeat", "0.5", "--stream-seconds", "12",
                  "--auth", "digest-md5", "--replay-once")
        self.addCleanup(sim.stop)
        d = self.run_daemon(sim, extra)
        expected = SAMPLE_PARTS[samples]
        capture_parts = expected - SAMPLE_HEARTBEATS[samples]

        def non_heartbeat_parts(i):
            return i["counters"].get("parts", 0) - i["counters"].get("heartbeats", 0) if i else -1

        inst = wait_until(lambda: (lambda i: i if non_heartbeat_parts(i) >= capture_parts else None)(
            d.instance("cam")), timeout=40)
        self.assertTrue(inst, "parts never reached %d: %s\n%s" % (expected, d.instance("cam"), d.log()[-3000:]))
        # exactly: no part lost, none counted twice (heartbeats are the sim's and the capture's)
        self.assertEqual(non_heartbeat_parts(inst), capture_parts, inst["counters"])
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
        log = d.path("events.log")

        def tally():
            evs = [e for e in read_jsonl(log) if e["module"] == "hikvision" and e["type"] != "device"]
            stops = [e for e in evs if e["state"] == "stop"]
            return (evs, sum(e["state"] == "start" for e in evs), len(stops),
                    sum(1 + int(e["attrs"].get("repeats", "0")) for e in stops))

        # Every start gets its stop (inactive, or synthesized after inactive_timeout)
        # and every active notification is in exactly one event.
        actives = SAMPLE_ACTIVES[samples]
        wait_until(lambda: (lambda t: t[1] == t[2] and t[3] >= actives)(tally()), timeout=30)
        events, starts, stops, folded_in = tally()
        self.assertTrue(events)
        self.assertEqual(starts, stops)
        self.assertEqual(folded_in, actives)
        self.assertEqual(sum(e["state"] == "pulse" for e in events), 0)
        codes = {e["code"] for e in events}
        sent_types = {t for t in sent["by_type"] if t != "videoloss"}
        self.assertTrue(sent_types <= codes | {"videoloss"}, (sent_types, codes))
        for e in events:
            self.assertIn(e["state"], ("start", "stop", "pulse"))
            if e["state"] == "stop" and e["type"] != "device":
                self.assertIn(e["attrs"].get("synthesized"), ("true", "false"))
        return d, events

    def test_cam_capture_end_to_end(self):
        # The camera ends each event with "inactive": 50 starts, 50 stops, none
        # synthesized (a long inactive_timeout so that a loaded machine's pause
        # cannot end one early).
        d, events = self.replay("cam", 'inactive_timeout = "60s"')
        self.assertEqual(sum(e["state"] == "start" for e in events), 50)
        stops = [e for e in events if e["state"] == "stop"]
        self.assertEqual(len(stops), 50)
        self.assertEqual([e for e in stops if e["attrs"]["synthesized"] != "false"], [])

    def test_nvr_capture_end_to_end(self):
        d, events = self.replay("nvr")
        self.assertTrue(any(e["channel"] > 1 for e in events))

    def test_ptz_capture_end_to_end(self):
        self.replay("ptz")

    def test_health_auth_failed_and_action_through_the_api(self):
        sim = Sim("--scenario", "silent", "--stream-seconds", "30", "--auth", "digest-sha256")
        self.addCleanup(sim.stop)
        d = self.start_daemon(camera_config(sim.url, 'image_dir = "@DIR@/images"'), env={"HIK_PASSWORD": "nope"})
        inst = wait_until(lambda: (lambda i: i if i and i["health"] == "auth_failed" else None)(d.instance("cam")),
                          timeout=15)
        self.assertTrue(inst, d.log()[-2000:])
        self.assertNotIn("nope", json.dumps(d.instance("cam")))
        d.kill()
        d2 = self.start_daemon(camera_config(sim.url, 'image_dir = "@DIR@/images"'),
                               env={"HIK_PASSWORD": "sim-password"})
        self.assertTrue(wait_until(lambda: (d2.instance("cam") or {}).get("health") == "connected", timeout=15))
        status, body = d2.request("POST", "/api/v1/instances/cam/actions/snapshot?channel=1")
        self.assertEqual(status, 200, body)
        reply = json.loads(body)
        text = json.dumps(reply)
        self.assertIn("images", text)


if __name__ == "__main__":
    unittest.main()
