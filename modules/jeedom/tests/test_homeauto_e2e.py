"""End to end: the real daemon, the demo source's `emit` action as the event
source, routes to the jeedom and eedomus modules, and the Jeedom / eeDomus
simulators (run in this process). Outage, SIGKILL with a backlog, wrong key,
auto mode across a restart."""
import argparse
import calendar
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jeedom_sim  # noqa: E402
import eedomus_sim  # noqa: E402
from daemon_harness import Daemon, config, read_jsonl, wait_until  # noqa: E402

CORE_KEY = "core-key-e2e-0123456789"
EE_SECRET = "ee-secret-e2e-0123456789"

# str.format templates (the TOML braces doubled), after the harness's [daemon] and [daemon.api].
# The jeedom instance, on the simulator (jport, apikey).
JEEDOM = """
[instance.jeedom]
module = "jeedom"
url = "http://127.0.0.1:{jport}"
apikey = "{apikey}"
timezone = "UTC"
timeout = "2s"
"""

CONFIG = config("""
[instance.cam]
module = "demo"
interval = "1h"
""", JEEDOM, """
[instance.box]
module = "eedomus"
url = "http://127.0.0.1:{eport}"
api_user = "ee-user"
api_secret = "{secret}"
timezone = "UTC"
timeout = "2s"

[[route]]
when = {{ source = "cam", type = "motion" }}
to = "jeedom"
action = "event"
params = {{ id = "10", value = "{{attrs.seq}}" }}

[[route]]
when = {{ source = "cam", type = "doorbell" }}
to = "box"
action = "set"
params = {{ periph_id = "5678", value = "{{attrs.seq}}" }}

[[route]]
when = {{ source = "cam", type = "intrusion" }}
to = "jeedom"
action = "auto"
""")


LISTEN_CONFIG = config(JEEDOM + """listen = ["10"]
listen_poll = "5s"
""", """
[instance.log]
module = "filelog"
path = "@DIR@/events.jsonl"

[[route]]
when = {{ source = "jeedom", type = "command" }}
to = "log"

# A button pressed in Jeedom (info command 10 set to 1) runs its siren (action command 11).
[[route]]
when = {{ source = "jeedom", type = "command", attrs.cmd_id = "10", attrs.value = "1" }}
to = "jeedom"
action = "exec"
params = {{ id = "11", title = "from passerelle" }}
""")


def jeedom_args(**kw):
    a = dict(port=0, control_port=0, core_key=CORE_KEY, virtual_key="virtual-e2e", prefix="",
             bad_key_delay=0.2, ban_after=6, ban_seconds=600.0, whitelist=[])
    a.update(kw)
    return argparse.Namespace(**a)


def eedomus_args():
    return argparse.Namespace(port=0, mode="local", codes="alternate", user="ee-user", secret=EE_SECRET)


def utc_text(t):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))


def parse_utc(text):
    return calendar.timegm(time.strptime(text, "%Y-%m-%d %H:%M:%S"))


