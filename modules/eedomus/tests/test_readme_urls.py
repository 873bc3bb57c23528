"""Every ready-to-paste control API URL of modules/eedomus/README.md, checked against
the real daemon, so that the README cannot drift from the modules again.

For each URL (actuator lines, the [VAR1] variant, HTTP sensors):
- statically, against `passerelle modules`: the instance's module declares the action,
  and every query parameter is one of the action's declared params;
- live, against a running daemon whose instances carry the README's names: the
  action is not refused as unknown (404) or invalid (400: a missing or bad param);
- for the asterisk instance, the AMI action that reached a stub Asterisk says what the
  README's description says (originate from=100 to=291 rings PJSIP/100, then 291);
- for the HTTP sensors, the answer is XML and the README's XPath finds a value in it.

The example config and the README's TOML blocks pass `passerelle check`.

Loopback only; the AMI stub and the eeDomus simulator run in this process; every wait
is bounded (the daemon's action_timeout is 3 s)."""
import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import eedomus_sim  # noqa: E402
from daemon_harness import BIN, Daemon, config, free_port, wait_until  # noqa: E402

README = os.path.join(HERE, "..", "README.md")
TOKEN = "readme-test-token-0123456789"

# The README's instance names and the module each one is an instance of. A new name
# in the README must be added here (and to CONFIG), or the test fails.
INSTANCES = {"pbx": "asterisk", "sipline": "sip", "cam_garage": "hikvision", "box": "eedomus"}

# A str.format template (the ports, the token); the README's instances.
CONFIG = config("""
[instance.pbx]
module = "asterisk"
host = "127.0.0.1"
port = {ami_port}
user = "passerelle"
secret = "ami-secret"
context = "from-internal"
allow_raw = ["ExtensionState"]
follow = "1s"

[instance.sipline]
module = "sip"
registrar = "sip:127.0.0.1:{closed_port}"
user = "passerelle"
password = "sip-secret"
listen = "127.0.0.1:{sip_port}"

[instance.cam_garage]
module = "hikvision"
url = "http://127.0.0.1:{closed_port}"
user = "admin"
password = "cam-secret"

[instance.box]
module = "eedomus"
url = "http://127.0.0.1:{ee_port}"
api_user = "ee-user"
api_secret = "ee-secret-0123456789"
timezone = "UTC"
timeout = "2s"
""", api='token = "{token}"\naction_timeout = "3s"')

URL_RE = re.compile(r"https?://[^\s`|]*?/api/v1/instances/([^/\s`]+)/actions/([^?\s`]+)(?:\?([^\s`|]*))?")


def readme_urls(text):
    """(url, instance, action, params, xpath or None) for every backticked URL; a table
    row whose other cell holds a backticked /result/... path gives that URL's XPath."""
    out = []
    for line in text.splitlines():
        xpaths = re.findall(r"`(/result/[^`]+)`", line) if line.lstrip().startswith("|") else []
        for m in URL_RE.finditer(line):
            params = urllib.parse.parse_qsl(m.group(3) or "", keep_blank_values=True)
            out.append((m.group(0), m.group(1), m.group(2), params, xpaths[0] if xpaths else None))
    return out


