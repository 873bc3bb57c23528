"""/metrics in the Prometheus text format: every family once, its samples
together after its own `# TYPE` line, module counters of several instances
grouped per counter name; events in/out and errors per instance counted."""
import re
import unittest

from daemon_harness import (TEST_MODULES, DaemonTestCase, built_modules, config, file_log, instance, route,
                            wait_until)

# The demo source; two instances of the counter test module, the door events routed to one of
# them (which refuses every delivery); a file log taking the doors and the motions.
CONFIG = config(instance("demo", "demo", 'interval = "1h"'),
                instance("a", "counter"),
                instance("b", "counter"),
                file_log(when='source = "demo", type = ["door", "motion"]'),
                route("a", 'source = "demo", type = "door"'),
                modules=(built_modules(), TEST_MODULES))


def families(text):
    """[(family, TYPE or None, [sample lines])] in order of appearance; a family
    seen twice (split samples) appears twice."""
    out, current, types = [], None, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            types[name] = kind
            continue
        if not line or line.startswith("#"):
            continue
        name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
        if current is None or current[0] != name:
            current = (name, types.get(name), [])
            out.append(current)
        current[2].append(line)
    return out


@unittest.skipUnless(TEST_MODULES, "needs the counter test module (PASSERELLE_TEST_MODULES)")
class Metrics(DaemonTestCase):
    def setUp(self):
        self.d = self.start_daemon(CONFIG)

    def count(self, instance, name, n):
        status, body = self.d.get("/api/v1/instances/%s/actions/count?name=%s&n=%d" % (instance, name, n))
        self.assertEqual(status, 200, body)

    def test_module_counters_are_grouped_by_name_with_one_type_line(self):
        # Two instances, two counters each, counted in an interleaved order.
        self.count("a", "reconnects", 2)
        self.count("b", "parse_errors", 5)
        self.count("a", "parse_errors", 1)
        self.count("b", "reconnects", 3)
        status, text = self.d.get("/metrics")
        self.assertEqual(status, 200)
        fams = families(text)
        names = [f[0] for f in fams]
        self.assertEqual(len(names), len(set(names)), "a family is split in two runs:\n" + text)
        untyped = [f[0] for f in fams if f[1] is None]
        self.assertEqual(untyped, [], text)
        self.assertEqual(text.count("# TYPE passerelle_module_reconnects_total counter\n"), 1, text)
        self.assertEqual(text.count("# TYPE passerelle_module_parse_errors_total counter\n"), 1, text)
        by_name = {f[0]: f[2] for f in fams}
        self.assertEqual(sorted(by_name["passerelle_module_reconnects_total"]),
                         ['passerelle_module_reconnects_total{instance="a"} 2',
                          'passerelle_module_reconnects_total{instance="b"} 3'])
        self.assertEqual(sorted(by_name["passerelle_module_parse_errors_total"]),
                         ['passerelle_module_parse_errors_total{instance="a"} 1',
                          'passerelle_module_parse_errors_total{instance="b"} 5'])
        # The TYPE line comes right before the family's samples.
        lines = text.splitlines()
        i = lines.index('passerelle_module_reconnects_total{instance="a"} 2')
        self.assertEqual(lines[i - 1], "# TYPE passerelle_module_reconnects_total counter")

    def test_events_in_out_and_errors_per_instance(self):
        for t in ("door", "motion", "door"):
            status, body = self.d.get("/api/v1/instances/demo/actions/emit?type=" + t)
            self.assertEqual(status, 200, body)

        def sample(text, family, instance):
            m = re.search(r'(?m)^%s\{instance="%s"\} (\d+)$' % (family, instance), text)
            return int(m.group(1)) if m else None

        def settled():
            text = self.d.get("/metrics")[1]
            if sample(text, "passerelle_events_out_total", "events") == 3 and \
                    sample(text, "passerelle_errors_total", "a") == 2:
                return text
            return None

        text = wait_until(settled, timeout=10)
        self.assertTrue(text, self.d.get("/metrics")[1] + self.d.log())
        self.assertEqual(sample(text, "passerelle_events_in_total", "demo"), 3)
        self.assertEqual(sample(text, "passerelle_errors_total", "events"), 0)
        self.assertEqual(sample(text, "passerelle_events_out_total", "a"), 0)
        self.assertEqual(sample(text, "passerelle_outbox_given_up_total", "a"), 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
