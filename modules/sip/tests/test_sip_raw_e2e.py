"""End-to-end tests of the sip module against a raw UDP SIP/RTP peer written here (no
Kamailio, SIPp or baresip): the daemon takes direct calls from 127.0.0.1 and calls a
URI on 127.0.0.1, so the test sees every byte the UA sends and can send exactly what a
case needs (Record-Route, a retransmitted INVITE, a 407 then 486, a 603, a 180 with no
answer, a MESSAGE refused with 404). Bounded: every wait has a deadline, loopback only.
Run directly; needs espeak-ng (exit 77, ctest SKIP, without it)."""
import hashlib
import os
import random
import re
import select
import shutil
import socket
import struct
import sys
import threading
import time
import unittest

from daemon_harness import Daemon, free_port, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_sip_e2e as base  # noqa: E402  (daemon_config, events)


# --- a raw SIP peer ---------------------------------------------------------------------

class Sip:
    """A parsed SIP message: first line, headers in order (lower-case names), body."""

    def __init__(self, data, addr=None):
        head, _, self.body = data.decode("utf-8", "replace").partition("\r\n\r\n")
        lines = head.split("\r\n")
        self.first = lines[0]
        self.headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers.append((name.strip().lower(), value.strip()))
        self.addr = addr
        self.raw = data

    @property
    def is_response(self):
        return self.first.startswith("SIP/2.0 ")

    @property
    def status(self):
        return int(self.first.split()[1]) if self.is_response else 0

    @property
    def method(self):
        return self.first.split()[0] if not self.is_response else self.cseq.split()[1]

    def all(self, name):
        return [v for n, v in self.headers if n == name.lower()]

    def get(self, name):
        v = self.all(name)
        return v[0] if v else ""

    @property
    def call_id(self):
        return self.get("Call-ID")

    @property
    def cseq(self):
        return self.get("CSeq")

    def param(self, header, name):
        m = re.search(r";\s*%s=([^;>\s,]+)" % re.escape(name), self.get(header))
        return m.group(1) if m else None

    def sdp_port(self):
        m = re.search(r"^m=audio (\d+) RTP/AVP ([\d ]+)", self.body, re.M)
        return (int(m.group(1)), m.group(2).split()) if m else (None, None)

    def __repr__(self):
        return self.first


def sdp_offer(rtp_port, payloads=(8, 0), dtmf_pt=96):
    fmts = " ".join(str(p) for p in (*payloads, dtmf_pt))
    return ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            "m=audio %d RTP/AVP %s\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
            "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\na=ptime:20\r\n" % (rtp_port, fmts, dtmf_pt, dtmf_pt))


