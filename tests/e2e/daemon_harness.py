"""Runs the real passerelle daemon for end-to-end tests: temp config, bounded
waits, HTTP helpers (stdlib only), clean stop with SIGTERM.

The tests of tests/e2e import it from their own folder; the other end-to-end tests
(modules/*/tests, tests/delivery_e2e, ...) find it through the PYTHONPATH that
their ctest entry sets."""
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
import urllib.error
import urllib.request

BIN = os.environ.get("PASSERELLE_BIN", "build/bin/passerelle")
# The test-only modules (counter, relay) of tests/e2e/modules; "" when not built.
TEST_MODULES = os.environ.get("PASSERELLE_TEST_MODULES", "")


def built_modules(binary=None):
    """The folder of the modules built with the daemon (<build>/lib/passerelle beside <build>/bin)."""
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(binary or BIN))), "lib", "passerelle")


# Configs. Every test config starts with the same two tables: the daemon's state in its own
# temp dir and the control API on loopback only; the tests add their instances and routes.
# Each piece is TOML text, so a test can still .replace() a line of the result.

def config(*sections, modules=(), api=""):
    """A daemon config: [daemon] (state in @DIR@/state; `modules`, the module folders, when given),
    [daemon.api] on 127.0.0.1:@PORT@ (`api`: more lines, e.g. a token), then `sections` in order
    (TOML text, as instance(), route() and file_log() write it)."""
    daemon = ["[daemon]", 'state_dir = "@DIR@/state"']
    if modules:
        daemon.append("modules = [%s]" % ", ".join('"%s"' % m for m in modules))
    control = ["[daemon.api]", 'listen = "127.0.0.1:@PORT@"'] + ([api] if api else [])
    tables = ["\n".join(daemon), "\n".join(control)] + [textwrap.dedent(s).strip("\n") for s in sections]
    return "\n" + "\n\n".join(tables) + "\n"


def instance(name, module, *settings):
    """[instance.<name>] of `module`; `settings`: its other lines (TOML text, `interval = "1h"`)."""
    return "\n".join(["[instance.%s]" % name, 'module = "%s"' % module] + [s.strip("\n") for s in settings])


def route(to, when, *settings):
    """A [[route]] to instance `to` of the events matching `when`, the inside of its inline table
    ('source = "demo"'); `settings`: its other lines (action, params)."""
    return "\n".join(["[[route]]", "when = { %s }" % when, 'to = "%s"' % to] + [s.strip("\n") for s in settings])


def file_log(source=None, path="events.log", when=None):
    """The sink the tests read events back from: instance `events`, a filelog writing
    @DIR@/<path>, and the route to it of `source`'s events (or of those matching `when`)."""
    return "\n\n".join([instance("events", "filelog", 'path = "@DIR@/%s"' % path),
                        route("events", when or 'source = "%s"' % source)])


def free_port(span=1):
    """An even port p with p .. p+span-1 free for TCP and UDP on 127.0.0.1.

    Picked below the kernel's ephemeral range (32768-60999 by default), so that no outgoing
    connection of a test running alongside can take it between this check and the bind by the
    program under test (a CI run once failed so: a peer's TCP port was an ephemeral port in use)."""
    high = ephemeral_low()
    for _ in range(200):
        p = random.randrange(20000, high - span, 2)
        socks = []
        try:
            for i in range(span):
                for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    s = socket.socket(socket.AF_INET, kind)
                    socks.append(s)
                    s.bind(("127.0.0.1", p + i))
            return p
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port")


@contextlib.contextmanager
def port_in_use():
    """A port on 127.0.0.1 that a listening socket holds for the duration of the `with`."""
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", free_port()))
        blocker.listen()
        yield blocker.getsockname()[1]


def ephemeral_low():
    """The first port of the kernel's ephemeral range (60000 when it leaves too little below)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
        return low if low > 21000 else 60000
    except (OSError, ValueError, IndexError):
        return 32768


def wait_until(predicate, timeout=10.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


class SimProcess:
    """A Python simulator run as a child on port 0 that prints `PORT n` as its first
    stdout line (hik_sim.py, ...); a bounded --lifetime ends it even if a test dies."""

    def __init__(self, script, *args, lifetime=60):
        self.proc = subprocess.Popen([sys.executable, script, "--port", "0", "--lifetime", str(lifetime), *args],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("PORT "), "simulator did not start: %r" % line
        self.port = int(line.split()[1])
        self.url = "http://127.0.0.1:%d" % self.port

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Daemon:
    """One daemon process on a config written into its own temp dir."""

    def __init__(self, config_text, env=None, name="daemon", port=None):
        self.dir = tempfile.mkdtemp(prefix="passerelle-e2e-")
        self.port = port or free_port()
        self.config_path = os.path.join(self.dir, "passerelle.toml")
        self.log_path = os.path.join(self.dir, name + ".stderr")
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.write_config(config_text)

    def write_config(self, config_text):
        text = textwrap.dedent(config_text).replace("@PORT@", str(self.port)).replace("@DIR@", self.dir)
        with open(self.config_path, "w") as f:
            f.write(text)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def start(self, wait_ready=True, extra_args=()):
        with open(self.log_path, "ab") as stderr:  # the child keeps its own descriptor
            self.proc = subprocess.Popen([BIN, "run", "-c", self.config_path, *extra_args],
                                         stdout=subprocess.DEVNULL, stderr=stderr, env=self.env)
        if wait_ready and not wait_until(self.healthy, timeout=15):
            raise AssertionError("daemon did not become healthy:\n" + self.log())
        return self

    def healthy(self):
        if self.proc.poll() is not None:
            raise AssertionError("daemon exited with %s:\n%s" % (self.proc.returncode, self.log()))
        try:
            return self.get("/healthz")[0] == 200
        except OSError:
            return False

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def request(self, method, path, body=None, headers=None, timeout=10):
        data = None
        headers = dict(headers or {})
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url(path), data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def get_json(self, path, **kw):
        status, body = self.get(path, **kw)
        return status, json.loads(body)

    def instance(self, name, token=None):
        """Instance `name` as /api/v1/instances lists it (health, counters, info...); None when
        the API does not answer 200 or does not list it. `token`: the API's, when it has one."""
        status, body = self.get_json("/api/v1/instances" + ("?token=" + token if token else ""))
        if status != 200:
            return None
        return next((i for i in body["instances"] if i["name"] == name), None)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=5.0):
        """SIGTERM; returns (exit code, seconds taken)."""
        if self.proc is None or self.proc.poll() is not None:
            return (self.proc.returncode if self.proc else None), 0.0
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout + 5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        return code, time.monotonic() - started

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class DaemonTestCase(unittest.TestCase):
    """A TestCase whose daemons are killed at the end of each test, whatever happened."""

    def start_daemon(self, config_text, env=None, port=None, **start):
        """A Daemon on `config_text`, started (`start`: Daemon.start's arguments)."""
        d = Daemon(config_text, env=env, port=port)
        self.addCleanup(d.kill)
        return d.start(**start)

    def stop_cleanly(self, d):
        """Stops `d` with SIGTERM and asserts it exits 0; returns the seconds it took."""
        code, seconds = d.stop()
        self.assertEqual(code, 0, d.log())
        return seconds


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    events = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                events.append(json.loads(line))
    return events


def run_cli(*args, env=None, timeout=30):
    proc = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))
    return proc.returncode, proc.stdout, proc.stderr
