#!/usr/bin/env python3
"""N Hikvision devices -> one passerelle daemon -> filelog.

Starts build/bench/hikvision_loadgen (N alertStream connections served from
one 127.0.0.1 port, real NVR parts, write time in eventDescription), generates
a config with N hikvision instances and a filelog sink, starts the daemon,
waits for every instance to be connected, then measures over --window s:
events/s written to the file log, latency from the generator's write to the
moment the line is seen in the file (p50/p99, tailing every 2 ms), daemon CPU
(utime+stime from /proc/<pid>/stat) and peak RSS (VmHWM).

  python3 bench/hikvision/run_fleet.py --devices 1000 --rate 5000
  python3 bench/hikvision/run_fleet.py --devices 100 --rate 200000   # saturation
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../.."))
sys.path.insert(0, os.path.join(ROOT, "bench", "common"))
from proc_stats import proc_cpu_s, vm  # noqa: E402
TS = re.compile(rb'"description":"bench (\d+)"')


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status(pid, key):
    return vm(pid, key) * 1024  # kB


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=5000, help="aggregate parts/s (each part is one event)")
    ap.add_argument("--window", type=float, default=20)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--connect-timeout", type=float, default=120,
                    help="seconds allowed for every device to connect (raise it under valgrind)")
    ap.add_argument("--no-outbox", action="store_true",
                    help="give the filelog sink outbox = false (memory queue instead of the SQLite outbox)")
    ap.add_argument("--wrap", default="",
                    help='command the daemon runs under, e.g. "valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out" '
                         "(instructions per event: divide by the events written)")
    ap.add_argument("--on-window", default="",
                    help='shell command run as the window opens, {pid} replaced by the daemon\'s pid, e.g. '
                         '"callgrind_control -z {pid}" so that a --wrap profile holds the steady state only, '
                         'not the connection of every device')
    ap.add_argument("--coalesce", default=None,
                    help='[daemon] coalesce for the daemon, e.g. "1ms" (default: unset, each module\'s own)')
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="hik-fleet-")
    loadgen = subprocess.Popen([os.path.join(args.build, "bench/hikvision_loadgen"), "--port", "0", "--rate",
                                str(args.rate), "--duration", str(args.window + args.warmup + 120)],
                               stdout=subprocess.PIPE, text=True)
    port = int(loadgen.stdout.readline().split()[1])
    api = free_port()
    log = os.path.join(work, "events.log")
    cfg = [f'[daemon]\nstate_dir = "{work}/state"\nmodules = ["{args.build}/lib/passerelle"]\n' +
           (f'coalesce = "{args.coalesce}"\n' if args.coalesce else ''),
           f'[daemon.api]\nlisten = "127.0.0.1:{api}"\n',
           f'[instance.events]\nmodule = "filelog"\npath = "{log}"\nmax_size = "0"\n' +
           ('outbox = false\n' if args.no_outbox else ''),
           '[[route]]\nwhen = { module = "hikvision" }\nto = "events"\n']
    for i in range(args.devices):
        cfg.append(f'[instance.cam{i:04d}]\nmodule = "hikvision"\nurl = "http://127.0.0.1:{port}"\nuser = ""\n'
                   'heartbeat_timeout = "40s"\ninactive_timeout = "30s"\n')
    conf = os.path.join(work, "passerelle.toml")
    with open(conf, "w") as f:
        f.write("\n".join(cfg))
    daemon = subprocess.Popen(args.wrap.split() + [os.path.join(args.build, "bin/passerelle"), "run", "-c", conf],
                              stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "daemon.stderr"), "wb"))
    ok = False
    try:
        def connected():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{api}/api/v1/instances", timeout=5) as r:
                    body = json.loads(r.read())
                return sum(1 for i in body["instances"] if i["module"] == "hikvision" and i["health"] == "connected")
            except OSError:
                return 0
        t_start = time.monotonic()
        while connected() < args.devices:
            if daemon.poll() is not None or time.monotonic() - t_start > args.connect_timeout:
                sys.exit("daemon did not connect every device; see " + work)
            time.sleep(0.5)
        t_connect = time.monotonic() - t_start
        rss_connected = proc_status(daemon.pid, "VmRSS")
        time.sleep(args.warmup)

        latencies = []
        lines = [0]
        stop = threading.Event()

        def tail():
            with open(log, "rb") as f:
                f.seek(0, 2)
                rest = b""
                while not stop.is_set():
                    chunk = f.read()
                    if not chunk:
                        time.sleep(0.002)
                        continue
                    now = time.time_ns()
                    data = rest + chunk
                    cut = data.rfind(b"\n") + 1
                    rest = data[cut:]
                    n = data.count(b"\n", 0, cut)
                    lines[0] += n
                    # at most ~2000 samples per read keep the tailer cheap. Starts only:
                    # a synthesized or folded stop carries its start's attributes, so
                    # its "bench <ns>" is the start's write time (it would measure how
                    # long the event lasted, not how late the line is).
                    step = max(1, n // 2000)
                    for k, line in enumerate(data[:cut].split(b"\n")):
                        if k % step == 0 and b'"state":"start"' in line:
                            m = TS.search(line)
                            if m:
                                latencies.append((now - int(m.group(1))) / 1e6)
        th = threading.Thread(target=tail, daemon=True)
        th.start()
        time.sleep(0.2)
        if args.on_window:
            subprocess.run(args.on_window.replace("{pid}", str(daemon.pid)), shell=True, check=False)
        cpu0, l0, t0 = proc_cpu_s(daemon.pid), lines[0], time.monotonic()
        time.sleep(args.window)
        cpu1, l1, t1 = proc_cpu_s(daemon.pid), lines[0], time.monotonic()
        stop.set()
        th.join()
        hwm = proc_status(daemon.pid, "VmHWM")
        latencies.sort()

        def pct(p):
            return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] if latencies else float("nan")
        eps = (l1 - l0) / (t1 - t0)
        user = 100 * (cpu1[0] - cpu0[0]) / (t1 - t0)
        system = 100 * (cpu1[1] - cpu0[1]) / (t1 - t0)
        cpu = user + system
        print(f"devices {args.devices}  offered {args.rate:.0f} events/s  connected in {t_connect:.1f} s")
        print(f"events/s written {eps:.0f}   latency p50 {pct(50):.1f} ms  p99 {pct(99):.1f} ms  (n={len(latencies)})")
        print(f"daemon CPU {cpu:.1f}% of one core (user {user:.1f}, system {system:.1f})   RSS connected {rss_connected / 1024:.1f} MiB   peak RSS (VmHWM) {hwm / 1024:.1f} MiB")
        ok = True
    finally:
        daemon.terminate()
        try:
            daemon.wait(180 if args.wrap else 20)  # a daemon under valgrind takes long to stop and dump
        except subprocess.TimeoutExpired:
            daemon.kill()
        loadgen.terminate()
        loadgen.wait()
        if ok:  # a failed run keeps its directory: the message points there
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
