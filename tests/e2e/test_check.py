"""`passerelle check` runs each module's own validation (the instance is
created and destroyed, never started), exactly what `run` does before start:
a value the module refuses is reported at FILE:LINE:COLUMN with exit 2 by both
commands. And `check` has no side effect: no socket, no state, no log file."""
import os
import re
import unittest

from daemon_harness import Daemon, config, file_log, instance, port_in_use, run_cli


def demo_config(interval, channels):
    """The demo source (the module checks its `interval` and `channels`) to a file log."""
    return config(instance("demo", "demo", 'interval = "%s"' % interval, "channels = %d" % channels),
                  file_log("demo", path="logs/events.log"))


def position(path, key):
    """1-based line and column of the value of `key = ...` in the file."""
    with open(path) as f:
        for n, line in enumerate(f, 1):
            m = re.match(r"\s*%s\s*=\s*" % re.escape(key), line)
            if m:
                return n, m.end() + 1
    raise AssertionError("%s not in %s" % (key, path))


class ModuleValidation(unittest.TestCase):
    def test_a_value_the_module_refuses_fails_check_and_run_at_its_position(self):
        d = Daemon(demo_config("0ms", 1))
        line, col = position(d.config_path, "interval")
        expected = "%s:%d:%d: instance.demo.interval: must be more than 0" % (d.config_path, line, col)

        code, out, err = run_cli("check", "-c", d.config_path)
        self.assertEqual(code, 2, out + err)
        self.assertIn(expected, out.splitlines(), out + err)
        self.assertNotIn("OK", out)

        d.start(wait_ready=False)
        code = d.proc.wait(timeout=15)
        self.assertEqual(code, 2, d.log())
        self.assertIn(expected, d.log())

    def test_every_refused_instance_is_reported_at_once(self):
        d = Daemon(demo_config("0ms", 1) + '\n[instance.other]\nmodule = "demo"\nchannels = 99\n')
        code, out, err = run_cli("check", "-c", d.config_path)
        self.assertEqual(code, 2, out + err)
        self.assertRegex(out, r"passerelle\.toml:\d+:\d+: instance\.demo\.interval: must be more than 0")
        # channels = 99 of [instance.other]: the last `channels` line of the file.
        with open(d.config_path) as f:
            lines = f.read().splitlines()
        last = max(i for i, l in enumerate(lines, 1) if l.startswith("channels"))
        self.assertIn("%s:%d:12: instance.other.channels: must be between 1 and 64" % (d.config_path, last),
                      out.splitlines(), out)

    def test_a_valid_config_says_ok(self):
        d = Daemon(demo_config("5s", 2))
        code, out, err = run_cli("check", "-c", d.config_path)
        self.assertEqual(code, 0, out + err)
        self.assertIn("%s: OK (2 instances, 1 route)" % d.config_path, out)

    def test_check_opens_no_socket_and_writes_nothing(self):
        # The API port is taken: `run` would exit 2 ("in use"); `check` never binds it.
        with port_in_use() as port:
            d = Daemon(demo_config("5s", 1), port=port)
            before = sorted(os.listdir(d.dir))
            code, out, err = run_cli("check", "-c", d.config_path)
            self.assertEqual(code, 0, out + err)
            # No state_dir (outbox, ids, instances/<name>), no log file or its directory.
            self.assertEqual(sorted(os.listdir(d.dir)), before)
            self.assertFalse(os.path.exists(d.path("state")))
            self.assertFalse(os.path.exists(d.path("logs")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