def declared_actions():
    """{module: {action: declared params text}} from `passerelle modules`."""
    proc = subprocess.run([BIN, "modules"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    modules, current, in_actions = {}, None, False
    for line in proc.stdout.splitlines():
        if line and not line.startswith(" "):
            current = line.split()[0]
            modules[current] = {}
            in_actions = False
        elif line.strip() == "actions:":
            in_actions = True
        elif line.strip() == "keys:":
            in_actions = False
        elif in_actions and current:
            m = re.match(r"^\s+([\w.-]+)\((.*)\)  ", line + "  ")
            if m:
                modules[current][m.group(1)] = m.group(2)
    return modules


class AmiStub:
    """The least of an Asterisk Manager Interface for the asterisk module: banner, Login,
    FullyBooted, Ping, CoreSettings, and answers to the actions the README uses, with
    Asterisk's field names. Records every action received (name -> list of fields)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.received = []
        self.lock = threading.Lock()
        self.conns = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def actions(self, name):
        with self.lock:
            return [f for f in self.received if f.get("action", "").lower() == name.lower()]

    def serve(self, c):
        c.settimeout(30)
        c.sendall(b"Asterisk Call Manager/9.0.0\r\n")
        buf = b""
        try:
            while True:
                data = c.recv(65536)
                if not data:
                    return
                buf += data
                while b"\r\n\r\n" in buf:
                    packet, buf = buf.split(b"\r\n\r\n", 1)
                    fields = {}
                    for line in packet.decode("utf-8", "replace").split("\r\n"):
                        if ":" in line:
                            k, v = line.split(":", 1)
                            fields[k.strip().lower()] = v.strip()
                    with self.lock:
                        self.received.append(fields)
                    c.sendall(self.answer(fields).encode())
        except OSError:
            return

    @staticmethod
    def answer(f):
        aid = f.get("actionid", "")
        action = f.get("action", "").lower()
        head = "Response: %s\r\nActionID: " + aid + "\r\n"
        if action == "login":
            return (head % "Success") + "Message: Authentication accepted\r\n\r\n" \
                "Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n"
        if action == "ping":
            return (head % "Success") + "Ping: Pong\r\nTimestamp: 1700000000.000000\r\n\r\n"
        if action == "coresettings":
            return (head % "Success") + "AsteriskVersion: 20.20.1\r\nAMIversion: 9.0.0\r\n\r\n"
        if action == "messagesend":
            return (head % "Success") + "Message: Message successfully sent\r\n\r\n"
        if action == "originate":
            # What Asterisk answers at once for an extension missing from the context.
            return (head % "Error") + "Message: Extension does not exist.\r\n\r\n"
        if action == "extensionstate":
            return (head % "Success") + "Message: Extension Status\r\nExten: %s\r\nContext: %s\r\nHint: PJSIP/%s\r\n" \
                "Status: 0\r\nStatusText: Idle\r\n\r\n" % (f.get("exten", ""), f.get("context", ""), f.get("exten", ""))
        return (head % "Error") + "Message: Invalid/unknown command\r\n\r\n"

    def close(self):
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there any more: connections are refused at once
    return port


class ReadmeUrls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(README, encoding="utf-8") as f:
            cls.text = f.read()
        cls.urls = readme_urls(cls.text)

    def test_every_action_url_of_the_readme_is_complete_and_parsed(self):
        # A partial line ("…/originate?…") cannot be pasted: every /actions/ must be in a full URL.
        self.assertGreaterEqual(len(self.urls), 8, "the README's URLs were not found")
        self.assertEqual(self.text.count("/actions/"), len(self.urls),
                         "some /actions/ of the README are not in a full http://HOST:PORT/api/v1/... URL")
        sensors = [u for u in self.urls if u[4]]
        self.assertGreaterEqual(len(sensors), 2, "the HTTP sensor rows (URL + /result/ XPath) were not found")
        for url, _, _, params, xpath in sensors:
            self.assertIn(("format", "xml"), params, url)

    def test_actions_and_params_are_the_modules_own(self):
        modules = declared_actions()
        for url, instance, action, params, _ in self.urls:
            self.assertIn(instance, INSTANCES, "README instance %r: say which module it is in INSTANCES" % instance)
            module = INSTANCES[instance]
            self.assertIn(module, modules, "module %s not built" % module)
            self.assertIn(action, modules[module], "%s: %s has no action %r" % (url, module, action))
            declared = modules[module][action]
            if "KEY=value" in declared:
                continue  # a raw action: any other key is passed through
            words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", declared))
            for key, _ in params:
                if key in ("token", "format"):
                    continue
                self.assertIn(key, words, "%s: %s.%s declares params (%s), not %r" % (url, module, action, declared, key))

    def test_example_and_readme_toml_pass_the_daemons_check(self):
        # example.toml as is, then with each TOML block of the README appended (routes).
        example = os.path.join(HERE, "..", "example.toml")
        env = dict(os.environ, EEDOMUS_SECRET="s", PASSERELLE_API_TOKEN="t")
        blocks = re.findall(r"```toml\n(.*?)```", self.text, re.S)
        self.assertGreaterEqual(len(blocks), 2, "the README's TOML blocks were not found")
        with open(example, encoding="utf-8") as f:
            base = f.read()
        with tempfile.TemporaryDirectory() as d:
            for i, extra in enumerate([""] + blocks):
                path = os.path.join(d, "check%d.toml" % i)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(base + "\n" + extra)
                proc = subprocess.run([BIN, "check", "-c", path], capture_output=True, text=True, timeout=30, env=env)
                self.assertEqual(proc.returncode, 0, "%s\n%s%s" % (extra, proc.stdout, proc.stderr))

    def test_every_url_runs_on_the_real_daemon(self):
        ami = AmiStub()
        ee = eedomus_sim.Simulator(argparse.Namespace(port=0, mode="local", codes="alternate",
                                                      user="ee-user", secret="ee-secret-0123456789"))
        ee.st.periphs["123456"] = {"name": "Portail", "last_value": "42", "last_value_change": "2024-05-01 10:00:00"}
        daemon = Daemon(CONFIG.format(token=TOKEN, ami_port=ami.port, closed_port=closed_port(),
                                      sip_port=free_port(), ee_port=ee.port))
        try:
            daemon.start()
            # The asterisk instance must be logged in, or its actions would only say "retry".
            self.assertTrue(wait_until(lambda: ami.actions("login") and ami.actions("coresettings"), timeout=10), daemon.log())
            for url, instance, action, params, xpath in self.urls:
                path = urllib.parse.urlsplit(url).path
                query = [(k, TOKEN if k == "token" else re.sub(r"\[VAR\d\]", "100", v)) for k, v in params]
                self.assertIn(("token", TOKEN), query, "%s: no token in the URL" % url)
                before = len(ami.received)
                status, body = daemon.get(path + "?" + urllib.parse.urlencode(query), timeout=15)
                with self.subTest(url=url):
                    self.assertNotIn(status, (400, 401, 404, 405, 500), "%s -> %d %s" % (url, status, body))
                    if instance == "pbx":
                        self.check_ami(url, action, dict(query), ami.received[before:])
                    if xpath:
                        self.assertEqual(status, 200, "%s -> %d %s" % (url, status, body))
                        self.assertTrue(body.lstrip().startswith("<"), body)
                        parts = xpath.strip("/").split("/")
                        root = ET.fromstring(body)
                        self.assertEqual(root.tag, parts[0], body)
                        node = root.find("/".join(parts[1:]))
                        self.assertIsNotNone(node, "%s: XPath %s finds nothing in %s" % (url, xpath, body))
                        self.assertTrue((node.text or "").strip(), "%s: XPath %s is empty in %s" % (url, xpath, body))
        finally:
            daemon.stop()
            ami.close()
            ee.set_down(True)

    def check_ami(self, url, action, query, sent):
        names = [f.get("action", "").lower() for f in sent]
        if action == "originate":
            orig = [f for f in sent if f.get("action", "").lower() == "originate"]
            self.assertEqual(len(orig), 1, "%s: AMI got %s" % (url, names))
            self.assertEqual(orig[0].get("channel"), "PJSIP/" + query["from"], url)
            self.assertEqual(orig[0].get("exten"), query["to"], url)
        elif action == "message":
            msg = [f for f in sent if f.get("action", "").lower() == "messagesend"]
            self.assertEqual(len(msg), 1, "%s: AMI got %s" % (url, names))
            self.assertTrue(msg[0].get("to", "").endswith(":" + query["to"]), msg[0])
        elif action == "action":
            self.assertIn(query["name"].lower(), names, url)


if __name__ == "__main__":
    unittest.main()
