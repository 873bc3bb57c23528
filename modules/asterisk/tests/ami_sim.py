#!/usr/bin/env python3
"""AMI server simulator replaying the real Asterisk captures of
../shared/fixtures/asterisk/ byte for byte (stdlib only).

- Banner, login answers (plain and MD5 challenge; a wrong secret is answered
  after 1 s with the captured "Authentication failed" and the socket closed),
  Ping, CoreSettings, Originate, MessageSend, Logoff: the captured packets,
  with the client's ActionID substituted.
- Originate of SIP/100 toward 101, 291 or 700 replays the whole captured call
  (17, 18, 19), uniqueids and linkedids renumbered so every replay is a new call.
  The async outcomes of capture 11 (channel_tech Local, context test, exten
  700): Local/999 -> Failure Reason 0, Local/400 -> busy (Reason 5), Local/300
  -> no answer (Reason 3, sent once the Originate's Timeout has elapsed, as
  Asterisk does), Local/700 + Application -> Success Reason 4.
  SIP/100 + Application: Playback (play sound=) answers as capture 19 (100
  rings, answers, OriginateResponse Success, hangup): the captured call minus
  its dialplan events (an Application originate runs no dialplan).
- CoreShowChannels answers the captured list of capture 13 (two channels);
  Hangup answers "Channel Hungup" (not captured: Asterisk's text).
- Commands (on stdin, or Sim methods from Python): call (the inbound call of
  capture 16 with DTMF 5), register (the registration changes of capture 14),
  drop (close every connection), trickle on|off (one byte at a time), garbage,
  silence on|off (answer nothing), withhold on|off (a no-answer originate
  never gets its OriginateResponse), quit.
- Every packet the client sent is appended to --log as one JSON line.

Usage: ami_sim.py --port 0 [--version 20.20.1] [--user passerelle --secret Amisecret42]
       [--read all] [--write all] [--log FILE] [--tls CERT KEY]; prints "PORT <n>" on stdout when listening.
With --tls every accepted connection is TLS (the AMI's tlsenable); a client that
refuses the certificate is simply closed.
"""
import argparse
import hashlib
import json
import os
import random
import re
import socket
import ssl
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_FIXTURES = os.path.normpath(os.path.join(HERE, "..", "..", "..", "..", "shared", "fixtures", "asterisk"))


def split_capture(data):
    """Banner line + packets (bytes, each ending with the blank line)."""
    banner, rest = data.split(b"\r\n", 1)
    packets = []
    while rest:
        end = rest.find(b"\r\n\r\n")
        if end < 0:
            break
        # Response: Follows output may hold bare-LF lines; CRLF CRLF still ends it.
        packets.append(rest[:end + 4])
        rest = rest[end + 4:]
    return banner + b"\r\n", packets


def fields_of(packet):
    out = []
    for line in packet.replace(b"\r\n", b"\n").split(b"\n"):
        if b":" in line:
            k, v = line.split(b":", 1)
            out.append((k.decode("latin-1").strip(), v[1:].decode("latin-1") if v.startswith(b" ") else v.decode("latin-1")))
    return out


def get(fields, key, default=""):
    for k, v in fields:
        if k.lower() == key.lower():
            return v
    return default


def set_action_id(packet, new_id):
    return re.sub(rb"(?m)^ActionID: [^\r\n]*", b"ActionID: " + new_id.encode(), packet, count=1)


class Capture:
    def __init__(self, fixtures, version, name):
        path = os.path.join(fixtures, "ami-" + version, name + ".server.txt")
        with open(path, "rb") as f:
            self.banner, self.packets = split_capture(f.read())

    def find(self, pred):
        for p in self.packets:
            if pred(fields_of(p)):
                return p
        raise KeyError("no such packet")

    def response(self, action_id):
        return self.find(lambda f: get(f, "ActionID") == action_id and get(f, "Response"))


