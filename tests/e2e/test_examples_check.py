"""The shipped configs stay valid: `passerelle check` (schema and every
module's own validation) on examples/demo.toml and every modules/*/example*.toml.
Secrets the examples take from ${ENV} or KEY_file, and the files they name
(ca_file, ...), are provided by the test; state_dir points into a temp dir,
which check must leave uncreated."""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

from daemon_harness import run_cli

SOURCE = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
# Files named by the examples that must hold a certificate (loaded when the instance is created).
CERT_KEYS = {"ca_file", "client_cert"}
FILE_KEYS = CERT_KEYS | {"client_key"}
# Known failures, left to their module's owner: {example: text its error must contain}.
# Such a file may only fail for that reason; once fixed it passes (a note says to
# remove it here), so the fix can land without breaking this test.
EXPECTED_TO_FAIL = {}


def a_certificate(path):
    bundle = "/etc/ssl/certs/ca-certificates.crt"
    if os.path.exists(bundle):
        shutil.copy(bundle, path)
        return
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=test", "-days", "2",
                    "-keyout", path + ".key", "-out", path], check=True, capture_output=True, timeout=60)


def hermetic_copy(example, work):
    """Copies `example` into `work` with state_dir and every named file inside `work`;
    returns (config path, env for its ${VARS})."""
    with open(example) as f:
        text = f.read()
    env = {name: "test-" + name.lower() for name in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text)}
    lines = []
    for line in text.splitlines():
        m = re.match(r'^(\s*)([A-Za-z0-9_]+)(\s*=\s*)"([^"]*)"(.*)$', line)
        if m:
            indent, key, eq, value, rest = m.groups()
            if key == "state_dir":
                line = '%s%s%s"%s"%s' % (indent, key, eq, os.path.join(work, "state"), rest)
            elif key.endswith("_file") or key in FILE_KEYS:
                target = os.path.join(work, "files", os.path.basename(value)) if os.path.isabs(value) \
                    else os.path.join(work, value)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                if key in CERT_KEYS or key == "ca_file":
                    a_certificate(target)
                else:
                    with open(target, "w") as f:
                        f.write("test-secret-of-" + key + "\n")
                line = '%s%s%s"%s"%s' % (indent, key, eq, target, rest)
        lines.append(line)
    path = os.path.join(work, os.path.basename(example))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path, env


class ShippedExamples(unittest.TestCase):
    def test_readme_links_stay_inside_the_repository_and_exist(self):
        # The design link once pointed at ../shared/DESIGN.md, outside the repository.
        with open(os.path.join(SOURCE, "README.md")) as f:
            text = f.read()
        links = [m.group(1) for m in re.finditer(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
                 if "://" not in m.group(1) and not m.group(1).startswith("mailto:")]
        self.assertIn("DESIGN.md", links)
        for link in links:
            target = os.path.normpath(os.path.join(SOURCE, link))
            self.assertTrue(target.startswith(SOURCE + os.sep), "%s leaves the repository" % link)
            self.assertTrue(os.path.exists(target), "%s does not exist" % link)

    def test_examples_demo_toml(self):
        path = os.path.join(SOURCE, "examples", "demo.toml")
        code, out, err = run_cli("check", "-c", path)
        self.assertEqual(code, 0, out + err)
        self.assertRegex(out, r"demo\.toml: OK \(\d+ instances?, \d+ routes?\)")

    def test_every_module_example(self):
        examples = sorted(glob.glob(os.path.join(SOURCE, "modules", "*", "example*.toml")))
        self.assertGreater(len(examples), 5, "no module examples found under " + SOURCE)
        for example in examples:
            rel = os.path.relpath(example, SOURCE)
            with self.subTest(example=rel):
                work = tempfile.mkdtemp(prefix="passerelle-example-")
                try:
                    path, env = hermetic_copy(example, work)
                    code, out, err = run_cli("check", "-c", path, env=env)
                    if rel in EXPECTED_TO_FAIL:
                        if code == 0:
                            sys.stderr.write("note: %s passes check now: remove it from EXPECTED_TO_FAIL\n" % rel)
                            continue
                        self.assertEqual(code, 2, out + err)
                        errors = [l for l in out.splitlines() if l.strip()]
                        self.assertTrue(errors, out + err)
                        for line in errors:  # no other error than the known one
                            self.assertIn(EXPECTED_TO_FAIL[rel], line, out + err)
                        continue
                    self.assertEqual(code, 0, out + err)
                    self.assertIn(": OK (", out)
                    # check has no side effect: no state, no outbox, no instance dirs.
                    self.assertFalse(os.path.exists(os.path.join(work, "state")), rel)
                    # Secrets given through ${ENV} or KEY_file never appear in what check prints.
                    for value in env.values():
                        self.assertNotIn(value, out + err)
                finally:
                    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
