#!/usr/bin/env python3
"""SIP load benchmark: N simultaneous inbound calls (SIPp) into one passerelle daemon,
each hearing a 10 s message (a WAV, so that TTS time is not measured). Prints the
daemon's CPU time, peak RSS, and the RTP send jitter: for every packet, its arrival time
minus the 20 ms grid of its stream (t0 + (ts - ts0) / 8000), p50 and p99 over all calls.
Arrival times are taken by this process on loopback, so the figure is an upper bound of
the daemon's own send jitter. Stdlib only.

  PASSERELLE_BIN=build/bin/passerelle python3 bench/sip/bench_sip.py --calls 100 --rate 50
"""
import argparse
import math
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "e2e"))
from daemon_harness import Daemon  # noqa: E402


def udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_stats(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    hwm = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    return cpu, hwm


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(math.ceil(p / 100.0 * len(values))) - 1)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=100)
    ap.add_argument("--rate", type=float, default=50, help="new calls per second")
    ap.add_argument("--seconds", type=float, default=10, help="message length and call hold")
    args = ap.parse_args()
    if not shutil.which("sipp"):
        print("sipp missing (apt-get install sip-tester)")
        return 77
    tmp = tempfile.mkdtemp(prefix="bench-sip-")
    wav_path = os.path.join(tmp, "message.wav")
    w = wave.open(wav_path, "wb")
    w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
    w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 8000)))
                           for i in range(int(args.seconds * 8000))))
    w.close()
    sip_port = udp_port()
    base = random.randrange(20000, 50000, 2)
    d = Daemon("""
[daemon]
state_dir = "@DIR@/state"
[daemon.api]
listen = "127.0.0.1:@PORT@"
[instance.phone]
module = "sip"
user = "passerelle"
listen = "127.0.0.1:%d"
allowed_hosts = ["127.0.0.1"]
rtp_ports = "%d-%d"
max_calls = %d
max_call = "%ds"
after_message = "wait"
messages = { "*" = "%s" }
""" % (sip_port, base, base + 2 * args.calls + 20, args.calls + 10, int(args.seconds) + 20, wav_path)).start()
    time.sleep(0.5)
    cpu0, _ = proc_stats(d.proc.pid)
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(0.5)
    hold = int(args.seconds * 1000 + 500)
    sipp = subprocess.Popen(["sipp", "127.0.0.1:%d" % sip_port, "-sf", os.path.join(HERE, "bench_uac.xml"), "-s", "passerelle",
                             "-key", "rtp_port", str(rx.getsockname()[1]), "-d", str(hold),
                             "-i", "127.0.0.1", "-p", str(udp_port()), "-r", str(args.rate), "-l", str(args.calls),
                             "-m", str(args.calls), "-nostdin", "-timeout", "%ds" % (args.seconds * 3 + 60)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp)
    streams = {}
    peak_calls = 0
    started = time.monotonic()
    while sipp.poll() is None or time.monotonic() - started < 2:
        try:
            data = rx.recv(2048)
        except socket.timeout:
            if sipp.poll() is not None:
                break
            continue
        now = time.monotonic()
        if len(data) < 12:
            continue
        _, _, _, ts, ssrc = struct.unpack("!BBHII", data[:12])
        streams.setdefault(ssrc, []).append((now, ts))
        peak_calls = max(peak_calls, len(streams))
    cpu1, hwm = proc_stats(d.proc.pid)
    wall = time.monotonic() - started
    code = sipp.wait()
    d.stop()
    devs = []
    packets = 0
    for pkts in streams.values():
        t0, ts0 = pkts[0]
        # The earliest packet relative to the grid defines the offset (network + scheduling floor).
        offs = [t - t0 - ((ts - ts0) & 0xffffffff) / 8000.0 for t, ts in pkts]
        floor = min(offs)
        devs.extend((o - floor) * 1000 for o in offs)
        packets += len(pkts)
    print("calls: %d (sipp exit %d), RTP streams seen: %d, packets: %d" % (args.calls, code, len(streams), packets))
    print("daemon CPU: %.2f s over %.1f s wall (%.0f%% of one core), peak RSS: %.1f MiB"
          % (cpu1 - cpu0, wall, 100 * (cpu1 - cpu0) / wall, hwm / 1024))
    print("RTP jitter vs the 20 ms grid (ms): p50 %.2f  p99 %.2f  max %.2f" % (pct(devs, 50), pct(devs, 99), max(devs or [0])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