class Sim:
    def __init__(self, port=0, version="20.20.1", user="passerelle", secret="Amisecret42",
                 read="all", fixtures=DEFAULT_FIXTURES, log=None, tls=None, write="all"):
        self.version, self.user, self.secret, self.read = version, user, secret, read
        self.write = {c.strip().lower() for c in write.split(",")}
        self.fixtures = fixtures
        self.tls = None
        if tls:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(tls[0], tls[1])
        self.tls_errors = []
        self.log_path = log
        self.log_lock = threading.Lock()
        self.caps = {}
        self.trickle = False
        self.silent = False
        self.withhold = False  # a no-answer originate never gets its OriginateResponse
        self.conns = []
        self.conns_lock = threading.Lock()
        self.logins = []   # (time, ok) of every Login
        self.received = []  # every client packet (list of (k, v))
        self.serial = int(time.time())
        self.counter = 100
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def cap(self, name):
        if name not in self.caps:
            self.caps[name] = Capture(self.fixtures, self.version, name)
        return self.caps[name]

    # --- control ---
    def close(self):
        self.running = False
        try:
            self.sock.close()
        except OSError:
            pass
        self.drop()

    def drop(self):
        with self.conns_lock:
            conns, self.conns = self.conns, []
        for c in conns:
            c.close()

    def inbound_call(self):
        self._broadcast(self._call_events("16-inbound-call-0612345678-to-100-dtmf5"))

    def registration_change(self):
        cap = self.cap("14-sip-registration-peerstatus")
        pk = [p for p in cap.packets if get(fields_of(p), "Event") in ("PeerStatus", "DeviceStateChange")]
        self._broadcast(pk)

    def garbage(self):
        junk = bytes(random.getrandbits(8) for _ in range(2000)) + b"\r\n\r\n" + b"X" * 200000 + b"\r\n\r\n"
        self._broadcast([junk], raw=True)

    def wait_logins(self, n, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline and len(self.logins) < n:
            time.sleep(0.02)
        return len(self.logins) >= n

    def actions(self, name):
        return [f for f in list(self.received) if get(f, "Action").lower() == name.lower()]

    # --- internals ---
    def _broadcast(self, packets, raw=False):
        with self.conns_lock:
            conns = list(self.conns)
        for c in conns:
            if c.logged_in or raw:
                c.send_events(packets) if not raw else c.send(b"".join(packets))

    def _fresh_ids(self, packets):
        """Renumbers uniqueids/linkedids so each replay is a new call; fresh EventTV."""
        mapping = {}
        self.serial += 1

        def repl(m):
            old = m.group(2)
            if old not in mapping:
                self.counter += 1
                mapping[old] = ("%d.%d" % (self.serial, self.counter)).encode()
            return m.group(1) + mapping[old]

        now = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime()).encode()
        out = []
        for p in packets:
            p = re.sub(rb"(?mi)^((?:Dest)?(?:Uniqueid|Linkedid): )(\d+\.\d+)", repl, p)
            p = re.sub(rb"(?m)^((?:Event|Session)TV: )[^\r\n]*", lambda m: m.group(1) + now, p)
            out.append(p)
        return out

    def _segment(self, name, originate_id, client_id):
        """The packets of one originate of a multi-originate capture (11): from
        its Response to the next action's Response, ActionIDs substituted."""
        out, inside = [], False
        for p in self.cap(name).packets:
            f = fields_of(p)
            if get(f, "Response") and get(f, "ActionID"):
                if inside and get(f, "ActionID") != originate_id:
                    break
                inside = get(f, "ActionID") == originate_id
            if inside:
                out.append(set_action_id(p, client_id) if get(f, "ActionID") == originate_id else p)
        return self._fresh_ids(out)

    def _list(self, name, list_id, client_id):
        """Every packet of a captured EventList (Response, items, Complete)."""
        return [set_action_id(p, client_id) for p in self.cap(name).packets if get(fields_of(p), "ActionID") == list_id]

    def _call_events(self, name, originate_id=None, client_id=None):
        cap = self.cap(name)
        login_done = False
        out = []
        for p in cap.packets:
            f = fields_of(p)
            if not login_done:
                if get(f, "Response") and get(f, "Message") == "Authentication accepted":
                    login_done = True
                continue
            ev = get(f, "Event")
            if ev in ("FullyBooted", "SuccessfulAuth") and not out:
                continue
            if get(f, "Response") == "Goodbye":
                continue
            if originate_id and get(f, "ActionID") == originate_id:
                p = set_action_id(p, client_id)
            elif get(f, "Response"):
                continue
            out.append(p)
        return self._fresh_ids(out)

    def _accept(self):
        while self.running:
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(s,), daemon=True).start()

    def _serve(self, s):
        if self.tls:
            try:
                s.settimeout(5)
                s = self.tls.wrap_socket(s, server_side=True)
                s.settimeout(None)
            except (ssl.SSLError, OSError) as e:
                self.tls_errors.append(str(e))
                s.close()
                return
        c = Conn(self, s)
        with self.conns_lock:
            self.conns.append(c)
        c.run()

    def log(self, conn, fields):
        self.received.append(fields)
        if self.log_path:
            with self.log_lock, open(self.log_path, "a") as f:
                f.write(json.dumps({"t": time.time(), "conn": conn.id, "fields": fields}) + "\n")