class RawPeer:
    """One UDP socket speaking SIP, plus RTP sockets; everything received is kept."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.rtp = {}       # name -> socket
        self.packets = {}   # name -> [(time, (ip, port), bytes)]
        self.sip = []       # every SIP message received, in order
        self.unread = []

    def close(self):
        self.sock.close()
        for s in self.rtp.values():
            s.close()

    def rtp_socket(self, name):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        self.rtp[name] = s
        self.packets[name] = []
        return s.getsockname()[1]

    def send(self, data, to):
        self.sock.sendto(data if isinstance(data, bytes) else data.encode(), to)

    def pump(self, timeout):
        """Receives whatever arrives within `timeout` (SIP and RTP)."""
        socks = [self.sock, *self.rtp.values()]
        r, _, _ = select.select(socks, [], [], max(0.0, timeout))
        for s in r:
            data, addr = s.recvfrom(65535)
            if s is self.sock:
                m = Sip(data, addr)
                self.sip.append(m)
                self.unread.append(m)
            else:
                name = next(n for n, x in self.rtp.items() if x is s)
                self.packets[name].append((time.monotonic(), addr, data))

    def expect(self, pred, timeout=5.0, what="a message"):
        """The first unread SIP message matching pred (others stay unread)."""
        deadline = time.monotonic() + timeout
        while True:
            for m in self.unread:
                if pred(m):
                    self.unread.remove(m)
                    return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("timed out waiting for %s; received: %s" % (what, self.sip))
            self.pump(min(left, 0.05))

    def run_for(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.pump(deadline - time.monotonic())

    def respond(self, req, code, reason, to_tag=None, extra="", body=""):
        to = req.get("To")
        if to_tag and ";tag=" not in to:
            to += ";tag=" + to_tag
        vias = "".join("Via: %s\r\n" % v for v in req.all("Via"))
        msg = ("SIP/2.0 %d %s\r\n%sFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n%sContent-Length: %d\r\n\r\n%s"
               % (code, reason, vias, req.get("From"), to, req.call_id, req.cseq, extra, len(body.encode()), body))
        self.send(msg, req.addr)


def g711_level(payload, pt):
    """Peak magnitude of a G.711 payload, PCMU (pt 0) or PCMA (pt 8); about 0 for silence."""
    peak = 0
    for b in payload:
        if pt == 0:
            b = ~b & 0xFF
            mag = ((((b & 0x0F) << 3) + 0x84) << ((b >> 4) & 7)) - 0x84
        else:
            b ^= 0x55
            e, m = (b >> 4) & 7, b & 0x0F
            mag = (m << 4) + 8 if e == 0 else ((m << 4) + 0x108) << (e - 1)
        peak = max(peak, mag)
    return peak


def loud(packet):
    """An RTP packet carrying sound (speech), not silence."""
    return g711_level(packet[12:], packet[1] & 0x7F) > 500


def ended_calls(d):
    return [e for e in base.events(d, "call") if e["code"] == "ENDED"]


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


def metric(d, name):
    """A module counter from /metrics (passerelle_module_<name>_total{instance="phone"...})."""
    status, text = d.get("/metrics")
    m = re.search(r'^passerelle_module_%s_total\{[^}]*instance="phone"[^}]*\} (\d+)' % re.escape(name), text, re.M)
    return int(m.group(1)) if m else 0


class SipRawE2E(unittest.TestCase):
    def setUp(self):
        self.daemons = []
        self.peer = RawPeer()

    def tearDown(self):
        for d in self.daemons:
            d.stop()
        self.peer.close()

    def start_daemon(self, extra):
        self.sip_port = free_port()
        rtp = free_port(20)
        instance = """
