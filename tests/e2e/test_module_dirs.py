"""Loader, end to end: a module directory holding a wrong-ABI module and a junk
.so beside the good modules. `passerelle modules` lists the good ones and one
refusal line per bad file; `passerelle run` logs one refusal line per bad file
naming it, and keeps running (/healthz answers, the demo instance works)."""
import os
import re
import shutil
import tempfile
import unittest

from daemon_harness import DaemonTestCase, built_modules, config, instance, run_cli

LIB = built_modules()
BROKEN = os.environ.get("PASSERELLE_LOADER_TEST_MODULES", "")


@unittest.skipUnless(BROKEN, "needs the loader's test modules (PASSERELLE_LOADER_TEST_MODULES)")
class BrokenModuleFiles(DaemonTestCase):
    def setUp(self):
        self.bad = tempfile.mkdtemp(prefix="passerelle-bad-modules-")
        shutil.copy(os.path.join(BROKEN, "wrong_abi.so"), self.bad)
        with open(os.path.join(self.bad, "junk.so"), "wb") as f:
            f.write(b"\x7fELF but not really" + bytes(range(256)) * 4)
        self.wrong_abi = os.path.join(self.bad, "wrong_abi.so")
        self.junk = os.path.join(self.bad, "junk.so")

    def tearDown(self):
        shutil.rmtree(self.bad, ignore_errors=True)

    def test_modules_lists_the_good_and_one_refusal_per_bad_file(self):
        code, out, err = run_cli("modules", "-m", self.bad, "-m", LIB)
        self.assertEqual(code, 0, out + err)
        self.assertRegex(out, r"(?m)^demo \d+\.\d+\.\d+  \(ABI 1\.\d+\)  %s$" % re.escape(os.path.join(LIB, "demo.so")))
        self.assertRegex(out, r"(?m)^    interval \(duration, default \"5s\"\)")
        self.assertRegex(out, r"(?m)^    emit\(")
        refused = [l for l in out.splitlines() if l.startswith("refused ")]
        self.assertEqual(len(refused), 2, out)
        self.assertIn("refused %s: module ABI 99.3, daemon ABI 1." % self.wrong_abi, out)
        junk = [l for l in refused if l.startswith("refused %s: " % self.junk)]
        self.assertEqual(len(junk), 1, out)
        self.assertIn("not a loadable shared library", junk[0])
        self.assertNotIn("Bad file descriptor", junk[0])
        self.assertNotIn("wrong_abi ", out)  # never listed as a module

    def test_run_logs_one_refusal_per_file_and_keeps_running(self):
        d = self.start_daemon(config(instance("demo", "demo", 'interval = "1h"'), modules=(self.bad, LIB)))
        self.assertEqual(d.get("/healthz")[0], 200)
        status, data = d.get_json("/api/v1/instances")
        self.assertEqual([(i["name"], i["module"]) for i in data["instances"]], [("demo", "demo")])
        status, body = d.get("/api/v1/instances/demo/actions/emit?type=door")
        self.assertEqual(status, 200, body)
        log = d.log()
        for path, reason in ((self.wrong_abi, "module ABI 99.3, daemon ABI 1."),
                             (self.junk, "not a loadable shared library")):
            lines = [l for l in log.splitlines() if "refusing module file %s:" % path in l]
            self.assertEqual(len(lines), 1, log)
            self.assertIn(reason, lines[0])
        self.stop_cleanly(d)


if __name__ == "__main__":
    unittest.main(verbosity=2)