class Conn:
    ids = 0

    def __init__(self, sim, sock):
        Conn.ids += 1
        self.id = Conn.ids
        self.sim, self.sock = sim, sock
        self.logged_in = False
        self.events = "on"
        self.challenge = None
        self.lock = threading.Lock()
        self.closed = False

    def close(self):
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        if self.closed:
            return
        with self.lock:
            try:
                if self.sim.trickle:
                    for i in range(len(data)):
                        self.sock.sendall(data[i:i + 1])
                        if i % 64 == 0:
                            time.sleep(0.0005)
                else:
                    self.sock.sendall(data)
            except OSError:
                self.closed = True

    def wants(self, packet):
        f = fields_of(packet)
        priv = get(f, "Privilege")
        if not get(f, "Event"):
            return True
        if get(f, "ActionID") and not priv:
            return True  # list items
        classes = {c.strip() for c in priv.split(",") if c.strip() and c.strip() != "all"}
        read = {c.strip() for c in self.sim.read.split(",")}
        if "all" not in read and not classes & read:
            return False
        ev = self.events.lower()
        if ev in ("off", "no", "0"):
            return False
        if ev in ("on", "yes", "1"):
            return True
        return bool(classes & {c.strip() for c in ev.split(",")})

    def send_events(self, packets):
        data = b"".join(p for p in packets if self.wants(p))
        if data:
            self.send(data)

    def run(self):
        sim = self.sim
        self.send(sim.cap("01-banner-login-ping-logoff").banner)
        buf = b""
        try:
            while not self.closed:
                data = self.sock.recv(65536)
                if not data:
                    break
                buf += data.replace(b"\r\n", b"\n")
                while b"\n\n" in buf:
                    raw, buf = buf.split(b"\n\n", 1)
                    fields = fields_of(raw)
                    if not fields:
                        continue
                    sim.log(self, fields)
                    if sim.silent:
                        continue
                    if not self.handle(fields):
                        self.close()
                        return
        except OSError:
            pass
        self.close()

    def reply(self, capture, captured_id, client_id, **subst):
        p = set_action_id(self.sim.cap(capture).response(captured_id), client_id)
        for k, v in subst.items():
            p = re.sub(rb"(?m)^" + k.encode() + rb": [^\r\n]*", (k + ": " + v).encode(), p)
        self.send(p)

    def handle(self, f):
        sim = self.sim
        action = get(f, "Action").lower()
        aid = get(f, "ActionID")
        if action == "login":
            ok = get(f, "Username") == sim.user
            if get(f, "AuthType").lower() == "md5":
                ok = ok and self.challenge is not None and get(f, "Key") == hashlib.md5((self.challenge + sim.secret).encode()).hexdigest()
            else:
                ok = ok and get(f, "Secret") == sim.secret
            sim.logins.append((time.time(), ok))
            if not ok:
                time.sleep(1.0)  # as Asterisk does
                self.reply("02-login-wrong-secret", "login-bad", aid)
                return False
            if self.logged_in:
                self.reply("07-action-before-login", "login-again", aid)
                return True
            self.logged_in = True
            self.events = get(f, "Events", "on") or "on"
            self.reply("01-banner-login-ping-logoff", "login-1", aid)
            cap = sim.cap("04-login-challenge-md5")
            boot = [p for p in cap.packets if get(fields_of(p), "Event") in ("FullyBooted", "SuccessfulAuth")]
            self.send_events(sim._fresh_ids(boot))
            return True
        if action == "challenge":
            if get(f, "AuthType").lower() != "md5":
                self.reply("06-challenge-without-authtype", self._id_of("06-challenge-without-authtype", "Must specify AuthType"), aid)
                return True
            self.challenge = str(random.randint(100000000, 999999999))
            self.reply("04-login-challenge-md5", "ch-1", aid, Challenge=self.challenge)
            return True
        if action == "logoff":
            self.reply("01-banner-login-ping-logoff", "logoff-1", aid)
            return False
        if not self.logged_in:
            self.reply("07-action-before-login", self._id_of("07-action-before-login", "Permission denied"), aid)
            return True
        if action == "ping":
            self.reply("01-banner-login-ping-logoff", "ping-1", aid, Timestamp="%.6f" % time.time())
        elif action == "coresettings":
            self.reply("20-command-action-admin", self._id_of("20-command-action-admin", None, "AsteriskVersion"), aid)
        elif action == "events":
            self.events = get(f, "EventMask", "on")
            self.send(("Response: Success\r\nActionID: %s\r\nEvents: %s\r\n\r\n" % (aid, "On" if self.events.lower() != "off" else "Off")).encode())
        elif action in ("originate", "messagesend") and not self.sim.write & {"all", "originate" if action == "originate" else "message"}:
            # A user without write = originate (or message): Asterisk's "Permission denied" (capture 07's packet).
            self.reply("07-action-before-login", self._id_of("07-action-before-login", "Permission denied"), aid)
        elif action == "originate":
            self.originate(f, aid)
        elif action == "messagesend":
            to = get(f, "To") or get(f, "Destination")
            key = {"sip:100": "m-ok", "sip:101": "m-ok", "sip:999": "m-unknown"}.get(to)
            if not to:
                key = "m-noto"
            elif key is None:
                key = "m-pjsip" if not to.startswith("sip:") else "m-unknown"
            self.reply("15-messagesend", key, aid)
        elif action == "coreshowchannels":
            self.send(b"".join(self.sim._list("13-coreshowchannels-eventlist", "csc-1", aid)))
        elif action == "hangup":
            self.send(("Response: Success\r\nActionID: %s\r\nMessage: Channel Hungup\r\n\r\n" % aid).encode())
        else:
            self.reply("01-banner-login-ping-logoff", self._id_of("01-banner-login-ping-logoff", "Invalid/unknown command"), aid)
        return True

    def originate(self, f, aid):
        chan, exten, ctx = get(f, "Channel"), get(f, "Exten"), get(f, "Context")
        app = get(f, "Application")
        if chan == "SIP/100" and app.lower() == "playback" and get(f, "Data"):
            name = "19-originate-sip100-voice-message"
            packets = self.sim._call_events(name, "msg-100-700", aid)
            after = False
            kept = []
            for p in packets:
                pf = fields_of(p)
                if get(pf, "Event") == "OriginateResponse":
                    after = True
                elif after and "dialplan" in get(pf, "Privilege"):
                    continue
                kept.append(p)
            self.send_events(kept)
            return
        local = {("Local/700@test", ""): "a-ok", ("Local/999@test", "700"): "a-nolocal",
                 ("Local/400@test", "700"): "a-busy", ("Local/300@test", "700"): "a-noanswer"}.get((chan, exten if not app else ""))
        if local and (ctx == "test" or app):
            packets = self.sim._segment("11-originate-async-responses", local, aid)
            if local != "a-noanswer":
                self.send_events(packets)
                return
            # No answer: the phone rings for the Originate's Timeout, then Reason 3.
            # The ringing part now; from the timeout's HangupRequest on, after Timeout.
            cut = next(i for i, p in enumerate(packets)
                       if get(fields_of(p), "Event") in ("HangupRequest", "SoftHangupRequest", "Hangup", "OriginateResponse"))
            self.send_events(packets[:cut])
            delay = int(get(f, "Timeout") or "30000") / 1000.0

            def later():
                time.sleep(delay)
                if not self.sim.withhold:
                    self.send_events(packets[cut:])
            threading.Thread(target=later, daemon=True).start()
            return
        story = {("SIP/100", "101"): ("17-originate-sip100-then-101", "call-100-101"),
                 ("SIP/100", "291"): ("18-originate-sip100-then-291-unavailable", None),
                 ("SIP/100", "700"): ("19-originate-sip100-voice-message", "msg-100-700")}.get((chan, exten))
        if story and ctx == "test":
            name, cid = story
            if cid is None:
                cid = get(fields_of(self.sim.cap(name).find(lambda x: get(x, "Event") == "OriginateResponse")), "ActionID")
            packets = self.sim._call_events(name, cid, aid)
            self.send_events(packets)
            return
        if ctx and exten:
            # Asterisk checks Context+Exten+Priority before dialing.
            self.reply("10-originate-failures-sync", "o-noext", aid)
            return
        self.reply("10-originate-failures-sync", "o-nochan", aid)

    def _id_of(self, capture, message_prefix, key=None):
        for p in self.sim.cap(capture).packets:
            f = fields_of(p)
            if key and get(f, key):
                return get(f, "ActionID")
            if message_prefix and get(f, "Message").startswith(message_prefix):
                return get(f, "ActionID")
        raise KeyError(message_prefix or key)



