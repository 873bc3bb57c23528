"""The real daemon with the mqtt module against a real Mosquitto broker:
events through the outbox across a broker outage, commands from the broker,
a wrong password. Loopback only, bounded waits. Standard library only."""
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from daemon_harness import Daemon, SimProcess, built_modules, config, free_port, instance, route, wait_until

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
HERE = os.path.dirname(os.path.abspath(__file__))
HIK_SIM = os.path.normpath(os.path.join(HERE, "../../hikvision/tests/hik_sim.py"))


class Broker:
    """mosquitto on 127.0.0.1:<free port> with a password file, an ACL and persistence."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="passerelle-mqtt-")
        self.port = free_port()
        passwd = os.path.join(self.dir, "passwd")
        open(passwd, "w").close()
        for user, pw in (("passerelle", "s3cret"), ("watcher", "w4tch")):
            subprocess.run(["mosquitto_passwd", "-b", passwd, user, pw], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(os.path.join(self.dir, "acl"), "w") as f:
            # watcher may read everything and send commands; passerelle may write and read its commands.
            f.write("user passerelle\ntopic readwrite #\n\nuser watcher\ntopic read #\ntopic write passerelle/cmd/#\n")
        os.makedirs(os.path.join(self.dir, "data"))
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        with open(self.conf, "w") as f:
            # `user`: run as root, mosquitto would drop to the mosquitto user, who cannot read this temp dir.
            f.write("user %s\n" % pwd.getpwuid(os.getuid()).pw_name)
            f.write("listener %d 127.0.0.1\nallow_anonymous false\npassword_file %s\nacl_file %s\n"
                    "persistence true\npersistence_location %s/\nmax_queued_messages 100000\n"
                    % (self.port, passwd, os.path.join(self.dir, "acl"), os.path.join(self.dir, "data")))
        self.proc = None
        self.start()

    def start(self):
        self.log = open(os.path.join(self.dir, "broker.log"), "ab")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf], stdout=self.log, stderr=self.log)
        if not wait_until(self.listening, timeout=10):
            raise AssertionError("mosquitto did not start")

    def listening(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None
        if getattr(self, "log", None):
            self.log.close()
            self.log = None

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Sub:
    """mosquitto_sub with a persistent QoS 1 session: it gets what was published while it reconnected."""

    def __init__(self, broker, topic, client_id, output=("-v",)):
        """output: how mosquitto_sub prints a message ("-v": "<topic> <payload>")."""
        self.path = os.path.join(broker.dir, client_id + ".out")
        self.out = open(self.path, "wb")
        self.proc = subprocess.Popen(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-u", "watcher", "-P", "w4tch",
             "-q", "1", "-c", "-i", client_id, *output, "-t", topic],
            stdout=self.out, stderr=subprocess.DEVNULL)
        time.sleep(0.3)

    def lines(self):
        with open(self.path, "rb") as f:
            data = f.read().decode("utf-8", "replace")
        out = []
        for line in data.splitlines():
            topic, _, payload = line.partition(" ")
            out.append((topic, payload))
        return out

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=5)
        self.out.close()


def pub(broker, topic, payload, extra=()):
    """payload None: the message comes from `extra` (e.g. -f FILE)."""
    message = [] if payload is None else ["-m", payload]
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-u", "watcher", "-P", "w4tch",
                    "-q", "1", "-t", topic, *message, *extra], check=True, timeout=10)


def mqtt_sink(broker_port, *settings):
    """The mqtt instance: to the test broker as user passerelle, reconnecting fast; `settings`: the others."""
    return instance("mqtt", "mqtt", 'url = "mqtt://127.0.0.1:%d"' % broker_port, 'user = "passerelle"',
                    'daemon_name = "e2e"', 'reconnect_min = "100ms"', 'reconnect_max = "1s"', *settings)


def demo_to_mqtt(broker_port, protocol, auth_retry):
    """Two demo sources, `demo` routed to the broker and allowed to take commands, `other` neither."""
    return config(instance("demo", "demo", 'interval = "1h"'),
                  instance("other", "demo", 'interval = "1h"'),
                  mqtt_sink(broker_port, 'password_file = "@DIR@/mqtt.pass"', 'auth_retry = "%s"' % auth_retry,
                            'allow_commands = ["demo", "ghost"]', 'protocol = "%s"' % protocol),
                  route("mqtt", 'source = "demo"'))


def hikvision_to_mqtt(sim_url, broker_port):
    """A hikvision camera (the simulator) routed to the broker."""
    return config(instance("cam", "hikvision", 'url = "%s"' % sim_url, 'user = "admin"',
                           'password = "${HIK_PASSWORD}"', 'heartbeat_timeout = "5s"'),
                  mqtt_sink(broker_port, 'password = "s3cret"'),
                  route("mqtt", 'source = "cam"'))


class MqttEndToEnd(unittest.TestCase):
    def setUp(self):
        self.broker = Broker()
        self.subs = []
        self.d = None

    def tearDown(self):
        for s in self.subs:
            s.close()
        if self.d:
            self.d.kill()
        self.broker.close()

    def daemon(self, password="s3cret", protocol="3.1.1", auth_retry="60s"):
        self.d = Daemon(demo_to_mqtt(self.broker.port, protocol, auth_retry))
        with open(self.d.path("mqtt.pass"), "w") as f:
            f.write(password)
        return self.d.start()

    def sub(self, topic, client_id, output=("-v",)):
        s = Sub(self.broker, topic, client_id, output)
        self.subs.append(s)
        return s

    def health(self, name="mqtt"):
        inst = self.d.instance(name)
        if inst is None:
            return None
        return inst["health"]["state"] if isinstance(inst.get("health"), dict) else inst.get("health")

    def emit(self, n):
        status, body = self.d.get("/api/v1/instances/demo/actions/emit?type=motion&channel=1&state=start&seq=%d" % n)
        self.assertEqual(status, 200, body)

    def seqs(self, sub):
        return [json.loads(p)["attrs"]["seq"] for t, p in sub.lines() if t == "passerelle/demo/motion/1"]

    def test_every_event_arrives_in_order_across_a_broker_outage(self):
        sub = self.sub("passerelle/demo/#", "e2e-order")
        self.daemon()
        self.assertTrue(wait_until(lambda: self.health() == "connected", 10), self.d.log())
        for i in range(0, 20):
            self.emit(i)
        self.assertTrue(wait_until(lambda: len(self.seqs(sub)) >= 20, 10))
        self.broker.stop()
        self.assertTrue(wait_until(lambda: self.health() in ("reconnecting", "unreachable"), 10), self.d.log())
        for i in range(20, 40):
            self.emit(i)
        time.sleep(0.5)
        self.broker.start()
        for i in range(40, 60):
            self.emit(i)
        self.assertTrue(wait_until(lambda: len(set(self.seqs(sub))) >= 60, 30), (self.seqs(sub), self.d.log()))
        got = self.seqs(sub)
        firsts = []
        for s in got:
            if s not in firsts:
                firsts.append(s)
        self.assertEqual(firsts, [str(i) for i in range(60)], got)
        # Retained state survives for a subscriber that comes later.
        late = self.sub("passerelle/demo/motion/1/state", "e2e-late")
        self.assertTrue(wait_until(lambda: late.lines(), 5))
        self.assertEqual(late.lines()[0][1], "ON")

    def outbox_gauge(self, family):
        _, text = self.d.get("/metrics")
        for line in text.splitlines():
            if line.startswith(family + "{") and 'instance="mqtt"' in line:
                return float(line.split()[-1])
        return None

    def outbox_depth(self):
        return self.outbox_gauge("passerelle_outbox_depth")

    def on_disk(self, n):
        """n deliveries wait, all committed (depth also counts those not on disk yet)."""
        return self.outbox_depth() == n and self.outbox_gauge("passerelle_outbox_uncommitted") == 0

    def test_nothing_is_lost_when_the_daemon_is_killed_during_an_outage(self):
        sub = self.sub("passerelle/demo/motion/#", "e2e-kill")
        self.daemon()
        self.assertTrue(wait_until(lambda: self.health() == "connected", 10), self.d.log())
        # demo's own health event may have come before mqtt was started (answered retry): let it go first.
        self.assertTrue(wait_until(lambda: self.outbox_depth() == 0, 15), self.outbox_depth())
        self.broker.stop()
        self.assertTrue(wait_until(lambda: self.health() in ("reconnecting", "unreachable"), 10), self.d.log())
        for i in range(30):
            self.emit(i)
        # Committed to the outbox (and unacknowledged: the broker is down), then killed.
        self.assertTrue(wait_until(lambda: self.on_disk(30), 10), self.outbox_depth())
        self.d.kill()
        self.broker.start()
        self.d.start()
        self.assertTrue(wait_until(lambda: self.health() == "connected", 10), self.d.log())
        for i in range(30, 40):
            self.emit(i)
        self.assertTrue(wait_until(lambda: len(set(self.seqs(sub))) >= 40, 20), (self.seqs(sub), self.d.log()))
        firsts = []
        for s in self.seqs(sub):
            if s not in firsts:
                firsts.append(s)
        self.assertEqual(firsts, [str(i) for i in range(40)])

    def test_the_last_will_says_offline_when_the_daemon_dies_and_online_when_it_is_back(self):
        sub = self.sub("passerelle/e2e/status", "e2e-will")
        self.daemon()
        self.assertTrue(wait_until(lambda: sub.lines() and sub.lines()[-1][1] == "online", 10), self.d.log())
        self.d.kill()  # SIGKILL: no DISCONNECT, the broker publishes the last will
        self.assertTrue(wait_until(lambda: sub.lines()[-1][1] == "offline", 10), sub.lines())
        late = self.sub("passerelle/e2e/status", "e2e-will-late")  # retained
        self.assertTrue(wait_until(lambda: late.lines() == [("passerelle/e2e/status", "offline")], 5), late.lines())
        self.d.start()
        self.assertTrue(wait_until(lambda: sub.lines()[-1][1] == "online", 10), (sub.lines(), self.d.log()))

    def test_a_command_runs_the_action_and_its_result_is_published(self):
        sub = self.sub("passerelle/#", "e2e-cmd")
        self.daemon()
        self.assertTrue(wait_until(lambda: self.health() == "connected", 10), self.d.log())
        time.sleep(0.3)
        pub(self.broker, "passerelle/cmd/demo/emit", json.dumps({"type": "doorbell", "state": "pulse", "who": "mqtt"}))
        result = wait_until(lambda: [p for t, p in sub.lines() if t == "passerelle/cmd/demo/emit/result"], 10)
        self.assertTrue(result, self.d.log())
        answer = json.loads(result[0])
        self.assertTrue(answer["ok"], answer)
        self.assertEqual(answer["result"], {"published": True})
        # The event the command made went through the route back to the broker.
        self.assertTrue(wait_until(lambda: [p for t, p in sub.lines() if t == "passerelle/demo/doorbell/1"], 10))
        # Not in allow_commands: refused, and the action does not run.
        pub(self.broker, "passerelle/cmd/other/emit", json.dumps({"type": "doorbell"}))
        refused = wait_until(lambda: [p for t, p in sub.lines() if t == "passerelle/cmd/other/emit/result"], 10)
        self.assertTrue(refused)
        self.assertFalse(json.loads(refused[0])["ok"])
        self.assertIn("not allowed", json.loads(refused[0])["error"])
        self.assertEqual(self.d.get_json("/api/v1/instances")[0], 200)

    def test_hostile_commands_are_answered_and_the_daemon_keeps_going(self):
        sub = self.sub("passerelle/#", "e2e-hostile")
        # A retained command (left on the broker) is never run: it would run again at every reconnect.
        pub(self.broker, "passerelle/cmd/demo/emit", json.dumps({"type": "doorbell"}), extra=["-r"])
        self.daemon()
        self.assertTrue(wait_until(lambda: self.health() == "connected", 10), self.d.log())
        time.sleep(0.3)

        def result(topic, n=1):
            got = wait_until(lambda: [json.loads(p) for t, p in sub.lines() if t == topic + "/result"][n - 1:], 10)
            self.assertTrue(got, (topic, self.d.log()))
            return got[-1]

        # Garbage: not JSON, invalid UTF-8, a JSON array, a JSON string.
        for n, payload in enumerate([b"not json {", b"\xff\xfe\x00garbage", b"[1,2,3]", b'"x"'], start=1):
            subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.broker.port), "-u", "watcher",
                            "-P", "w4tch", "-q", "1", "-t", "passerelle/cmd/demo/emit", "-s"],
                           input=payload, check=True, timeout=10)
            answer = result("passerelle/cmd/demo/emit", n)
            self.assertFalse(answer["ok"], answer)
        # Huge: 1 MiB of params is refused before parsing.
        big = os.path.join(self.broker.dir, "big.json")
        with open(big, "w") as f:
            f.write(json.dumps({"type": "doorbell", "junk": "A" * (1 << 20)}))
        pub(self.broker, "passerelle/cmd/demo/emit", None, extra=["-f", big])
        answer = result("passerelle/cmd/demo/emit", 5)
        self.assertFalse(answer["ok"])
        self.assertIn("too large", answer["error"])
        # Allowed but no such instance; an instance that exists but an unknown action.
        pub(self.broker, "passerelle/cmd/ghost/emit", "{}")
        ghost = result("passerelle/cmd/ghost/emit")
        self.assertFalse(ghost["ok"], ghost)
        pub(self.broker, "passerelle/cmd/demo/no_such_action", "{}")
        self.assertFalse(result("passerelle/cmd/demo/no_such_action")["ok"])
        # Bad params for a real action.
        pub(self.broker, "passerelle/cmd/demo/emit", json.dumps({"type": "motion", "channel": 999}))
        answer = result("passerelle/cmd/demo/emit", 6)
        self.assertFalse(answer["ok"], answer)
        self.assertEqual(len([t for t, p in sub.lines() if t == "passerelle/cmd/demo/emit/result"]), 6)
        self.assertIn("ignoring a retained command", self.d.log())
        # Still alive and still working.
        self.assertEqual(self.d.get_json("/api/v1/instances")[0], 200)
        pub(self.broker, "passerelle/cmd/demo/emit", json.dumps({"type": "doorbell", "state": "pulse"}))
        self.assertTrue(result("passerelle/cmd/demo/emit", 7)["ok"])
        self.assertEqual(self.health(), "connected")

    def test_mqtt5_command_answers_on_the_response_topic_with_correlation_data(self):
        # An MQTT 5 subscriber that prints each message's correlation data (%D) between topic and payload.
        sub = self.sub("replies/#", "e2e-v5", output=("-V", "5", "-F", "%t %D %p"))
        self.daemon(protocol="5")
        self.assertTrue(wait_until(lambda: self.health() == "connected", 10), self.d.log())
        time.sleep(0.3)

        def command(correlation, params):
            pub(self.broker, "passerelle/cmd/demo/emit", json.dumps(params),
                extra=["-V", "5", "-D", "publish", "response-topic", "replies/me",
                       "-D", "publish", "correlation-data", correlation])

        def replies():
            out = []
            for topic, rest in sub.lines():
                correlation, _, payload = rest.partition(" ")
                out.append((topic, correlation, payload))
            return out

        command("abc123", {"type": "doorbell"})
        self.assertTrue(wait_until(lambda: replies(), 10), self.d.log())
        topic, correlation, payload = replies()[0]
        self.assertEqual(topic, "replies/me")
        self.assertEqual(correlation, "abc123")  # the requester can match the answer to its request
        self.assertTrue(json.loads(payload)["ok"], payload)
        # Each answer carries its own request's data, a refused one too.
        command("xyz-789", {"type": "motion", "channel": 999})
        self.assertTrue(wait_until(lambda: len(replies()) >= 2, 10), (replies(), self.d.log()))
        topic, correlation, payload = replies()[1]
        self.assertEqual((topic, correlation), ("replies/me", "xyz-789"))
        self.assertFalse(json.loads(payload)["ok"], payload)
        self.assertEqual(len(replies()), 2, replies())

    def test_a_hikvision_camera_model_and_serial_reach_its_home_assistant_device(self):
        # The real hikvision module reads /ISAPI/System/deviceInfo from the simulator and reports
        # model, serial and firmware in its health info; the kernel puts them on the `device`
        # event, routed here with the camera's motion events.
        if not os.path.exists(os.path.join(built_modules(), "hikvision.so")):
            self.skipTest("the hikvision module is not built (build target hikvision)")
        sim = SimProcess(HIK_SIM, "--scenario", "motion", "--active-for", "1", "--repeat-hz", "2",
                         "--heartbeat", "0.3", "--stream-seconds", "30", "--auth", "digest-md5", lifetime=60)
        self.addCleanup(sim.stop)
        sub = self.sub("homeassistant/#", "e2e-hik")
        self.d = Daemon(hikvision_to_mqtt(sim.url, self.broker.port), env={"HIK_PASSWORD": "sim-password"})
        self.d.start()

        def configs():
            out = {}
            for topic, payload in sub.lines():
                if topic.endswith("/config") and "/cam_" in topic:
                    out.setdefault(topic, []).append(json.loads(payload))
            return out

        def complete():
            c = configs()
            kinds = {t.split("/")[1] for t in c}
            return c if {"sensor", "binary_sensor"} <= kinds and all(
                "model" in v[-1]["device"] for v in c.values()) else None

        got = wait_until(complete, 20)
        self.assertTrue(got, (configs(), self.d.log()[-3000:]))
        for topic, sent in got.items():
            device = sent[-1]["device"]
            self.assertEqual(device["model"], "DS-2CD2185FWD-I", topic)
            self.assertEqual(device["serial_number"], "DS-2CD2185FWD-I20180101AAWR111111111", topic)
            self.assertEqual(device["sw_version"], "V5.5.82", topic)
            self.assertEqual(device["manufacturer"], "hikvision", topic)
            self.assertEqual(device["identifiers"], ["passerelle_e2e_cam"], topic)  # one HA device
            self.assertLessEqual(len(sent), 2, (topic, sent))  # at most once without, once with the identity

    def test_a_wrong_password_gives_auth_failed_without_a_tight_loop(self):
        self.daemon(password="wrong", auth_retry="30s")
        self.assertTrue(wait_until(lambda: self.health() == "auth_failed", 10), self.d.log())
        time.sleep(2)
        _, metrics = self.d.get("/metrics")
        text = metrics.decode() if isinstance(metrics, bytes) else metrics
        attempts = [l for l in text.splitlines() if "connect_attempts" in l and 'instance="mqtt"' in l]
        self.assertTrue(attempts, text)
        self.assertEqual(float(attempts[0].split()[-1]), 1.0, attempts)
        self.assertNotIn("wrong", self.d.log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
