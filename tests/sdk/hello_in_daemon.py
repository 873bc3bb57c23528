"""The out-of-tree hello module, loaded by the real daemon: `passerelle modules`
lists it, `passerelle check` accepts an instance of it, `passerelle run` runs
it, its `say` action answers through the control API and its event reaches a
file log, and SIGTERM stops the daemon with exit 0.
usage: hello_in_daemon.py <passerelle binary> <dir holding hello.so>"""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import daemon_harness  # noqa: E402
from daemon_harness import Daemon, read_jsonl, run_cli, wait_until  # noqa: E402

PASSERELLE, HELLO_DIR = sys.argv[1], sys.argv[2]
daemon_harness.BIN = PASSERELLE
BUILT_MODULES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(PASSERELLE))), "lib", "passerelle")

CONFIG = """
[daemon]
state_dir = "@DIR@/state"
modules = ["%s", "%s"]

[daemon.api]
listen = "127.0.0.1:@PORT@"

[instance.hi]
module = "hello"
greeting = "bonjour"

[instance.events]
module = "filelog"
path = "@DIR@/events.log"

[[route]]
when = { source = "hi" }
to = "events"
""" % (HELLO_DIR, BUILT_MODULES)


class HelloInTheDaemon(unittest.TestCase):
    def test_modules_lists_hello(self):
        code, out, err = run_cli("modules", "-m", HELLO_DIR)
        self.assertEqual(code, 0, out + err)
        head = [l for l in out.splitlines() if l.startswith("hello ")]
        self.assertEqual(len(head), 1, out)
        self.assertRegex(head[0], r"^hello 1\.0\.0  \(ABI 1\.\d+\)  .*hello\.so$")
        self.assertRegex(out, r"\n    greeting \(string, default \"hello\"\)")
        self.assertRegex(out, r"\n    say\(to\)")
        self.assertNotIn("refused", out)

    def test_run_calls_say_and_stops_on_sigterm(self):
        d = Daemon(CONFIG)
        code, out, err = run_cli("check", "-c", d.config_path)
        self.assertEqual(code, 0, out + err)
        d.start()
        try:
            status, body = d.get("/api/v1/instances/hi/actions/say?to=x")
            self.assertEqual(status, 200, body)
            self.assertEqual(json.loads(body), {"said": "bonjour, x"})
            status, data = d.get_json("/api/v1/instances")
            self.assertEqual({i["name"]: i["module"] for i in data["instances"]}["hi"], "hello")
            got = wait_until(lambda: [e for e in read_jsonl(d.path("events.log")) if e["source"] == "hi"])
            self.assertTrue(got, d.log())
            self.assertEqual((got[0]["module"], got[0]["type"], got[0]["attrs"]["text"]), ("hello", "message", "bonjour, x"))
        finally:
            code, seconds = d.stop()
        self.assertEqual(code, 0, d.log())
        self.assertLess(seconds, 5)
        self.assertIn("stopped cleanly", d.log())


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