def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--version", default="20.20.1")
    ap.add_argument("--user", default="passerelle")
    ap.add_argument("--secret", default="Amisecret42")
    ap.add_argument("--read", default="all")
    ap.add_argument("--write", default="all", help="write= classes of the user (originate, message, ...)")
    ap.add_argument("--fixtures", default=DEFAULT_FIXTURES)
    ap.add_argument("--log")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    a = ap.parse_args()
    sim = Sim(a.port, a.version, a.user, a.secret, a.read, a.fixtures, a.log, a.tls, a.write)
    print("PORT %d" % sim.port, flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "call":
            sim.inbound_call()
        elif cmd[0] == "register":
            sim.registration_change()
        elif cmd[0] == "drop":
            sim.drop()
        elif cmd[0] == "trickle":
            sim.trickle = len(cmd) < 2 or cmd[1] == "on"
        elif cmd[0] == "silence":
            sim.silent = len(cmd) < 2 or cmd[1] == "on"
        elif cmd[0] == "withhold":
            sim.withhold = len(cmd) < 2 or cmd[1] == "on"
        elif cmd[0] == "garbage":
            sim.garbage()
        elif cmd[0] == "quit":
            break
        print("OK " + cmd[0], flush=True)
    sim.close()


if __name__ == "__main__":
    main()
