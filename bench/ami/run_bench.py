#!/usr/bin/env python3
"""AMI benchmark through the real daemon: a busy PBX (ami_loadgen replaying the
captured calls 16 and 17 with fresh ids, as fast as the daemon drains its
socket) -> one passerelle daemon (asterisk module, one instance) -> filelog.

Prints, over the measured window (after a warm-up):
- AMI events/s parsed by the module (its ami_events counter, /metrics),
- passerelle events/s published by the instance (passerelle_events_in_total)
  and lines/s written to the file log (tailed),
- daemon CPU from /proc/PID/stat (user and system, % of one core) and AMI
  events per CPU-second (events/s per core when the daemon uses more than one),
- peak RSS (VmHWM).
Then, unless --skip-parser, the in-process parser figure (bench_ami).

  python3 bench/ami/run_bench.py [--duration 20] [--rate 0 (calls/s, 0 = as fast as it can)]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "bench", "common"))
from proc_stats import proc_cpu_s, vm  # noqa: E402





def metrics(api_port):
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % api_port, timeout=5).read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(r'^(\w+)\{instance="(\w+)"[^}]*\} (\d+)', line)
        if m:
            out[(m.group(1), m.group(2))] = int(m.group(3))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--duration", type=float, default=20, help="measured seconds (after warm-up)")
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--rate", type=float, default=0, help="calls/s asked of the generator (0: as fast as it can)")
    ap.add_argument("--version", default="20.20.1", help="which captures to replay (20.20.1 or 13.38.3)")
    ap.add_argument("--no-outbox", action="store_true", help="filelog with outbox = false (memory queue)")
    ap.add_argument("--skip-parser", action="store_true")
    args = ap.parse_args()

    daemon = os.path.join(args.build, "bin", "passerelle")
    loadgen = os.path.join(args.build, "bench", "ami_loadgen")
    tmp = tempfile.mkdtemp(prefix="ami-bench-")
    port_file = os.path.join(tmp, "port")
    gen = subprocess.Popen([loadgen, "--port", "0", "--port-file", port_file, "--version", args.version,
                            "--rate", str(args.rate), "--duration", str(args.warmup + args.duration + 20)],
                           stdout=subprocess.PIPE, text=True)
    deadline = time.time() + 10
    while not os.path.exists(port_file) and time.time() < deadline:
        time.sleep(0.02)
    port = int(open(port_file).read())

    api_port = 18000 + os.getpid() % 10000
    log = os.path.join(tmp, "events.log")
    cfg = "\n".join([
        "[daemon]", 'state_dir = "%s/state"' % tmp, "[daemon.api]", 'listen = "127.0.0.1:%d"' % api_port, "",
        "[instance.pbx]", 'module = "asterisk"', 'host = "127.0.0.1"', "port = %d" % port, 'user = "passerelle"',
        'secret = "Amisecret42"', "",
        "[instance.events]", 'module = "filelog"', 'path = "%s"' % log, 'fsync = "never"', 'max_size = "0"'] +
        (["outbox = false"] if args.no_outbox else []) +
        ["", "[[route]]", 'when = { source = "pbx" }', 'to = "events"', ""])
    cfg_path = os.path.join(tmp, "passerelle.toml")
    with open(cfg_path, "w") as f:
        f.write(cfg)
    err = open(os.path.join(tmp, "daemon.stderr"), "wb")
    d = subprocess.Popen([daemon, "run", "-c", cfg_path], stdout=subprocess.DEVNULL, stderr=err)
    try:
        t_start = time.time()
        while not os.path.exists(log) and time.time() - t_start < 30:
            time.sleep(0.05)
        time.sleep(args.warmup)
        f = open(log, "rb")
        f.seek(0, os.SEEK_END)
        m0, cpu0, w0 = metrics(api_port), proc_cpu_s(d.pid), time.time()
        lines = 0
        while time.time() - w0 < args.duration:
            chunk = f.read()
            if not chunk:
                time.sleep(0.01)
                continue
            lines += chunk.count(b"\n")
        m1, cpu1, elapsed = metrics(api_port), proc_cpu_s(d.pid), time.time() - w0
        lines += f.read().count(b"\n")  # what was written up to the last sample
        user, system = (cpu1[0] - cpu0[0]) / elapsed, (cpu1[1] - cpu0[1]) / elapsed
        cores = user + system

        def rate(name, inst):
            return (m1.get((name, inst), 0) - m0.get((name, inst), 0)) / elapsed

        ami = rate("passerelle_module_ami_events_total", "pbx")
        published = rate("passerelle_events_in_total", "pbx")
        delivered = rate("passerelle_events_out_total", "events")
        errors = m1.get(("passerelle_module_parse_errors_total", "pbx"), 0)
        reconnects = m1.get(("passerelle_module_reconnects_total", "pbx"), 0)
        print("AMI events parsed      %.0f /s (module counter ami_events); parse errors %d, reconnects %d"
              % (ami, errors, reconnects))
        print("passerelle events      %.0f /s published by the instance, %.0f /s acknowledged by filelog, "
              "%.0f lines/s written to the file log" % (published, delivered, lines / elapsed))
        print("daemon CPU             %.1f%% of one core (user %.1f%%, system %.1f%%) -> %.0f AMI events per CPU-second"
              % (cores * 100, user * 100, system * 100, ami / cores if cores else 0))
        print("daemon memory          RSS %.1f MiB, peak RSS (VmHWM) %.1f MiB" % (vm(d.pid, "VmRSS"), vm(d.pid, "VmHWM")))
        print("window                 %.1f s after %.1f s warm-up; Asterisk %s captures 16 + 17; %s"
              % (elapsed, args.warmup, args.version, "filelog outbox off" if args.no_outbox else "filelog with its SQLite outbox"))
    finally:
        d.terminate()
        try:
            d.wait(timeout=15)
        except subprocess.TimeoutExpired:
            d.kill()
        gen.terminate()  # it prints its summary on SIGTERM
        try:
            out = gen.communicate(timeout=5)[0]
        except subprocess.TimeoutExpired:
            gen.kill()
            out = gen.communicate()[0]
        print("generator:", out.strip().splitlines()[-1] if out.strip() else "(killed before its summary)")

    bench = os.path.join(args.build, "bin", "bench_ami")
    if not args.skip_parser and os.path.exists(bench):
        out = subprocess.run([bench, "20000", args.version], stdout=subprocess.PIPE, text=True).stdout
        print("parser + call tracker in process (bench_ami):")
        for line in out.splitlines():
            print("  " + line)


if __name__ == "__main__":
    main()
