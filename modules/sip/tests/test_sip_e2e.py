"""End-to-end tests of the sip module: the real daemon against real peers
(Kamailio as registrar/proxy, SIPp, baresip) from ../shared/peers/sip, all on
127.0.0.1 with bounded lifetimes. Run directly: exits 77 (ctest SKIP) when a
peer binary is missing."""
import glob
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

from daemon_harness import Daemon, config, file_log, free_port, instance, read_jsonl, wait_until

SHARED = os.environ.get("PASSERELLE_SHARED_DIR", os.path.join(os.path.dirname(__file__), "../../../../shared"))
PEERS = os.path.join(SHARED, "peers", "sip")
HERE = os.path.dirname(os.path.abspath(__file__))
NEEDED = ["kamailio", "sipp", "baresip", "espeak-ng"]


def udp_port(span=1):
    """Even port p with p .. p+span-1 free (UDP and TCP: baresip also listens on TCP on its
    SIP port, SIP port + 1 and its console port)."""
    return free_port(span)


def sip_request(method, uri, extra="", body="", call_id=None, to_tag=None):
    call_id = call_id or "%08x@test" % random.getrandbits(32)
    to = "<%s>" % uri + (";tag=%s" % to_tag if to_tag else "")
    return ("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;rport;branch=z9hG4bK%08x\r\nFrom: <sip:probe@127.0.0.1>;tag=p1\r\n"
            "To: %s\r\nCall-ID: %s\r\nCSeq: 1 %s\r\nMax-Forwards: 70\r\n%sContent-Length: %d\r\n\r\n%s"
            % (method, uri, random.getrandbits(32), to, call_id, method, extra, len(body), body)).encode()


class Peers:
    """Starts peers in a temp dir and kills them at the end."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sip-e2e-")
        self.procs = []

    def spawn(self, args, log_name, **kw):
        log = open(os.path.join(self.dir, log_name), "wb")
        with log:  # the child keeps its own descriptor
            p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.dir, **kw)
        self.procs.append(p)
        return p

    def kamailio(self, *extra, lifetime=120):
        port = udp_port()
        self.kport = port
        self.klog = os.path.join(self.dir, "kamailio.log")
        self.spawn([os.path.join(PEERS, "start-kamailio"), str(port), os.path.join(self.dir, "k"), str(lifetime), *extra],
                   "kamailio.log")
        # Ready when it answers an OPTIONS.
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(0.3)
        deadline = time.monotonic() + 15
        try:
            while time.monotonic() < deadline:
                s.sendto(sip_request("OPTIONS", "sip:127.0.0.1:%d" % port), ("127.0.0.1", port))
                try:
                    if s.recv(4096).startswith(b"SIP/2.0 200"):
                        return port
                except socket.timeout:
                    pass
        finally:
            s.close()
        raise AssertionError("kamailio did not start:\n" + self.read("kamailio.log"))

    def read(self, name):
        try:
            with open(os.path.join(self.dir, name), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def kamailio_count(self, pattern):
        return len(re.findall(pattern, self.read("kamailio.log")))

    def sipp(self, args, log_name, timeout=40):
        p = self.spawn(["sipp", *args, "-nostdin", "-timeout", str(timeout) + "s"], log_name)
        return p

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if not os.environ.get("PASSERELLE_KEEP_PEERS"):  # set it to read the peers' logs afterwards
            shutil.rmtree(self.dir, ignore_errors=True)


def daemon_config(settings):
    """The sip instance `phone` (`settings`: its TOML lines) and its events to a file log (events.jsonl)."""
    return config(instance("phone", "sip", settings), file_log("phone", path="events.jsonl"))


def events(d, type_=None):
    return [e for e in read_jsonl(d.path("events.jsonl")) if type_ is None or e["type"] == type_]


class SipE2E(unittest.TestCase):
    def setUp(self):
        self.peers = Peers()
        self.daemons = []

    def tearDown(self):
        for d in self.daemons:
            d.stop()
        self.peers.stop()

    def start_daemon(self, registrar=True, password="secretp", extra=""):
        self.sip_port = udp_port()
        rtp = udp_port(20)
        reg = 'registrar = "sip:127.0.0.1:%d"\npassword = "%s"' % (self.peers.kport, password) if registrar else ""
        settings = """