user = "passerelle"
listen = "127.0.0.1:%d"
rtp_ports = "%d-%d"
allowed_hosts = ["127.0.0.1"]
%s
""" % (self.sip_port, rtp, rtp + 19, extra)
        d = Daemon(base.daemon_config(instance)).start()
        self.daemons.append(d)
        self.target = ("127.0.0.1", self.sip_port)
        return d

    def invite(self, call_id, caller, rtp_port, extra="", payloads=(8, 0)):
        body = sdp_offer(rtp_port, payloads)
        return ("INVITE sip:passerelle@127.0.0.1:%d SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;rport;branch=z9hG4bK%s\r\n"
                "From: <sip:%s@127.0.0.1>;tag=f%s\r\nTo: <sip:passerelle@127.0.0.1:%d>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"
                "Contact: <sip:%s@127.0.0.1:%d>\r\nMax-Forwards: 70\r\n%sContent-Type: application/sdp\r\n"
                "Content-Length: %d\r\n\r\n%s"
                % (self.sip_port, self.peer.port, call_id.split("@")[0], caller, call_id.split("@")[0], self.sip_port,
                   call_id, caller, self.peer.port, extra, len(body), body)).encode()

    def in_dialog(self, method, call_id, caller, to_tag, cseq, extra="", body=""):
        return ("%s sip:passerelle@127.0.0.1:%d SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;rport;branch=z9hG4bK%08x\r\n"
                "From: <sip:%s@127.0.0.1>;tag=f%s\r\nTo: <sip:passerelle@127.0.0.1:%d>;tag=%s\r\nCall-ID: %s\r\n"
                "CSeq: %d %s\r\nMax-Forwards: 70\r\n%sContent-Length: %d\r\n\r\n%s"
                % (method, self.sip_port, self.peer.port, random.getrandbits(32), caller, call_id.split("@")[0],
                   self.sip_port, to_tag, call_id, cseq, method, extra, len(body), body)).encode()

    def response_to(self, call_id, code):
        return lambda m: m.is_response and m.call_id == call_id and m.status == code

    # --- inbound ------------------------------------------------------------------------

    def test_record_route_retransmission_concurrent_calls_busy_and_hangup(self):
        d = self.start_daemon('max_calls = 2\nanswer_after = "1500ms"\nmessages = { "*" = "Bonjour" }')
        peer = self.peer
        rr = ["<sip:127.0.0.1:%d;lr;rr=one>" % peer.port, "<sip:127.0.0.1:%d;lr;rr=two>" % peer.port]
        rtp_a, rtp_b = peer.rtp_socket("a"), peer.rtp_socket("b")
        inv_a = self.invite("calla@t", "0611223344", rtp_a, extra="".join("Record-Route: %s\r\n" % r for r in rr))
        peer.send(inv_a, self.target)
        ring = peer.expect(self.response_to("calla@t", 180), what="180 for A")
        self.assertEqual(ring.all("Record-Route"), rr, "every Record-Route copied, in order, into the 180")
        tag_a = ring.param("To", "tag")
        self.assertTrue(tag_a)
        # A retransmission of the INVITE while it rings (answer_after 1.5 s): answered again
        # with the same 180, and no second call.
        peer.send(inv_a, self.target)
        again = peer.expect(self.response_to("calla@t", 180), timeout=1.0, what="the 180 again")
        self.assertEqual(again.param("To", "tag"), tag_a)
        ok_a = peer.expect(self.response_to("calla@t", 200), what="200 for A")
        self.assertEqual(ok_a.all("Record-Route"), rr, "every Record-Route copied into the 200")
        self.assertEqual(ok_a.param("To", "tag"), tag_a)
        port_a, fmts_a = ok_a.sdp_port()
        self.assertEqual(fmts_a, ["8", "96"], ok_a.body)  # first offered codec kept, telephone-event with our 96

        # A second call at the same time, with its own RTP port.
        peer.send(self.invite("callb@t", "0699887766", rtp_b), self.target)
        peer.expect(self.response_to("callb@t", 180), what="180 for B")
        ok_b = peer.expect(self.response_to("callb@t", 200), what="200 for B")
        tag_b = ok_b.param("To", "tag")
        port_b, _ = ok_b.sdp_port()
        self.assertNotEqual(port_a, port_b)
        # A third one is over max_calls = 2: 486, counted.
        peer.send(self.invite("callc@t", "0655555555", peer.rtp_socket("c")), self.target)
        peer.expect(self.response_to("callc@t", 486), what="486 for C")
        self.assertTrue(wait_until(lambda: metric(d, "sip_calls_refused_busy") == 1, timeout=3), d.get("/metrics")[1])
        def ringing():
            return [e for e in base.events(d, "call") if e["code"] == "RINGING"]
        self.assertTrue(wait_until(lambda: len(ringing()) >= 2, timeout=3), d.log())
        time.sleep(0.3)  # a second RINGING for A, if any, would be in the file by now
        self.assertEqual(sorted(e["attrs"]["call_id"] for e in ringing()), ["calla@t", "callb@t"],
                         "one RINGING per call, none for the retransmission nor the refused call")

        # ACK both: each hears its message from the port in its own SDP (symmetric RTP),
        # then the UA hangs up (after_message = "hangup", the default).
        peer.send(self.in_dialog("ACK", "calla@t", "0611223344", tag_a, 1), self.target)
        peer.send(self.in_dialog("ACK", "callb@t", "0699887766", tag_b, 1), self.target)
        byes = {}
        deadline = time.monotonic() + 20
        while len(byes) < 2 and time.monotonic() < deadline:
            peer.pump(0.05)
            for m in list(peer.unread):
                if not m.is_response and m.method == "BYE":
                    peer.unread.remove(m)
                    byes[m.call_id] = m
                    peer.respond(m, 200, "OK")
        self.assertEqual(sorted(byes), ["calla@t", "callb@t"], d.log())
        # The BYE of call A follows the route set (the Record-Routes, in order).
        self.assertEqual(byes["calla@t"].all("Route"), rr)
        for name, port in (("a", port_a), ("b", port_b)):
            pkts = peer.packets[name]
            self.assertGreater(len(pkts), 10, "call %s: RTP packets %d" % (name, len(pkts)))
            self.assertEqual({addr for _, addr, _ in pkts}, {("127.0.0.1", port)},
                             "call %s: RTP sent from the port of its SDP" % name)
            self.assertEqual({p[1] & 0x7F for _, _, p in pkts}, {8}, "PCMA, as the offer's first codec")
            self.assertGreater(sum(loud(p) for _, _, p in pkts), 10, "call %s heard its message" % name)
        ssrc = {name: {struct.unpack("!I", p[8:12])[0] for _, _, p in peer.packets[name]} for name in ("a", "b")}
        self.assertEqual(len(ssrc["a"]), 1)
        self.assertEqual(len(ssrc["b"]), 1)
        self.assertNotEqual(ssrc["a"], ssrc["b"])
        ended = wait_until(lambda: len(ended_calls(d)) == 2, timeout=5) and ended_calls(d)
        self.assertTrue(ended, d.log())
        callers = {"calla@t": "0611223344", "callb@t": "0699887766"}
        for e in base.events(d, "call"):
            self.assertIn(e["attrs"]["call_id"], callers)
            self.assertEqual(e["attrs"]["caller"], callers[e["attrs"]["call_id"]])
            self.assertEqual(e["attrs"]["callee"], "passerelle")
            self.assertEqual(e["attrs"]["direction"], "inbound")
        for e in ended:
            self.assertEqual(e["attrs"]["reason"], "message_played")
            self.assertEqual(e["state"], "stop")

    def test_dtmf_sequence_ended_by_pound_plays_the_menu_reply(self):
        d = self.start_daemon('after_message = "wait"\nanswer_after = "0ms"\nmessages = { "*" = "Bonjour" }\n'
                              'menu = { "12" = "Portail ouvert" }\nmenu_pause = "5s"')
        peer = self.peer
        rtp = peer.rtp_socket("a")
        peer.send(self.invite("dtmf@t", "0611223344", rtp, payloads=(0,)), self.target)
        ok = peer.expect(self.response_to("dtmf@t", 200), what="200")
        tag = ok.param("To", "tag")
        media_port, fmts = ok.sdp_port()
        self.assertEqual(fmts, ["0", "96"])
        peer.send(self.in_dialog("ACK", "dtmf@t", "0611223344", tag, 1), self.target)
        pk = peer.packets["a"]

        def quiet_after_speech(start):
            """Index where 20 silent frames follow speech heard from `start` on, else None."""
            spoke, run = False, 0
            for i in range(start, len(pk)):
                if loud(pk[i][2]):
                    spoke, run = True, 0
                elif spoke:
                    run += 1
                    if run >= 20:
                        return i + 1
            return None

        def pump_until(pred, timeout):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                v = pred()
                if v is not None:
                    return v
                peer.pump(0.02)
            return pred()

        # The greeting is played, then silence ("wait").
        quiet = pump_until(lambda: quiet_after_speech(0), 15)
        self.assertIsNotNone(quiet, "no greeting then silence: %d packets" % len(pk))
        cseq = [1]

        def info(digit):
            cseq[0] += 1
            peer.send(self.in_dialog("INFO", "dtmf@t", "0611223344", tag, cseq[0],
                                     extra="Content-Type: application/dtmf-relay\r\n",
                                     body="Signal=%s\r\nDuration=160\r\n" % digit), self.target)
            peer.expect(lambda m: m.is_response and m.cseq == "%d INFO" % cseq[0] and m.status == 200, what="200 to INFO")

        def rfc4733(event, ts):
            # One key press: 3 updates, then the end packet three times (same timestamp).
            seq = random.getrandbits(16)
            for i, (end, dur) in enumerate([(0, 160), (0, 320), (0, 480), (1, 640), (1, 640), (1, 640)]):
                pkt = struct.pack("!BBHII", 0x80, 96 | (0x80 if i == 0 else 0), (seq + i) & 0xFFFF, ts, 0x1234ABCD)
                pkt += struct.pack("!BBH", event, (0x80 if end else 0) | 10, dur)
                peer.rtp["a"].sendto(pkt, ("127.0.0.1", media_port))
                time.sleep(0.02)

        info("1")
        info("2")
        before_pound = len(pk)
        t_pound = time.monotonic()
        rfc4733(11, 8000)  # '#'
        seq = pump_until(lambda: base.events(d, "dtmf_sequence") or None, 3)
        self.assertTrue(seq, d.log())
        self.assertLess(time.monotonic() - t_pound, 3, "ended by '#', not by the 5 s menu_pause")
        self.assertEqual(seq[0]["attrs"]["sequence"], "12")
        self.assertEqual(seq[0]["attrs"]["matched"], "true")
        self.assertEqual(seq[0]["attrs"]["call_id"], "dtmf@t")
        # Only silence between the end of the greeting and '#'...
        self.assertFalse(any(loud(p) for _, _, p in pk[quiet:before_pound]))
        # ...then the menu reply is spoken on the RTP stream.
        reply_end = pump_until(lambda: quiet_after_speech(before_pound), 10)
        self.assertIsNotNone(reply_end, "the menu reply was not played")
        # Control: an unknown sequence is reported (matched false) and nothing is said.
        info("3")
        info("4")
        info("#")
        seqs = pump_until(lambda: base.events(d, "dtmf_sequence")[1:] or None, 3)
        self.assertTrue(seqs)
        self.assertEqual((seqs[0]["attrs"]["sequence"], seqs[0]["attrs"]["matched"]), ("34", "false"))
        mark = len(pk)
        peer.run_for(1.5)
        self.assertGreater(len(pk) - mark, 50)
        self.assertFalse(any(loud(p) for _, _, p in pk[mark:]), "nothing is said for an unknown sequence")
        digits = [(e["attrs"]["digit"], e["attrs"]["method"]) for e in base.events(d, "dtmf")]
        self.assertEqual(digits, [("1", "info"), ("2", "info"), ("#", "rfc4733"), ("3", "info"), ("4", "info"),
                                  ("#", "info")])
        # The caller hangs up.
        cseq[0] += 1
        peer.send(self.in_dialog("BYE", "dtmf@t", "0611223344", tag, cseq[0]), self.target)
        peer.expect(lambda m: m.is_response and m.cseq.endswith("BYE") and m.status == 200, what="200 to BYE")
        ended = wait_until(lambda: ended_calls(d), timeout=3)
        self.assertEqual(ended[0]["attrs"]["reason"], "remote_bye")

    # --- outbound -----------------------------------------------------------------------

    def act(self, d, path):
        """Runs an action in the background (it blocks until the call ends); join with .result()."""
        box = {}
        t = threading.Thread(target=lambda: box.setdefault("r", d.get(path, timeout=40)))
        t.start()

        class Pending:
            def result(_self, timeout=30):
                t.join(timeout)
                self.assertFalse(t.is_alive(), "the action did not answer")
                return box["r"]
        return Pending()

    def expect_request(self, method, timeout=5.0):
        return self.peer.expect(lambda m: not m.is_response and m.method == method, timeout, what=method)

    def test_outbound_407_retry_then_busy(self):
        d = self.start_daemon('password = "secretp"')
        peer = self.peer
        pending = self.act(d, "/api/v1/instances/phone/actions/call?to=sip:200@127.0.0.1:%d" % peer.port)
        inv1 = self.expect_request("INVITE")
        peer.respond(inv1, 407, "Proxy Authentication Required", to_tag="px",
                     extra='Proxy-Authenticate: Digest realm="127.0.0.1", nonce="n0nce42", qop="auth", algorithm=MD5\r\n')
        ack1 = self.expect_request("ACK")
        inv2 = self.expect_request("INVITE")
        # The ACK of the 407 is in the INVITE's transaction: same branch, same CSeq number.
        self.assertEqual(ack1.param("Via", "branch"), inv1.param("Via", "branch"))
        self.assertEqual(ack1.cseq.split()[0], inv1.cseq.split()[0])
        # The retry: same Call-ID and From tag, CSeq + 1, a new transaction, with credentials.
        self.assertEqual(inv2.call_id, inv1.call_id)
        self.assertEqual(inv2.param("From", "tag"), inv1.param("From", "tag"))
        self.assertEqual(int(inv2.cseq.split()[0]), int(inv1.cseq.split()[0]) + 1)
        self.assertNotEqual(inv2.param("Via", "branch"), inv1.param("Via", "branch"))
        auth = inv2.get("Proxy-Authorization")
        self.assertTrue(auth.startswith("Digest "), inv2.raw)
        f = dict(re.findall(r'(\w+)="?([^",]*)"?', auth))
        ha1 = md5("passerelle:127.0.0.1:secretp")
        ha2 = md5("INVITE:" + f["uri"])
        self.assertEqual(f["response"], md5(":".join([ha1, f["nonce"], f["nc"], f["cnonce"], "auth", ha2])))
        # 181 (an 18x other than 180/183) is reported as RINGING; then 486.
        peer.respond(inv2, 181, "Call Is Being Forwarded", to_tag="uas1")
        peer.respond(inv2, 486, "Busy Here", to_tag="uas1")
        ack2 = self.expect_request("ACK")
        self.assertEqual(ack2.param("Via", "branch"), inv2.param("Via", "branch"))
        status, body = pending.result()
        self.assertNotEqual(status, 200, body)
        self.assertIn("busy", body)
        self.assertIn("486", body)
        self.assertTrue(wait_until(lambda: ended_calls(d), timeout=3), d.log())
        calls = base.events(d, "call")
        self.assertEqual([e["code"] for e in calls], ["DIALING", "RINGING", "ENDED"])
        self.assertEqual(calls[-1]["attrs"]["reason"], "busy")
        self.assertEqual(calls[-1]["attrs"]["callee"], "200")
        self.assertEqual(calls[-1]["attrs"]["call_id"], inv1.call_id)
        self.assertEqual(calls[-1]["attrs"]["direction"], "outbound")
        # Neither the password nor the credentials reach the log.
        log = d.log()
        for secret in ("secretp", "Digest", "response=", f["response"]):
            self.assertNotIn(secret, log)

    def test_outbound_declined_is_rejected_with_the_code(self):
        d = self.start_daemon("")
        pending = self.act(d, "/api/v1/instances/phone/actions/call?to=sip:200@127.0.0.1:%d" % self.peer.port)
        inv = self.expect_request("INVITE")
        self.peer.respond(inv, 603, "Decline", to_tag="uas1")
        self.expect_request("ACK")
        status, body = pending.result()
        self.assertNotEqual(status, 200, body)
        self.assertIn("rejected", body)
        self.assertIn("603", body)
        ended = wait_until(lambda: ended_calls(d), timeout=3)
        self.assertEqual(ended[0]["attrs"]["reason"], "rejected")

    def test_outbound_ring_timeout_cancels_with_no_answer(self):
        d = self.start_daemon("")
        peer = self.peer
        t0 = time.monotonic()
        pending = self.act(d, "/api/v1/instances/phone/actions/call?to=sip:200@127.0.0.1:%d&ring_timeout=2s" % peer.port)
        inv = self.expect_request("INVITE")
        peer.respond(inv, 180, "Ringing", to_tag="uas1")
        cancel = self.expect_request("CANCEL", timeout=6)
        waited = time.monotonic() - t0
        self.assertGreater(waited, 1.8)
        self.assertLess(waited, 5)
        # CANCEL matches the INVITE: same branch, Call-ID, CSeq number, Request-URI.
        self.assertEqual(cancel.param("Via", "branch"), inv.param("Via", "branch"))
        self.assertEqual(cancel.call_id, inv.call_id)
        self.assertEqual(cancel.cseq.split()[0], inv.cseq.split()[0])
        self.assertEqual(cancel.first.split()[1], inv.first.split()[1])
        peer.respond(cancel, 200, "OK", to_tag="uas1")
        peer.respond(inv, 487, "Request Terminated", to_tag="uas1")
        self.expect_request("ACK")
        status, body = pending.result()
        self.assertNotEqual(status, 200, body)
        self.assertIn("no_answer", body)
        ended = wait_until(lambda: ended_calls(d), timeout=3)
        self.assertTrue(ended, d.log())
        self.assertEqual([e["code"] for e in base.events(d, "call")], ["DIALING", "RINGING", "ENDED"])
        self.assertEqual(ended[0]["attrs"]["reason"], "no_answer")

    def test_message_refused_is_an_error_with_the_code(self):
        d = self.start_daemon("")
        pending = self.act(d, "/api/v1/instances/phone/actions/message?to=sip:200@127.0.0.1:%d&text=Bonjour" % self.peer.port)
        msg = self.expect_request("MESSAGE")
        self.assertEqual(msg.body, "Bonjour")
        self.peer.respond(msg, 404, "Not Found", to_tag="uas1")
        status, body = pending.result()
        self.assertNotEqual(status, 200, body)
        self.assertIn("rejected", body)
        self.assertIn("404", body)


if __name__ == "__main__":
    if not shutil.which("espeak-ng"):
        print("SKIP: espeak-ng missing (apt-get install espeak-ng)")
        sys.exit(77)
    unittest.main(verbosity=2)
