"""Small daemon behaviours: `--log-format json` (every stderr line one JSON
object), the per-instance `log_level` (one instance quieter, another more
verbose than the daemon), and SIGINT stopping as cleanly as SIGTERM."""
import json
import signal
import time
import unittest

from daemon_harness import (TEST_MODULES, DaemonTestCase, built_modules, config, file_log, instance, read_jsonl,
                            wait_until)

# The demo source, fast, to a file log.
CONFIG = config(instance("demo", "demo", 'interval = "50ms"'), file_log("demo"))


class LogFormatJson(DaemonTestCase):
    def test_every_line_is_a_json_object(self):
        d = self.start_daemon(CONFIG, extra_args=("--log-format", "json"))
        wait_until(lambda: len(read_jsonl(d.path("events.log"))) >= 2)
        self.stop_cleanly(d)
        lines = [l for l in d.log().splitlines() if l.strip()]
        self.assertGreater(len(lines), 2, d.log())
        records = [json.loads(l) for l in lines]  # raises on any line that is not JSON
        for r in records:
            self.assertEqual(set(r), {"time", "level", "logger", "msg"}, r)
            self.assertRegex(r["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
            self.assertIn(r["level"], ("trace", "debug", "info", "warning", "error", "critical"))
        self.assertTrue(any(r["msg"].startswith("passerelle running") for r in records), d.log())
        self.assertTrue(any(r["logger"] == "demo" for r in records), d.log())
        self.assertTrue(any(r["msg"] == "stopped cleanly" for r in records), d.log())


class PerInstanceLogLevel(DaemonTestCase):
    def test_a_quieter_instance_beside_a_default_one(self):
        d = self.start_daemon(CONFIG.replace('interval = "50ms"', 'interval = "50ms"\nlog_level = "warn"'))
        wait_until(lambda: "[events] health: ok" in d.log())
        wait_until(lambda: len(read_jsonl(d.path("events.log"))) >= 2)
        self.stop_cleanly(d)
        log = d.log()
        self.assertIn("[events] health: ok", log)  # info, default level
        self.assertNotIn("[demo] health:", log)  # the same info line, silenced by log_level = "warn"

    @unittest.skipUnless(TEST_MODULES, "needs the relay test module (PASSERELLE_TEST_MODULES)")
    def test_a_more_verbose_instance_beside_a_default_one(self):
        text = config(instance("demo", "demo", 'interval = "1h"'),
                      instance("loud", "relay", 'log_level = "debug"'),
                      instance("quiet", "relay"),
                      modules=(built_modules(), TEST_MODULES))
        d = self.start_daemon(text)
        for relay in ("loud", "quiet"):
            status, body = d.get("/api/v1/instances/%s/actions/forward?instance=demo&action=emit&params=%%7B%%7D" % relay)
            self.assertEqual(status, 200, body)
        self.assertTrue(wait_until(lambda: "[loud] runs action emit of instance demo" in d.log()), d.log())
        self.stop_cleanly(d)
        self.assertNotIn("[quiet] runs action", d.log())  # debug line, daemon at info


class Sigint(DaemonTestCase):
    def test_sigint_stops_cleanly_within_5s_and_flushes(self):
        d = self.start_daemon(CONFIG)
        self.assertTrue(wait_until(lambda: len(read_jsonl(d.path("events.log"))) >= 3), d.log())
        started = time.monotonic()
        d.signal(signal.SIGINT)
        code = d.proc.wait(timeout=10)
        self.assertEqual(code, 0, d.log())
        self.assertLess(time.monotonic() - started, 5)
        log = d.log()
        self.assertIn("received SIGINT, stopping", log)
        self.assertIn("stopped cleanly", log)
        # What the file log acknowledged is on disk and whole: every line parses.
        events = read_jsonl(d.path("events.log"))
        self.assertGreaterEqual(len(events), 3)
        ids = [e["id"] for e in events]
        self.assertEqual(ids, sorted(ids))


if __name__ == "__main__":
    unittest.main(verbosity=2)