user = "passerelle"
%s
listen = "127.0.0.1:%d"
rtp_ports = "%d-%d"
expires = 300
%s
""" % (reg, self.sip_port, rtp, rtp + 19, extra)
        d = Daemon(daemon_config(settings)).start()
        self.daemons.append(d)
        return d

    def wait_registered(self, d):
        ok = wait_until(lambda: [e for e in events(d, "registration") if e["code"] == "REGISTERED"], timeout=15)
        self.assertTrue(ok, "not registered:\n%s\n%s" % (d.log(), self.peers.read("kamailio.log")[-3000:]))

    # --- registration -----------------------------------------------------------------

    def test_register_good_password_then_unregister_on_stop(self):
        self.peers.kamailio()
        d = self.start_daemon()
        self.wait_registered(d)
        self.assertEqual(self.peers.kamailio_count(r"REQ REGISTER"), 2)  # unauthenticated, then answered 401
        self.assertEqual(self.peers.kamailio_count(r"SAVED sip:passerelle@"), 1)
        reg = [e for e in events(d, "registration") if e["code"] == "REGISTERED"][0]
        self.assertEqual(reg["state"], "start")
        log = d.log()
        self.assertNotIn("secretp", log)
        # Nor the Authorization value (digest response) of the REGISTER.
        self.assertNotIn("Digest", log)
        self.assertNotIn("response=", log)
        d.stop()
        self.assertTrue(wait_until(lambda: self.peers.kamailio_count(r"REQ REGISTER") >= 3, timeout=5))

    def test_refresh_at_80_percent_of_the_granted_expiry(self):
        self.peers.kamailio("-A", "MAXEXPIRES=10")  # asks 300 s, granted 10 s: refresh after ~8 s
        d = self.start_daemon()
        self.wait_registered(d)
        t0 = time.monotonic()
        saved = wait_until(lambda: self.peers.kamailio_count(r"SAVED sip:passerelle@") >= 2, timeout=14)
        elapsed = time.monotonic() - t0
        self.assertTrue(saved, self.peers.read("kamailio.log")[-2000:])
        self.assertGreater(elapsed, 6)
        self.assertLess(elapsed, 12)
        self.assertLessEqual(self.peers.kamailio_count(r"REQ REGISTER"), 4)  # cached nonce, or one new challenge
        reg = [e for e in events(d, "registration") if e["code"] == "REGISTERED"]
        self.assertIn("10 s", reg[0]["attrs"]["reason"])

    def test_wrong_password_fails_once_without_hammering(self):
        for mode in ([], ["-A", "RECHALLENGE"]):
            with self.subTest(mode=mode or "403"):
                self.peers.stop()
                self.peers = Peers()
                self.peers.kamailio(*mode)
                d = self.start_daemon(password="wrong")
                failed = wait_until(lambda: [e for e in events(d, "registration") if e["code"] == "FAILED"], timeout=15)
                self.assertTrue(failed, d.log())
                self.assertEqual(failed[0]["state"], "stop")
                time.sleep(4)  # a hammering UA would send a REGISTER every few seconds
                self.assertEqual(self.peers.kamailio_count(r"REQ REGISTER"), 2)
                status, inst = d.get_json("/api/v1/instances")
                self.assertIn("auth_failed", str(inst))
                self.assertNotIn("wrong", d.log())
                d.stop()

    # --- incoming calls ---------------------------------------------------------------

    def test_sipp_call_with_rfc4733_and_info_digits(self):
        self.peers.kamailio()
        d = self.start_daemon(extra='after_message = "wait"\nmax_call = "30s"\nmessages = { "*" = "Bonjour", '
                                     '"0612345678" = "Bonjour monsieur" }\nmenu = { "59" = "Portail ouvert" }\nmenu_pause = "1s"')
        self.wait_registered(d)
        mp = udp_port(3)
        p = self.peers.sipp(["127.0.0.1:%d" % self.peers.kport, "-sf", os.path.join(PEERS, "uac-call.xml"), "-s", "passerelle",
                             "-au", "200", "-ap", "secret200", "-key", "caller", "0612345678",
                             "-key", "dtmf_pcap", "/usr/share/sip-tester/dtmf_2833_5.pcap", "-key", "info_digit", "9",
                             "-i", "127.0.0.1", "-p", str(udp_port()), "-mi", "127.0.0.1", "-mp", str(mp), "-m", "1"],
                            "uac.log")
        self.assertEqual(p.wait(timeout=40), 0, self.peers.read("uac.log")[-3000:] + d.log())
        ended = wait_until(lambda: [e for e in events(d, "call") if e["code"] == "ENDED"], timeout=5)
        self.assertTrue(ended, d.log())
        calls = events(d, "call")
        codes = [e["code"] for e in calls]
        self.assertEqual(codes, ["RINGING", "ANSWERED", "ENDED"])
        self.assertEqual(calls[1]["state"], "start")
        self.assertEqual(calls[2]["state"], "stop")
        for e in calls:
            self.assertEqual(e["attrs"]["caller"], "0612345678")
            self.assertEqual(e["attrs"]["callee"], "passerelle")
            self.assertEqual(e["attrs"]["direction"], "inbound")
            self.assertEqual(e["attrs"]["call_id"], calls[0]["attrs"]["call_id"])
        self.assertTrue(calls[0]["attrs"]["call_id"])
        self.assertEqual(calls[2]["attrs"]["reason"], "remote_bye")
        digits = [(e["attrs"]["digit"], e["attrs"]["method"]) for e in events(d, "dtmf")]
        self.assertEqual(digits, [("5", "rfc4733"), ("9", "info")])
        seq = wait_until(lambda: events(d, "dtmf_sequence"), timeout=3)
        self.assertTrue(seq)
        self.assertEqual(seq[0]["attrs"]["sequence"], "59")
        self.assertEqual(seq[0]["attrs"]["matched"], "true")

    def test_caller_cancels_while_it_rings(self):
        self.peers.kamailio()
        d = self.start_daemon(extra='answer_after = "5s"\nmessages = { "*" = "Bonjour" }')
        self.wait_registered(d)
        p = self.peers.sipp(["127.0.0.1:%d" % self.peers.kport, "-sf", os.path.join(HERE, "uac_cancel_while_ringing.xml"),
                             "-s", "passerelle", "-au", "200", "-ap", "secret200", "-key", "caller", "0611111111",
                             "-i", "127.0.0.1", "-p", str(udp_port()), "-mi", "127.0.0.1", "-mp", str(udp_port(3)),
                             "-m", "1"], "uac-cancel.log")
        self.assertEqual(p.wait(timeout=40), 0, self.peers.read("uac-cancel.log")[-3000:] + d.log())
        ended = wait_until(lambda: [e for e in events(d, "call") if e["code"] == "ENDED"], timeout=5)
        self.assertTrue(ended, d.log())
        self.assertEqual([e["code"] for e in events(d, "call")], ["RINGING", "ENDED"])
        self.assertEqual(ended[0]["attrs"]["reason"], "cancelled")
        self.assertEqual(ended[0]["attrs"]["caller"], "0611111111")
        status, inst = d.get_json("/api/v1/instances")
        self.assertIn("registered", str(inst))  # the UA is still up for the next call

    def baresip_log(self):
        """baresip's log without its once-a-tick bit-rate lines, which would bury the rest."""
        lines = [l for l in self.peers.read("baresip.log").splitlines() if l.strip() and "audio=" not in l]
        return "\n".join(lines)[-4000:]

    def test_baresip_hears_the_message(self):
        self.peers.kamailio()
        d = self.start_daemon(extra='after_message = "wait"\nmessages = { "*" = "Bonjour, vous etes bien chez passerelle. Merci de votre appel." }')
        self.wait_registered(d)
        time.sleep(1.5)  # the message is synthesized at start
        bdir = os.path.join(self.peers.dir, "b")
        bport = udp_port(42)
        cons = udp_port()
        while bport <= cons < bport + 42:  # baresip's own SIP and RTP ports
            cons = udp_port()
        p = self.peers.spawn([os.path.join(PEERS, "start-baresip"), bdir, str(bport), str(cons),
                              "<sip:200@127.0.0.1:%d>;auth_pass=secret200" % self.peers.kport, "8",
                              "-e", "/dial sip:passerelle@127.0.0.1:%d" % self.peers.kport], "baresip.log")
        answered = wait_until(lambda: [e for e in events(d, "call") if e["code"] == "ANSWERED"], timeout=15)
        self.assertTrue(answered, self.baresip_log() + d.log())
        established = wait_until(lambda: "Call established" in self.peers.read("baresip.log"), timeout=10)
        self.assertTrue(established, self.baresip_log())
        self.assertNotIn("module cons.so", self.peers.read("baresip.log"), "baresip cannot take keys")
        time.sleep(3)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"5", ("127.0.0.1", cons))
            time.sleep(0.3)
            s.sendto(b"\x04", ("127.0.0.1", cons))
        ended = wait_until(lambda: [e for e in events(d, "call") if e["code"] == "ENDED"], timeout=20)
        self.assertTrue(ended, self.baresip_log() + d.log())
        p.terminate()
        p.wait(timeout=10)
        recs = glob.glob(os.path.join(bdir, "rec", "*-dec.wav"))
        self.assertTrue(recs, self.baresip_log())
        out = subprocess.run([sys.executable, os.path.join(PEERS, "wav-level"), *recs], capture_output=True, text=True).stdout
        seconds = max(float(line.split()[1]) for line in out.splitlines())
        self.assertGreater(seconds, 0.5, out)
        digits = [e["attrs"]["digit"] for e in events(d, "dtmf")]
        self.assertEqual(digits, ["5"], self.baresip_log())

    # --- outgoing calls and messages -----------------------------------------------------

    def register_sipp_phone(self, uas_port):
        r = self.peers.sipp(["127.0.0.1:%d" % self.peers.kport, "-sf", os.path.join(PEERS, "register.xml"), "-s", "200",
                             "-ap", "secret200", "-key", "contact_port", str(uas_port), "-i", "127.0.0.1",
                             "-p", str(udp_port()), "-m", "1"], "register.log")
        self.assertEqual(r.wait(timeout=20), 0, self.peers.read("register.log")[-2000:])

    def test_outbound_call_rtp_is_paced_and_well_formed(self):
        self.peers.kamailio()
        d = self.start_daemon()
        self.wait_registered(d)
        uas_port = udp_port()
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", 0))
        probe.settimeout(0.5)
        rtp_port = probe.getsockname()[1]
        uas = self.peers.sipp(["-sf", os.path.join(HERE, "uas_rtp_probe.xml"), "-i", "127.0.0.1", "-p", str(uas_port),
                               "-mi", "127.0.0.1", "-mp", str(udp_port(3)), "-key", "rtp_port", str(rtp_port), "-m", "1",
                               "-trace_msg", "-message_file", os.path.join(self.peers.dir, "uas.msg")], "uas.log")
        self.register_sipp_phone(uas_port)
        import threading
        result = {}

        def act():
            result["r"] = d.get("/api/v1/instances/phone/actions/call?to=200&message=Bonjour%2C%20ceci%20est%20un%20test.",
                                timeout=40)
        t = threading.Thread(target=act)
        t.start()
        packets = []
        sources = set()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and t.is_alive():
            try:
                data, src = probe.recvfrom(2048)
                packets.append((time.monotonic(), data))
                sources.add(src)
            except socket.timeout:
                pass
        t.join(timeout=15)
        probe.close()
        status, body = result.get("r", (0, ""))
        self.assertEqual(status, 200, body + d.log())
        self.assertIn('"answered"', body)
        self.assertEqual(uas.wait(timeout=30), 0, self.peers.read("uas.log")[-2000:])
        self.assertGreater(len(packets), 25, "RTP packets received: %d" % len(packets))
        hdrs = [struct.unpack("!BBHII", p[:12]) for _, p in packets]
        self.assertEqual({h[4] for h in hdrs}, {hdrs[0][4]}, "one SSRC")
        self.assertTrue(hdrs[0][1] & 0x80, "marker on the first packet")
        self.assertEqual({h[1] & 0x7f for h in hdrs}, {0}, "PCMU as answered")
        ts_steps = []
        for a, b in zip(hdrs, hdrs[1:]):
            self.assertEqual((b[2] - a[2]) & 0xffff, 1)
            ts_steps.append((b[3] - a[3]) & 0xffffffff)
        # +160 per packet; after a stall of the host (a frame late by 20 ms or more) the pacer
        # re-anchors instead of bursting the late frames, and the timestamp jumps by the
        # slots that went by.
        self.assertTrue(all(t % 160 == 0 and 0 < t <= 160 * 100 for t in ts_steps), ts_steps)
        self.assertGreaterEqual(ts_steps.count(160), 0.9 * len(ts_steps), ts_steps)
        self.assertEqual({len(p) - 12 for _, p in packets}, {160})
        gaps = sorted(b[0] - a[0] for a, b in zip(packets, packets[1:]))
        median = gaps[len(gaps) // 2]
        self.assertGreater(median, 0.015)
        self.assertLess(median, 0.025)
        # Paced on the 20 ms grid, no burst: wall time matches the media time.
        span = packets[-1][0] - packets[0][0]
        media = sum(ts_steps) / 8000.0
        self.assertAlmostEqual(span, media, delta=0.1 + 0.02 * media)
        calls = [e["code"] for e in events(d, "call")]
        self.assertEqual(calls, ["DIALING", "RINGING", "ANSWERED", "ENDED"])
        invite = self.peers.read("uas.msg")
        self.assertIn("INVITE sip:200@", invite)
        self.assertRegex(invite, r"m=audio \d+ RTP/AVP 0 8 101")
        # Symmetric RTP: every packet comes from the port our SDP offered.
        offered = int(re.search(r"m=audio (\d+) RTP/AVP", invite).group(1))
        self.assertEqual(sources, {("127.0.0.1", offered)})
        self.assertGreaterEqual(self.peers.kamailio_count(r"REQ INVITE sip:200@"), 2)  # the 407 dance

    def test_message_is_delivered(self):
        self.peers.kamailio()
        d = self.start_daemon()
        self.wait_registered(d)
        uas_port = udp_port()
        uas = self.peers.sipp(["-sf", os.path.join(PEERS, "uas.xml"), "-i", "127.0.0.1", "-p", str(uas_port),
                               "-mi", "127.0.0.1", "-mp", str(udp_port(3)), "-m", "1",
                               "-trace_msg", "-message_file", os.path.join(self.peers.dir, "uas.msg")], "uas.log")
        self.register_sipp_phone(uas_port)
        status, body = d.get("/api/v1/instances/phone/actions/message?to=200&text=Portail%20ouvert%20%C3%A9t%C3%A9")
        self.assertEqual(status, 200, body + d.log())
        self.assertIn("delivered", body)
        self.assertEqual(uas.wait(timeout=20), 0)
        msg = self.peers.read("uas.msg")
        self.assertIn("Portail ouvert été", msg)
        self.assertIn("text/plain;charset=UTF-8", msg)
        # An incoming MESSAGE becomes a message event.
        m = self.peers.sipp(["127.0.0.1:%d" % self.peers.kport, "-sf", os.path.join(PEERS, "message.xml"), "-s", "passerelle",
                             "-au", "200", "-ap", "secret200", "-key", "caller", "200", "-key", "text", "Hello",
                             "-i", "127.0.0.1", "-p", str(udp_port()), "-m", "1"], "msg.log")
        self.assertEqual(m.wait(timeout=20), 0, self.peers.read("msg.log")[-2000:])
        got = wait_until(lambda: events(d, "message"), timeout=5)
        self.assertTrue(got)
        self.assertEqual(got[0]["attrs"]["from"], "200")
        self.assertIn("Hello", got[0]["attrs"]["text"])

    # --- hostile input ------------------------------------------------------------------

    def test_hostile_input_and_missing_ack(self):
        d = self.start_daemon(registrar=False, extra='allowed_hosts = ["127.0.0.1"]\nmessages = { "*" = "Bonjour" }')
        target = ("127.0.0.1", self.sip_port)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(2)
        uri = "sip:passerelle@127.0.0.1:%d" % self.sip_port
        # Garbage, truncated and huge datagrams: dropped, the UA still answers.
        for junk in (b"\x00" * 100, os.urandom(1400), b"INVITE sip:x SIP/2.0\r\n", b"\r\n\r\n",
                     sip_request("OPTIONS", uri, extra="X-Big: %s\r\n" % ("a" * 20000)),
                     sip_request("OPTIONS", uri, extra="".join("X-%d: y\r\n" % i for i in range(500)))):
            s.sendto(junk[:65000], target)
        s.sendto(sip_request("OPTIONS", uri), target)
        self.assertTrue(s.recv(4096).startswith(b"SIP/2.0 200"))
        # A BYE for a dialog that does not exist.
        s.sendto(sip_request("BYE", uri, call_id="nope@x", to_tag="zz"), target)
        self.assertTrue(s.recv(4096).startswith(b"SIP/2.0 481"))
        # Unknown method, 100rel.
        s.sendto(sip_request("SUBSCRIBE", uri), target)
        self.assertTrue(s.recv(4096).startswith(b"SIP/2.0 405"))
        sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"
        s.sendto(sip_request("INVITE", uri, extra="Require: 100rel\r\nContact: <sip:probe@127.0.0.1:9>\r\nContent-Type: application/sdp\r\n", body=sdp), target)
        self.assertTrue(s.recv(4096).startswith(b"SIP/2.0 420"))
        # No common codec: 488.
        s.sendto(sip_request("INVITE", uri, extra="Content-Type: application/sdp\r\nContact: <sip:probe@127.0.0.1:9>\r\n",
                             body=sdp.replace("RTP/AVP 0", "RTP/AVP 18")), target)
        self.assertTrue(s.recv(4096).startswith(b"SIP/2.0 488"))
        # A host that is not allowed gets 403.
        other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        other.bind(("127.0.0.2", 0))
        other.settimeout(2)
        other.sendto(sip_request("OPTIONS", uri), target)
        self.assertTrue(other.recv(4096).startswith(b"SIP/2.0 403"))
        other.close()
        # Counted: exactly one rejected request (127.0.0.1 is allowed, so only this one).
        status, metrics = d.get("/metrics")
        self.assertRegex(metrics, r'(?m)^passerelle_module_sip_rejected_requests_total\{[^}]*instance="phone"[^}]*\} 1$')
        # An INVITE never ACKed: 180, 200, the 200 again on T1, 2T1, 4T1... then a BYE at ~32 s.
        port = s.getsockname()[1]
        s.sendto(sip_request("INVITE", uri, extra="Contact: <sip:probe@127.0.0.1:%d>\r\nContent-Type: application/sdp\r\n" % port,
                             body=sdp), target)
        got = []
        start = time.monotonic()
        s.settimeout(1)
        while time.monotonic() - start < 40:
            try:
                data = s.recv(4096)
            except socket.timeout:
                continue
            got.append((time.monotonic() - start, data.split(b"\r\n", 1)[0]))
            if data.startswith(b"BYE"):
                break
        lines = [l for _, l in got]
        self.assertEqual(lines[0], b"SIP/2.0 180 Ringing")
        oks = [t for t, l in got if l.startswith(b"SIP/2.0 200")]
        self.assertGreaterEqual(len(oks), 7, got)
        self.assertTrue(lines[-1].startswith(b"BYE"), got)
        self.assertGreater(got[-1][0], 30)
        ended = wait_until(lambda: [e for e in events(d, "call") if e["code"] == "ENDED"], timeout=3)
        self.assertEqual(ended[0]["attrs"]["reason"], "no_ack")
        s.close()
        self.assertIsNone(d.proc.poll(), "the daemon survived")


if __name__ == "__main__":
    missing = [b for b in NEEDED if not shutil.which(b)]
    if missing:
        print("SKIP: peer programs missing: %s (apt-get install kamailio sip-tester baresip-core espeak-ng)"
              % ", ".join(missing))
        sys.exit(77)
    if not os.path.isdir(PEERS):
        print("SKIP: %s not found (PASSERELLE_SHARED_DIR)" % PEERS)
        sys.exit(77)
    unittest.main(verbosity=2)
