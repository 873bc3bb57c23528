"""End-to-end tests of the daemon: demo source -> file log, control API,
reload on SIGHUP, clean stop on SIGTERM, systemd readiness, bad input."""
import json
import os
import re
import signal
import socket
import threading
import time
import unittest
import urllib.request

from daemon_harness import (TEST_MODULES, Daemon, DaemonTestCase, built_modules, config, file_log, instance,
                            port_in_use, read_jsonl, run_cli, wait_until)


def demo_config(interval="100ms", log="events.log", token=""):
    """The demo source to a file log; `token`: the control API's token line."""
    return config(instance("demo", "demo", 'interval = "%s"' % interval), file_log("demo", path=log), api=token)


class DemoToFileLog(DaemonTestCase):
    def setUp(self):
        self.d = self.start_daemon(demo_config())

    def test_events_reach_the_file_log_with_the_documented_fields(self):
        log = self.d.path("events.log")
        events = wait_until(lambda: [e for e in read_jsonl(log) if e["source"] == "demo"][:4] if len(read_jsonl(log)) >= 4 else None)
        self.assertTrue(events, self.d.log())
        for e in events:
            self.assertEqual(set(e) - {"attachment"},
                             {"id", "time", "received", "source", "module", "type", "code", "channel", "state", "attrs"})
            self.assertEqual(e["module"], "demo")
            self.assertIsInstance(e["channel"], int)
            self.assertIn(e["state"], ("start", "stop", "pulse"))
            self.assertRegex(e["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
            self.assertIsInstance(e["attrs"], dict)
        ids = [e["id"] for e in events]
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(len(set(ids)), len(ids))

    def test_emit_action_by_query_and_by_json_body(self):
        status, body = self.d.get("/api/v1/instances/demo/actions/emit?type=doorbell&code=CallNoAnswered&channel=1&state=pulse&caller=e2e")
        self.assertEqual(status, 200, body)
        status, body = self.d.request("POST", "/api/v1/instances/demo/actions/emit",
                                      body={"type": "door", "code": "DoorStatus", "channel": "2", "state": "start"})
        self.assertEqual(status, 200, body)
        log = self.d.path("events.log")
        got = wait_until(lambda: [e for e in read_jsonl(log) if e["type"] in ("doorbell", "door")] if len(
            [e for e in read_jsonl(log) if e["type"] in ("doorbell", "door")]) >= 2 else None)
        self.assertTrue(got, self.d.log())
        bell = next(e for e in got if e["type"] == "doorbell")
        self.assertEqual(bell["code"], "CallNoAnswered")
        self.assertEqual(bell["attrs"].get("caller"), "e2e")
        door = next(e for e in got if e["type"] == "door")
        self.assertEqual(door["channel"], 2)
        self.assertEqual(door["state"], "start")

    def test_unknown_instance_and_action_are_404_with_a_clear_error(self):
        status, body = self.d.get("/api/v1/instances/nope/actions/emit")
        self.assertEqual(status, 404)
        self.assertIn("no instance named 'nope'", json.loads(body)["error"])
        status, body = self.d.get("/api/v1/instances/demo/actions/fly")
        self.assertEqual(status, 404)
        self.assertIn("has no action 'fly'", json.loads(body)["error"])

    def test_instances_and_metrics(self):
        status, data = self.d.get_json("/api/v1/instances")
        self.assertEqual(status, 200)
        names = {i["name"]: i for i in data["instances"]}
        self.assertEqual(set(names), {"demo", "events"})
        self.assertEqual(names["demo"]["module"], "demo")
        self.assertIn("sink", names["events"])
        wait_until(lambda: self.d.get_json("/api/v1/instances")[1]["instances"][0]["events_in"] > 0)
        status, text = self.d.get("/metrics")
        self.assertEqual(status, 200)
        self.assertRegex(text, r'passerelle_events_in_total\{instance="demo"\} [1-9]')
        self.assertIn('passerelle_route_matches_total{route="0",to="events"}', text)
        self.assertIn('passerelle_instance_up{instance="demo"', text)
        self.assertRegex(text, r'passerelle_outbox_commits_total [1-9]')
        self.assertIn("passerelle_outbox_durable 1", text)
        self.assertIn('passerelle_outbox_delivered_total{instance="events"}', text)
        # Prometheus text format: a family's samples come together, after its TYPE line.
        seen, typed, current = [], set(), None
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                typed.add(line.split()[2])
            elif line and not line.startswith("#"):
                family = re.match(r"[a-z_:][a-z0-9_:]*", line).group(0)
                if family != current:
                    self.assertNotIn(family, seen, "family %s split in two runs" % family)
                    seen.append(family)
                    current = family
        core = [f for f in seen if not f.startswith("passerelle_module_")]
        self.assertEqual([f for f in core if f not in typed], [])

    def test_server_sent_events_filtered_by_type(self):
        received = []

        def listen():
            req = urllib.request.Request(self.d.url("/api/v1/events?type=doorbell"))
            with urllib.request.urlopen(req, timeout=10) as resp:
                # The demo publishes doorbells of its own too: read until both of ours came.
                for raw in resp:
                    line = raw.decode().strip()
                    if line.startswith("data:"):
                        received.append(json.loads(line[5:]))
                        codes = {e["code"] for e in received}
                        if {"SSE0", "SSE1"} <= codes or len(received) > 500:
                            return

        t = threading.Thread(target=listen, daemon=True)
        t.start()
        time.sleep(0.3)
        for i in range(2):
            self.d.get("/api/v1/instances/demo/actions/emit?type=doorbell&code=SSE%d" % i)
        t.join(timeout=10)
        self.assertGreaterEqual(len(received), 2)
        self.assertTrue(all(e["type"] == "doorbell" for e in received))
        self.assertEqual({"SSE0", "SSE1"}, {e["code"] for e in received if e["code"].startswith("SSE")})


class Lifecycle(DaemonTestCase):
    def test_sigterm_stops_cleanly_within_5s_and_flushes(self):
        d = self.start_daemon(demo_config(interval="20ms"))
        wait_until(lambda: len(read_jsonl(d.path("events.log"))) >= 5)
        code, took = d.stop()
        self.assertEqual(code, 0, d.log())
        self.assertLess(took, 5.0)
        self.assertIn("stopped cleanly", d.log())
        # Every line written is complete JSON (flushed, not torn).
        with open(d.path("events.log")) as f:
            for line in f:
                json.loads(line)

    def test_ids_keep_increasing_across_restarts(self):
        d = self.start_daemon(demo_config(interval="20ms"))
        wait_until(lambda: len(read_jsonl(d.path("events.log"))) >= 3)
        self.assertEqual(d.stop()[0], 0)
        first = max(e["id"] for e in read_jsonl(d.path("events.log")))
        os.rename(d.path("events.log"), d.path("events.old"))
        d.start()
        wait_until(lambda: len(read_jsonl(d.path("events.log"))) >= 1)
        d.stop()
        second = min(e["id"] for e in read_jsonl(d.path("events.log")))
        self.assertGreater(second, first)

    def test_sighup_reload_good_then_bad_config(self):
        d = self.start_daemon(demo_config(interval="50ms"))
        try:
            wait_until(lambda: len(read_jsonl(d.path("events.log"))) >= 1)
            # Good: the sink's path changes, so only the sink restarts; the demo keeps running.
            d.write_config(demo_config(interval="50ms", log="moved.log"))
            d.signal(signal.SIGHUP)
            self.assertTrue(wait_until(lambda: len(read_jsonl(d.path("moved.log"))) >= 2), d.log())
            self.assertIn("reloaded: 1 instance(s) restarted or added", d.log())
            # Bad: refused with its error, the running config is kept.
            d.write_config(demo_config(interval="50ms", log="moved.log") + '\n[instance.oops]\nmodule = "nope"\n')
            d.signal(signal.SIGHUP)
            self.assertTrue(wait_until(lambda: "reload refused" in d.log()), d.log())
            self.assertIn("instance.oops.module", d.log())
            before = len(read_jsonl(d.path("moved.log")))
            self.assertTrue(wait_until(lambda: len(read_jsonl(d.path("moved.log"))) > before + 2), d.log())
            self.assertEqual(d.get("/healthz")[0], 200)
        finally:
            self.assertEqual(d.stop()[0], 0)

    def test_sd_notify_ready(self):
        sock_path = os.path.join(Daemon(demo_config()).dir, "notify.sock")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        srv.bind(sock_path)
        srv.settimeout(15)
        d = self.start_daemon(demo_config(), env={"NOTIFY_SOCKET": sock_path}, wait_ready=False)
        try:
            msg = srv.recv(1024).decode()
            self.assertEqual(msg, "READY=1")
        finally:
            d.stop()
            srv.close()


class Auth(DaemonTestCase):
    def test_token_by_header_and_query(self):
        d = self.start_daemon(demo_config(token='token = "s3cret-token-value"'))
        try:
            self.assertEqual(d.get("/healthz")[0], 200)
            self.assertEqual(d.get("/api/v1/instances")[0], 401)
            self.assertEqual(d.get("/api/v1/instances?token=wrong")[0], 401)
            self.assertEqual(d.get("/api/v1/instances?token=s3cret-token-value")[0], 200)
            self.assertEqual(d.get("/api/v1/instances", headers={"Authorization": "Bearer s3cret-token-value"})[0], 200)
            self.assertEqual(d.get("/api/v1/instances/demo/actions/emit?type=doorbell&token=s3cret-token-value")[0], 200)
        finally:
            d.stop()
        self.assertNotIn("s3cret-token-value", d.log())


class BadInput(unittest.TestCase):
    def test_check_reports_errors_with_positions_and_exit_2(self):
        d = Daemon(demo_config() + '\n[instance.cam]\nmodule = "demo"\nintervall = "5s"\n')
        code, out, err = run_cli("check", "-c", d.config_path)
        self.assertEqual(code, 2, out + err)
        self.assertRegex(out, r"passerelle\.toml:\d+:\d+: instance\.cam\.intervall: .*did you mean 'interval'")
        good = Daemon(demo_config())
        code, out, err = run_cli("check", "-c", good.config_path)
        self.assertEqual(code, 0, out + err)

    def test_missing_config_file(self):
        code, out, err = run_cli("run", "-c", "/nonexistent/passerelle.toml")
        self.assertEqual(code, 2)
        self.assertIn("/nonexistent/passerelle.toml", out + err)

    def test_port_in_use_is_a_clear_error(self):
        with port_in_use() as port:
            d = Daemon(demo_config(), port=port)
            d.start(wait_ready=False)
            code = d.proc.wait(timeout=15)
            self.assertEqual(code, 2)
            self.assertIn("in use", d.log())

    def test_non_loopback_without_token_is_refused(self):
        d = Daemon(demo_config().replace('listen = "127.0.0.1:@PORT@"', 'listen = "0.0.0.0:@PORT@"'))
        d.start(wait_ready=False)
        self.assertEqual(d.proc.wait(timeout=15), 2)
        self.assertIn("token", d.log())

    def test_unwritable_state_dir(self):
        d = Daemon(demo_config())
        with open(d.path("afile"), "w") as f:
            f.write("x")
        d.write_config(demo_config().replace('state_dir = "@DIR@/state"', 'state_dir = "@DIR@/afile/state"'))
        d.start(wait_ready=False)
        self.assertEqual(d.proc.wait(timeout=15), 2)
        self.assertIn("state_dir", d.log())


# The demo source to a file log, and an instance of the relay test module.
RELAY_CONFIG = config(instance("demo", "demo", 'interval = "1h"'), instance("relay", "relay"), file_log("demo"),
                      modules=(built_modules(), TEST_MODULES))


@unittest.skipUnless(TEST_MODULES, "needs the relay test module")
class ModuleRunsAnotherInstancesAction(DaemonTestCase):
    """ABI 1.1 host invoke: what MQTT commands and Jeedom listen mode use."""

    def setUp(self):
        self.d = self.start_daemon(RELAY_CONFIG)

    def forward(self, instance, action, params):
        status, body = self.d.request("POST", "/api/v1/instances/relay/actions/forward",
                                      body={"instance": instance, "action": action, "params": json.dumps(params)})
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def test_the_target_action_runs_and_its_result_comes_back(self):
        answer = self.forward("demo", "emit", {"type": "doorbell", "state": "pulse", "who": "relay"})
        self.assertEqual(answer["status"], 0, answer)
        self.assertEqual(json.loads(answer["result"]), {"published": True})
        events = wait_until(lambda: [e for e in read_jsonl(self.d.path("events.log"))
                                     if e["type"] == "doorbell" and e["attrs"].get("who") == "relay"])
        self.assertTrue(events, self.d.log())

    def test_unknown_instance_and_action_are_reported_to_the_module(self):
        answer = self.forward("nosuch", "emit", {})
        self.assertNotEqual(answer["status"], 0)
        self.assertIn("no instance named 'nosuch'", answer["result"])
        answer = self.forward("demo", "nosuch", {})
        self.assertNotEqual(answer["status"], 0)
        self.assertIn("has no action 'nosuch'", answer["result"])

    def test_a_bad_param_of_the_target_comes_back_as_its_error(self):
        answer = self.forward("demo", "emit", {"type": "Bad Type!"})
        self.assertNotEqual(answer["status"], 0)
        self.assertIn("type", answer["result"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
