"""End-to-end: dahua_sim.py -> the real daemon (dahua module) -> filelog,
health and actions over the control API. Standard library only."""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

from daemon_harness import DaemonTestCase, config, file_log, read_jsonl, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.join(HERE, "dahua_sim.py")


class Sim:
    """The simulator on a free port, bounded lifetime, killed by its pid."""

    def __init__(self, *args, lifetime=60):
        self.dir = tempfile.mkdtemp(prefix="dahua-e2e-sim-")
        self.port_file = os.path.join(self.dir, "ports")
        self.log = os.path.join(self.dir, "requests.jsonl")
        self.proc = subprocess.Popen([sys.executable, SIM, "--port", "0", "--port-file", self.port_file,
                                      "--log", self.log, "--lifetime", str(lifetime), *args],
                                     stdout=subprocess.DEVNULL)
        line = wait_until(lambda: os.path.exists(self.port_file) and open(self.port_file).read().strip(), 10)
        if not line:
            raise AssertionError("simulator did not start")
        parts = dict(p.split("=") for p in line.split())
        self.http, self.dhip = int(parts["http"]), int(parts["dhip"])

    def requests(self, path):
        return [r for r in read_jsonl(self.log) if r.get("path") == path or r.get("method") == path]

    def stop(self):
        self.proc.kill()
        self.proc.wait()


# The two cameras of the simulator, one over HTTP (cam), one over DHIP (vto); str.format
# template (http, dhip ports; the TOML braces doubled).
CAMERAS = """
[instance.cam]
module = "dahua"
url = "http://127.0.0.1:{http}"
user = "admin"
password = "${{CAM_PASSWORD}}"
heartbeat = "1s"
snapshot_on = ["AlarmLocal"]
channels = {{ 1 = "Porch" }}

[instance.vto]
module = "dahua"
protocol = "dhip"
url = "http://127.0.0.1:{http}"
dhip_port = {dhip}
user = "admin"
password = "${{CAM_PASSWORD}}"
missed_rings = "false"
"""


class DahuaEndToEnd(DaemonTestCase):
    def setUp(self):
        self.sim = Sim("--dhip-port", "0", "--events", "VideoMotion:Start:0,AlarmLocal:Start:0,VideoMotion:Stop:0")
        self.addCleanup(self.sim.stop)
        cameras = CAMERAS.format(http=self.sim.http, dhip=self.sim.dhip)
        self.d = self.start_daemon(config(cameras, file_log(when='module = "dahua"')), env={"CAM_PASSWORD": "secret"})

    def test_events_health_and_actions(self):
        log = self.d.path("events.log")

        def events():
            return [e for e in read_jsonl(log) if e.get("type") != "device"]

        got = wait_until(lambda: len([e for e in events() if e["source"] == "cam"]) >= 3
                         and len([e for e in events() if e["source"] == "vto"]) >= 3, 20)
        self.assertTrue(got, self.d.log())
        cam = [e for e in events() if e["source"] == "cam"]
        self.assertEqual([e["code"] for e in cam[:3]], ["VideoMotion", "AlarmLocal", "VideoMotion"])
        self.assertEqual(cam[0]["type"], "motion")
        self.assertEqual(cam[0]["state"], "start")
        self.assertEqual(cam[0]["channel"], 1)
        self.assertEqual(cam[0]["module"], "dahua")
        self.assertEqual(cam[0]["attrs"]["channel_name"], "Porch")
        alarm = cam[1]
        self.assertEqual(alarm["type"], "io_alarm")
        self.assertIn("attachment", alarm)  # the snapshot, saved beside the log
        vto = [e for e in events() if e["source"] == "vto"]
        self.assertEqual(vto[0]["type"], "motion")

        # Health in the API, with the device's model and serial; no password anywhere.
        def health():
            status, data = self.d.get_json("/api/v1/instances")
            return {i["name"]: i for i in data["instances"]}

        ok = wait_until(lambda: "4H01D66PAJ2FA64" in json.dumps(health()["cam"]), 10)
        self.assertTrue(ok, json.dumps(health()["cam"]))
        text = json.dumps(health())
        self.assertIn("connected", json.dumps(health()["cam"]))
        self.assertIn("connected", json.dumps(health()["vto"]))
        self.assertNotIn("secret", text)
        # Health changes were published as device events.
        devices = [e for e in read_jsonl(log) if e.get("type") == "device" and e["source"] == "cam"]
        self.assertTrue(devices, "no device event in the log")

        # Actions through the control API.
        status, body = self.d.get("/api/v1/instances/cam/actions/snapshot?channel=1")
        self.assertEqual(status, 200, body)
        self.assertIn("path", body)
        status, body = self.d.get("/api/v1/instances/vto/actions/open_door?channel=1")
        self.assertEqual(status, 200, body)
        self.assertEqual(len(self.sim.requests("accessControl.openDoor")), 1)

        self.stop_cleanly(self.d)
        self.assertNotIn("secret", self.d.log())


if __name__ == "__main__":
    unittest.main()