class HomeAuto(unittest.TestCase):
    def setUp(self):
        self.jeedom = jeedom_sim.Simulator(jeedom_args())
        self.ee = eedomus_sim.Simulator(eedomus_args())
        self.daemons = []

    def tearDown(self):
        for d in self.daemons:
            d.kill()
        self.jeedom.set_down(True)
        self.ee.set_down(True)

    def daemon(self, apikey=CORE_KEY):
        d = Daemon(CONFIG.format(jport=self.jeedom.port, eport=self.ee.port, apikey=apikey, secret=EE_SECRET))
        self.daemons.append(d)
        return d.start()

    def emit(self, d, type_, seq, state="pulse", **attrs):
        q = "type=%s&state=%s&seq=%s" % (type_, state, seq) + "".join("&%s=%s" % kv for kv in attrs.items())
        status, body = d.get("/api/v1/instances/cam/actions/emit?" + q)
        self.assertEqual(status, 200, body)

    def history(self):
        with self.jeedom.j.lock:
            return [dict(h) for h in self.jeedom.j.history]

    def test_routes_reach_jeedom_and_eedomus(self):
        d = self.daemon()
        before = int(time.time())
        self.emit(d, "motion", 1, "start")
        self.emit(d, "doorbell", 7)
        self.assertTrue(wait_until(lambda: len(self.history()) >= 1 and len(self.ee.st.history) >= 1), d.log())
        h = self.history()[0]
        self.assertEqual((h["id"], h["value"]), ("10", "1"))
        self.assertTrue(before <= parse_utc(h["datetime"]) <= time.time())
        e = self.ee.st.history[0]
        self.assertEqual((e["periph_id"], e["value"]), ("5678", "7"))
        self.assertTrue(before <= parse_utc(e["value_date"]) <= time.time())
        # The secrets never reach the daemon's log or the API.
        d.stop()
        self.assertNotIn(CORE_KEY, d.log())
        self.assertNotIn(EE_SECRET, d.log())

    def test_jeedom_down_then_back_every_event_in_order_with_its_time(self):
        d = self.daemon()
        self.jeedom.set_down(True)
        windows = []
        for seq in range(1, 5):
            t0 = int(time.time())
            self.emit(d, "motion", seq)
            windows.append((t0, time.time()))
            time.sleep(1.05)
        self.assertTrue(wait_until(lambda: d.instance("jeedom")["sink"]["depth"] >= 1, timeout=5), d.log())
        self.jeedom.set_down(False)
        self.assertTrue(wait_until(lambda: len(self.history()) >= 4, timeout=90), d.log())
        h = self.history()
        self.assertEqual([x["value"] for x in h], ["1", "2", "3", "4"])
        for x, (lo, hi) in zip(h, windows):
            self.assertTrue(lo <= parse_utc(x["datetime"]) <= hi, (x, lo, hi))
            # Delivered later than it happened: the time is the event's, not the delivery's.
        self.assertLess(parse_utc(h[0]["datetime"]), h[-1]["t"] - 2)

    def test_sigkill_with_a_backlog_delivers_after_restart(self):
        d = self.daemon()
        self.jeedom.set_down(True)
        for seq in range(1, 4):
            self.emit(d, "motion", seq)
        # depth counts jobs accepted but not yet committed too: wait for the disk.
        self.assertTrue(wait_until(lambda: d.instance("jeedom")["sink"]["depth"] >= 3
                                   and d.instance("jeedom")["sink"]["uncommitted"] == 0, timeout=5), d.log())
        d.kill()
        self.jeedom.set_down(False)
        d.start()
        self.assertTrue(wait_until(lambda: len(self.history()) >= 3, timeout=60), d.log())
        self.assertEqual([x["value"] for x in self.history()], ["1", "2", "3"])

    def test_wrong_key_is_auth_failed_without_hammering(self):
        d = self.daemon(apikey="wrong-key-e2e-4242")
        for seq in range(1, 4):
            self.emit(d, "motion", seq)
        self.assertTrue(wait_until(lambda: d.instance("jeedom")["sink"]["health"] == "auth_failed", timeout=15),
                        d.log())
        inst = d.instance("jeedom")
        self.assertEqual(inst["health"], "auth_failed")
        self.assertNotIn("wrong-key-e2e-4242", str(inst))
        with self.jeedom.j.lock:
            self.jeedom.j.requests.clear()
        time.sleep(5)
        with self.jeedom.j.lock:
            n = len(self.jeedom.j.requests)
        self.assertLessEqual(n, 1, "the sink kept asking Jeedom with a wrong key")
        self.assertEqual(self.history(), [])
        d.stop()
        self.assertNotIn("wrong-key-e2e-4242", d.log())

    def test_banned_ip_pauses_the_sink_for_the_ban_not_a_minute(self):
        # Jeedom answers 404 to everything from a banned IP (10 min by default).
        with self.jeedom.j.lock:
            self.jeedom.j.force_banned = True
        d = self.daemon()
        self.emit(d, "motion", 1)
        self.assertTrue(wait_until(lambda: d.instance("jeedom")["sink"]["health"] == "auth_failed", timeout=15),
                        d.log())
        # The kernel took the module's hint: paused 600 s, not its first auth backoff (60 s).
        self.assertTrue(wait_until(lambda: "paused, trying again in 600 s" in d.log(), timeout=5), d.log())
        inst = d.instance("jeedom")
        self.assertEqual(inst["health"], "auth_failed")
        # What the user reads: the instance's health detail is plain text; the sink's last
        # error carries the kernel's hint first, then the same text.
        self.assertTrue(inst["detail"].startswith("Jeedom answers HTTP 404"), inst)
        self.assertIn("next try in 10 min", inst["detail"])
        self.assertIn("banned", inst["sink"]["last_error"])
        with self.jeedom.j.lock:
            self.jeedom.j.requests.clear()
            self.jeedom.j.force_banned = False
        time.sleep(3)
        with self.jeedom.j.lock:
            n = len(self.jeedom.j.requests)
        self.assertEqual(n, 0, "the sink asked a Jeedom that banned it again within the ban")
        self.assertEqual(self.history(), [])
        d.stop()
        self.assertNotIn(CORE_KEY, d.log())

    def test_auto_mode_creates_once_and_reuses_after_restart(self):
        d = self.daemon()
        self.emit(d, "intrusion", 1, "start", region="2", target="human", code="fielddetection")
        self.emit(d, "intrusion", 2, "stop", region="2", target="human", code="fielddetection")
        name = "Chan 1 fielddetection Region 2 human"

        def alarm():
            with self.jeedom.j.lock:
                return next((dict(c) for c in self.jeedom.j.cmds.values() if c["name"] == name), None)

        self.assertTrue(wait_until(lambda: alarm() and alarm()["value"] == "0", timeout=15), d.log())
        self.assertEqual(d.stop()[0], 0)
        with self.jeedom.j.lock:
            self.jeedom.j.requests.clear()
            cmds_before = len(self.jeedom.j.cmds)
        d.start()
        self.emit(d, "intrusion", 3, "start", region="2", target="human", code="fielddetection")
        self.assertTrue(wait_until(lambda: alarm()["value"] == "1", timeout=15), d.log())
        with self.jeedom.j.lock:
            methods = [r["json"]["method"] for r in self.jeedom.j.requests if r.get("json")]
            self.assertEqual(len(self.jeedom.j.cmds), cmds_before)
        self.assertNotIn("cmd::save", methods)
        self.assertNotIn("eqLogic::save", methods)
        self.assertNotIn("eqLogic::byType", methods)  # the mapping came from the state dir


    def test_listen_turns_a_jeedom_change_into_a_routed_action(self):
        d = Daemon(LISTEN_CONFIG.format(jport=self.jeedom.port, apikey=CORE_KEY))
        self.daemons.append(d)
        d.start()

        def long_polling():
            with self.jeedom.j.lock:
                return any(r.get("json") and r["json"].get("method") == "event::changes"
                           and "longPolling" in r["json"].get("params", {}) for r in self.jeedom.j.requests)

        self.assertTrue(wait_until(long_polling, timeout=10), d.log())
        with self.jeedom.j.lock:
            self.jeedom.j.event("10", "1", None)  # the user presses the button
        self.assertTrue(wait_until(lambda: len(self.jeedom.j.execs) >= 1, timeout=10), d.log())
        self.assertEqual(self.jeedom.j.execs[0]["id"], "11")
        self.assertEqual(self.jeedom.j.execs[0]["options"].get("title"), "from passerelle")
        with self.jeedom.j.lock:
            self.jeedom.j.event("10", "0", None)  # released: logged, no second exec
        path = d.path("events.jsonl")
        self.assertTrue(wait_until(lambda: os.path.exists(path) and len(read_jsonl(path)) >= 2, timeout=10), d.log())
        events = read_jsonl(path)
        self.assertEqual([(e["type"], e["attrs"]["cmd_id"], e["attrs"]["value"]) for e in events],
                         [("command", "10", "1"), ("command", "10", "0")])
        self.assertEqual(len(self.jeedom.j.execs), 1)
        self.assertEqual(d.instance("jeedom")["health"], "ok")
        d.stop()
        self.assertNotIn(CORE_KEY, d.log())


if __name__ == "__main__":
    unittest.main()
