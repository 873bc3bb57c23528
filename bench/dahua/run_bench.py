#!/usr/bin/env python3
"""Dahua benchmark: N devices (dahua_loadgen) -> one passerelle daemon (dahua
module, N instances) -> filelog. Prints aggregate events/s, p50/p99 latency
from the generator's write (data.SendNs) to the moment the line is seen in the
file log (the log is tailed every 5 ms: +-5 ms resolution), daemon CPU (% of
one core, /proc/PID/stat) and peak RSS (VmHWM). Also the parser throughput on
the fixtures (dahua_cgi_dump).

  python3 bench/dahua/run_bench.py --devices 1000 --rate 5000 --duration 30
  python3 bench/dahua/run_bench.py --devices 100 --rate 200000 --duration 20   # saturation
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "bench", "common"))
from proc_stats import proc_cpu_s, vm  # noqa: E402





def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100.0 * len(values)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--devices", type=int, default=100)
    ap.add_argument("--rate", type=float, default=1000, help="aggregate events/s asked of the generator")
    ap.add_argument("--duration", type=float, default=20, help="measured seconds (after warm-up)")
    ap.add_argument("--warmup", type=float, default=5)
    ap.add_argument("--skip-parser", action="store_true")
    ap.add_argument("--no-outbox", action="store_true",
                    help="give the filelog sink outbox = false (memory queue instead of the SQLite outbox)")
    ap.add_argument("--coalesce", default=None,
                    help='[daemon] coalesce for the daemon (e.g. "0ms" to turn wake-up coalescing off; default: the daemon\'s)')
    ap.add_argument("--wrap", default="",
                    help='command the daemon runs under, e.g. "valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out" '
                         "(instructions per event: divide by the events written)")
    ap.add_argument("--harness-cpu", type=int, default=None,
                    help="pin the generator and this script (the file-log reader) to this CPU, leaving the daemon "
                         "free on all: the simulated devices then compete less with the daemon for a core, as "
                         "real cameras on other machines would not compete at all")
    args = ap.parse_args()
    all_cpus = os.sched_getaffinity(0)
    if args.harness_cpu is not None:
        os.sched_setaffinity(0, {args.harness_cpu})  # the generator, started below, inherits it

    daemon = os.path.join(args.build, "bin", "passerelle")
    loadgen = os.path.join(args.build, "bench", "dahua_loadgen")
    dump = os.path.join(args.build, "tests", "dahua_cgi_dump")
    tmp = tempfile.mkdtemp(prefix="dahua-bench-")

    if not args.skip_parser and os.path.exists(dump):
        fixtures = sorted(glob.glob(os.path.join(ROOT, "..", "shared", "fixtures", "dahua-http", "*")))
        out = subprocess.run([dump, "--quiet", "--no-map", "--repeat", "2000", "--chunk", "65536", *fixtures],
                             stdout=subprocess.PIPE, text=True, stderr=subprocess.STDOUT).stdout + \
            subprocess.run([dump, "--quiet", "--repeat", "2000", "--chunk", "65536", *fixtures],
                           stdout=subprocess.PIPE, text=True, stderr=subprocess.STDOUT).stdout
        print("parser (dahua_cgi_dump):", " | ".join(l.strip() for l in out.splitlines() if l.strip()))

    port_file = os.path.join(tmp, "port")
    total = args.warmup + args.duration + 30
    gen = subprocess.Popen([loadgen, "--port", "0", "--port-file", port_file, "--rate", str(args.rate),
                            "--duration", str(total)], stdout=subprocess.PIPE, text=True)
    deadline = time.time() + 10
    while not os.path.exists(port_file) and time.time() < deadline:
        time.sleep(0.02)
    port = int(open(port_file).read())

    api_port = 18000 + os.getpid() % 10000
    lines = ["[daemon]", 'state_dir = "%s/state"' % tmp] + \
        (['coalesce = "%s"' % args.coalesce] if args.coalesce else []) + ["[daemon.api]", 'listen = "127.0.0.1:%d"' % api_port, ""]
    for i in range(args.devices):
        lines += ["[instance.cam%d]" % i, 'module = "dahua"', 'url = "http://127.0.0.1:%d"' % port,
                  'user = "admin"', 'password = "x"', 'missed_rings = "false"', ""]
    lines += ["[instance.events]", 'module = "filelog"', 'path = "%s/events.log"' % tmp, 'fsync = "never"',
              'max_size = "0"'] + (["outbox = false"] if args.no_outbox else []) + ["", "[[route]]", 'when = { module = "dahua", type = "motion" }', 'to = "events"', ""]
    cfg = os.path.join(tmp, "passerelle.toml")
    with open(cfg, "w") as f:
        f.write("\n".join(lines))
    err = open(os.path.join(tmp, "daemon.stderr"), "wb")
    d = subprocess.Popen(args.wrap.split() + [daemon, "run", "-c", cfg], stdout=subprocess.DEVNULL, stderr=err,
                         preexec_fn=lambda: os.sched_setaffinity(0, all_cpus))
    log = os.path.join(tmp, "events.log")
    try:
        t_start = time.time()
        while not os.path.exists(log) and time.time() - t_start < 30:
            time.sleep(0.05)
        time.sleep(args.warmup)
        # Measurement window: tail the file log.
        f = open(log, "rb")
        f.seek(0, os.SEEK_END)
        cpu0, w0 = proc_cpu_s(d.pid), time.time()
        lat_ms, count, partial = [], 0, b""
        while time.time() - w0 < args.duration:
            chunk = f.read()
            now = time.time_ns()
            if not chunk:
                time.sleep(0.005)
                continue
            data = partial + chunk
            parts = data.split(b"\n")
            partial = parts.pop()
            for line in parts:
                count += 1
                i = line.find(b'"data.SendNs":"')
                if i >= 0:
                    j = line.find(b'"', i + 15)
                    lat_ms.append((now - int(line[i + 15:j])) / 1e6)
        elapsed = time.time() - w0
        (user1, sys1), (user0, sys0) = proc_cpu_s(d.pid), cpu0
        user, system = (user1 - user0) / elapsed * 100, (sys1 - sys0) / elapsed * 100
        cpu = user + system
        rss, hwm = vm(d.pid, "VmRSS"), vm(d.pid, "VmHWM")
        print("devices=%d asked=%.0f ev/s  got=%.0f ev/s  latency p50=%.1f ms p99=%.1f ms  "
              "daemon CPU=%.1f%% of one core (user %.1f, system %.1f)  RSS=%.1f MiB  peak RSS (VmHWM)=%.1f MiB"
              % (args.devices, args.rate, count / elapsed, pct(lat_ms, 50), pct(lat_ms, 99), cpu, user, system,
                 rss, hwm))
    finally:
        d.terminate()
        try:
            d.wait(timeout=15)
        except subprocess.TimeoutExpired:
            d.kill()
        gen.kill()
        out = gen.communicate()[0]
        print("generator:", out.strip().splitlines()[-1] if out.strip() else "")


if __name__ == "__main__":
    main()
