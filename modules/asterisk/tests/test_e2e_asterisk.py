"""End-to-end: the real daemon with asterisk.so against ami_sim.py (the real
captures replayed), events to a file log, actions through the control API."""
import json
import os
import time
import unittest

from daemon_harness import Daemon, config, file_log, instance, read_jsonl, wait_until
import ami_sim

FIXTURES = os.path.join(os.environ.get("PASSERELLE_SHARED_DIR", os.path.join(os.path.dirname(__file__), "../../../../shared")),
                        "fixtures", "asterisk")
TOKEN = "e2e-token-4f1c"

# The pbx instance (the simulator's AMI) and its events to a file log; a %-template
# (token, ami_port, ping).
PBX = """
host = "127.0.0.1"
port = %(ami_port)d
user = "passerelle"
secret = "${AMI_SECRET}"
context = "test"
channel_tech = "SIP"
caller_id = '"eedomus" <101>'
timeout = "20s"
message_tech = "sip"
message_from = '"eedomus" <sip:eedomus@127.0.0.1>'
ping_interval = "%(ping)s"
"""
CONFIG = config(instance("pbx", "asterisk", PBX), file_log("pbx"), api='token = "%(token)s"')


def fields_dict(fields):
    out = {}
    for k, v in fields:
        out.setdefault(k, v)
    return out


def client_actions(version, name):
    """The Action packets of a captured client.txt, as dicts (ActionID dropped)."""
    with open(os.path.join(FIXTURES, "ami-" + version, name + ".client.txt"), "rb") as f:
        text = f.read().decode().replace("\r\n", "\n")
    out = []
    for block in text.split("\n\n"):
        d = fields_dict(ami_sim.fields_of(block.encode()))
        if d:
            d.pop("ActionID", None)
            out.append(d)
    return out


