"""The sip module's example configurations (example.toml, example-vto.toml and the
README's toml blocks) pass `passerelle check`. Secrets are pointed at a temp file or
given through the environment; nothing is started, nothing touches the network."""
import os
import re
import subprocess
import tempfile
import unittest

BIN = os.environ.get("PASSERELLE_BIN", "build/bin/passerelle")
MODULE_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
EXAMPLES = ["example.toml", "example-vto.toml"]


def readme_blocks():
    with open(os.path.join(MODULE_DIR, "README.md"), encoding="utf-8") as f:
        text = f.read()
    examples = text[text.index("## Examples"):]
    examples = examples[:examples.index("\n## ", 1)]
    return re.findall(r"```toml\n(.*?)```", examples, re.S)


class ExamplesPassCheck(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="sip-examples-")
        self.key = os.path.join(self.tmp.name, "jeedom.key")
        with open(self.key, "w") as f:
            f.write("0123456789abcdef\n")

    def tearDown(self):
        self.tmp.cleanup()

    def check(self, text, name):
        """`passerelle check -c` on `text`, with the secret files it names moved to the temp dir."""
        text = text.replace("/etc/passerelle/jeedom.key", self.key)
        path = os.path.join(self.tmp.name, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        env = dict(os.environ, SIP_650_PASSWORD="not-a-real-password")
        p = subprocess.run([BIN, "check", "-c", path], capture_output=True, text=True, env=env, timeout=30)
        return p.returncode, p.stdout + p.stderr

    def test_example_files_pass_check(self):
        for name in EXAMPLES:
            with self.subTest(name=name):
                with open(os.path.join(MODULE_DIR, name), encoding="utf-8") as f:
                    text = f.read()
                rc, out = self.check(text, name)
                self.assertEqual(rc, 0, out)
                self.assertIn("OK", out)

    def test_readme_examples_pass_check(self):
        blocks = readme_blocks()
        self.assertEqual(len(blocks), len(EXAMPLES), "one README block per example file")
        for i, text in enumerate(blocks):
            with self.subTest(block=i):
                rc, out = self.check(text, "readme-%d.toml" % i)
                self.assertEqual(rc, 0, out)
                self.assertIn("OK", out)

    def test_check_catches_an_unknown_jeedom_action(self):
        # The control: the example as it was (action "set", which jeedom does not have) fails.
        with open(os.path.join(MODULE_DIR, "example.toml"), encoding="utf-8") as f:
            text = f.read()
        broken = re.sub(r'action = "exec"', 'action = "set"', text)
        self.assertNotEqual(broken, text)
        rc, out = self.check(broken, "broken.toml")
        self.assertEqual(rc, 2, out)
        self.assertIn('no action "set"', out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
