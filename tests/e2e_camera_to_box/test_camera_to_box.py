"""End to end across modules, the way a user wires them: a Hikvision camera
(hik_sim.py replaying real capture parts) -> the real daemon (hikvision module)
-> routes -> Jeedom in auto mode (commands created as the alarm appears, named
like the Hikvision Event plugin) and an eeDomus peripheral set on every
start/stop. Issue 7 point 11."""
import argparse
import os
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [os.path.join(ROOT, "tests", "e2e"), os.path.join(ROOT, "modules", "jeedom", "tests"),
                os.path.join(ROOT, "modules", "eedomus", "tests")]

import eedomus_sim  # noqa: E402
import jeedom_sim  # noqa: E402
from daemon_harness import Daemon, SimProcess, wait_until  # noqa: E402

HIK_SIM = os.path.join(ROOT, "modules", "hikvision", "tests", "hik_sim.py")
CORE_KEY = "core-key-camera-to-box-0123"
EE_SECRET = "ee-secret-camera-to-box-0123"

CONFIG = """
[daemon]
state_dir = "@DIR@/state"

[daemon.api]
listen = "127.0.0.1:@PORT@"

[instance.garden]
module = "hikvision"
url = "http://127.0.0.1:{hport}"
user = "admin"
password = "${{HIK_PASSWORD}}"
image_dir = "@DIR@/images"

[instance.jeedom]
module = "jeedom"
url = "http://127.0.0.1:{jport}"
apikey = "{apikey}"
timezone = "UTC"
timeout = "2s"

[instance.box]
module = "eedomus"
url = "http://127.0.0.1:{eport}"
api_user = "ee-user"
api_secret = "{secret}"
timezone = "UTC"
timeout = "2s"

[[route]]
when = {{ source = "garden", type = "intrusion" }}
to = "jeedom"
action = "auto"

[[route]]
when = {{ source = "garden", type = "intrusion", state = ["start", "stop"] }}
to = "box"
action = "set"
params = {{ periph_id = "5678", value = "{{state}}" }}
"""


def HikSim(*args):
    return SimProcess(HIK_SIM, *args, lifetime=90)


class CameraToBox(unittest.TestCase):
    def setUp(self):
        self.jeedom = jeedom_sim.Simulator(argparse.Namespace(
            port=0, control_port=0, core_key=CORE_KEY, virtual_key="virtual-key", prefix="",
            bad_key_delay=0.2, ban_after=6, ban_seconds=600.0, whitelist=[]))
        self.ee = eedomus_sim.Simulator(argparse.Namespace(
            port=0, mode="local", codes="alternate", user="ee-user", secret=EE_SECRET))
        self.addCleanup(self.jeedom.set_down, True)
        self.addCleanup(self.ee.set_down, True)

    def test_a_line_crossing_reaches_jeedom_auto_commands_and_eedomus(self):
        # fielddetection active (region 1, human) with a picture, then inactive.
        cam = HikSim("--scenario", "smart", "--auth", "digest-md5", "--stream-seconds", "20")
        self.addCleanup(cam.stop)
        d = Daemon(CONFIG.format(hport=cam.port, jport=self.jeedom.port, eport=self.ee.port,
                                 apikey=CORE_KEY, secret=EE_SECRET), env={"HIK_PASSWORD": "sim-password"})
        self.addCleanup(d.kill)
        d.start()

        def command(name):
            with self.jeedom.j.lock:
                return next((dict(c) for c in self.jeedom.j.cmds.values() if c["name"] == name), None)

        name = "Chan 1 fielddetection Region 1 human"
        # Created on first sight, set to 1 by the start, back to 0 by the stop.
        self.assertTrue(wait_until(lambda: command(name) and command(name)["value"] == "0", timeout=30),
                        "no '%s' at 0 in Jeedom: %s\n%s" % (name, self.jeedom.j.cmds, d.log()[-3000:]))
        with self.jeedom.j.lock:
            values = [h["value"] for h in self.jeedom.j.history if h["id"] == command(name)["id"]]
        self.assertEqual(values[:2], ["1", "0"], values)
        # The same alarm's start and stop on the eeDomus peripheral, in order.
        self.assertTrue(wait_until(lambda: len(self.ee.st.history) >= 2, timeout=15), d.log()[-2000:])
        self.assertEqual([(h["periph_id"], h["value"]) for h in self.ee.st.history[:2]],
                         [("5678", "start"), ("5678", "stop")])
        # No secret of any of the three peers reaches the log.
        d.stop()
        for secret in (CORE_KEY, EE_SECRET, "sim-password"):
            self.assertNotIn(secret, d.log())


if __name__ == "__main__":
    unittest.main()