class AsteriskE2E(unittest.TestCase):
    def start(self, secret="Amisecret42", ping="20s", edit=None):
        self.sim = ami_sim.Sim(fixtures=FIXTURES)
        self.addCleanup(self.sim.close)
        config = CONFIG % {"token": TOKEN, "ami_port": self.sim.port, "ping": ping}
        for old, new in (edit or {}).items():
            self.assertIn(old, config)
            config = config.replace(old, new)
        self.d = Daemon(config, env={"AMI_SECRET": secret})
        self.d.start()
        self.addCleanup(self.d.kill)

    def health(self):
        inst = self.d.instance("pbx", token=TOKEN)
        self.assertIsNotNone(inst, "/api/v1/instances did not answer 200 with the pbx instance")
        h = inst.get("health") or {}
        return h if isinstance(h, dict) else {"state": h}

    def wait_health(self, state, timeout=10):
        return wait_until(lambda: self.health().get("state") == state, timeout=timeout)

    def events(self):
        return read_jsonl(self.d.path("events.log"))

    def test_inbound_call_is_one_call_start_stop_with_the_caller(self):
        self.start()
        self.assertTrue(self.wait_health("connected"), self.d.log())
        self.sim.inbound_call()
        ok = wait_until(lambda: [e for e in self.events() if e["type"] == "call" and e["state"] == "stop"], timeout=10)
        self.assertTrue(ok, self.d.log())
        calls = [e for e in self.events() if e["type"] == "call"]
        starts = [e for e in calls if e["state"] == "start"]
        stops = [e for e in calls if e["state"] == "stop"]
        self.assertEqual(len(starts), 1)
        self.assertEqual(len(stops), 1)
        self.assertEqual(starts[0]["attrs"]["caller"], "0612345678")
        self.assertEqual(starts[0]["module"], "asterisk")
        self.assertEqual(stops[0]["attrs"]["cause"], "16")
        dtmf = [e for e in self.events() if e["type"] == "dtmf"]
        self.assertEqual([e["attrs"]["digit"] for e in dtmf], ["5"])
        self.assertNotIn("Amisecret42", self.d.log())

    def test_originate_and_message_send_exactly_the_captured_actions(self):
        self.start()
        self.assertTrue(self.wait_health("connected"), self.d.log())
        status, body = self.d.get("/api/v1/instances/pbx/actions/originate?from=100&to=101&token=" + TOKEN, timeout=30)
        self.assertEqual(status, 200, body)
        result = json.loads(body)
        self.assertEqual(result.get("outcome"), "answered", body)
        self.assertIs(result.get("to_answered"), True, body)
        sent = [fields_dict(f) for f in self.sim.actions("Originate")]
        self.assertEqual(len(sent), 1)
        sent[0].pop("ActionID")
        expected = [a for a in client_actions("20.20.1", "17-originate-sip100-then-101") if a.get("Action") == "Originate"][0]
        self.assertEqual(sent[0], expected)

        status, body = self.d.get("/api/v1/instances/pbx/actions/message?to=100&text=Alerte%20cuve&token=" + TOKEN)
        self.assertEqual(status, 200, body)
        msg = fields_dict(self.sim.actions("MessageSend")[0])
        msg.pop("ActionID")
        expected = [a for a in client_actions("20.20.1", "15-messagesend") if a.get("Action") == "MessageSend"][0]
        self.assertEqual(msg, expected)

        status, body = self.d.get("/api/v1/instances/pbx/actions/message?to=999&text=x&token=" + TOKEN)
        self.assertNotEqual(status, 200)
        self.assertIn("Message failed to send.", json.loads(body)["error"])
        status, body = self.d.get("/api/v1/instances/pbx/actions/originate?from=100&to=999&token=" + TOKEN)
        self.assertNotEqual(status, 200)
        self.assertIn("Extension does not exist.", json.loads(body)["error"])
        # The call itself appears as call events too.
        self.assertTrue(wait_until(lambda: [e for e in self.events() if e["type"] == "call" and e["state"] == "stop"], timeout=10))

    def test_originate_failures_are_errors_naming_the_outcome_before_the_api_gives_up(self):
        # Capture 11's lab (Local channels, context test, extension 700). The API
        # gives up after 6 s here; the ring time is 3 s: a no-answer must come back
        # as the module's no_answer error, not as the API's 504.
        self.start(edit={'channel_tech = "SIP"': 'channel_tech = "Local"', 'timeout = "20s"': 'timeout = "3s"',
                         'token = "%s"' % TOKEN: 'token = "%s"\naction_timeout = "6s"' % TOKEN})
        self.assertTrue(self.wait_health("connected"), self.d.log())
        url = "/api/v1/instances/pbx/actions/originate?from=%s&to=700&token=" + TOKEN
        for frm, outcome in (("400", "busy"), ("999", "failed"), ("300", "no_answer")):
            started = time.monotonic()
            status, body = self.d.get(url % frm, timeout=20)
            took = time.monotonic() - started
            self.assertEqual(status, 502, body)
            self.assertIn("failed: %s (Reason" % outcome, json.loads(body)["error"], body)
            if outcome == "no_answer":
                self.assertGreater(took, 2.5)  # it rang for the 3 s Timeout
                self.assertLess(took, 6)
        sent = [fields_dict(f) for f in self.sim.actions("Originate")]
        self.assertEqual([(a["Channel"], a["Timeout"], a["Async"]) for a in sent],
                         [("Local/400@test", "3000", "true"), ("Local/999@test", "3000", "true"), ("Local/300@test", "3000", "true")])

    def test_wrong_secret_is_auth_failed_without_a_tight_loop(self):
        self.start(secret="not-the-secret")
        self.assertTrue(self.wait_health("auth_failed", timeout=10), self.d.log())
        time.sleep(4)
        self.assertEqual(len(self.sim.logins), 1)  # next attempt only after ~60 s
        self.assertFalse(any(ok for _, ok in self.sim.logins))
        self.assertNotIn("not-the-secret", self.d.log())
        status, body = self.d.get("/api/v1/instances?token=" + TOKEN)
        self.assertNotIn("not-the-secret", body)

    def test_dropped_session_reconnects_and_waiting_actions_fail_cleanly(self):
        self.start(ping="30s")
        self.assertTrue(self.wait_health("connected"), self.d.log())
        self.sim.silent = True
        time.sleep(0.2)

        def drop_later():
            time.sleep(0.7)
            self.sim.silent = False
            self.sim.drop()
        import threading
        t = threading.Thread(target=drop_later)
        t.start()
        started = time.monotonic()
        status, body = self.d.get("/api/v1/instances/pbx/actions/message?to=100&text=x&token=" + TOKEN, timeout=20)
        t.join()
        self.assertEqual(status, 503, body)
        self.assertIn("connection lost", json.loads(body)["error"])
        self.assertLess(time.monotonic() - started, 5)
        self.assertTrue(self.sim.wait_logins(2, timeout=5), "no reconnect within 5 s")
        self.assertTrue(self.wait_health("connected", timeout=5))
        status, body = self.d.get("/api/v1/instances/pbx/actions/message?to=100&text=back&token=" + TOKEN)
        self.assertEqual(status, 200, body)


if __name__ == "__main__":
    unittest.main()
