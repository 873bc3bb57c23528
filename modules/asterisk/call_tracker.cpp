#include "call_tracker.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>

namespace passerelle::asterisk {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

bool is_yes(std::string_view v) { return iequals(v, "yes") || v == "1" || iequals(v, "true"); }

// Asterisk 11 spells the key UniqueID, later ones Uniqueid: get() is case-insensitive.
std::string_view uniqueid_of(const AmiPacket& p) { return p.get("Uniqueid"); }

} // namespace

int64_t ami_timestamp_ns(const AmiPacket& p) {
    std::string_view ts = p.get("Timestamp");
    if (ts.empty()) return 0;
    size_t dot = ts.find('.');
    int64_t sec = 0, frac = 0;
    auto r = std::from_chars(ts.data(), ts.data() + (dot == std::string_view::npos ? ts.size() : dot), sec);
    // Seconds past 2255 would overflow int64 nanoseconds: not a real timestamp.
    if (r.ec != std::errc() || sec <= 0 || sec >= 9'000'000'000) return 0;
    int64_t ns = sec * 1000000000LL;
    if (dot != std::string_view::npos) {
        std::string_view f = ts.substr(dot + 1, 9);
        if (std::from_chars(f.data(), f.data() + f.size(), frac).ec == std::errc()) {
            for (size_t i = f.size(); i < 9; ++i) frac *= 10;
            ns += frac;
        }
    }
    return ns;
}

std::string CallTracker::key_of(const AmiPacket& p) const {
    std::string_view linked = ami_value(p.get("Linkedid"));
    if (!linked.empty()) return std::string(linked);
    std::string_view uid = ami_value(uniqueid_of(p));
    if (uid.empty()) return {};
    auto it = uniqueid_.find(std::string(uid));
    return it != uniqueid_.end() ? it->second : std::string(uid);
}

CallTracker::Call* CallTracker::call_for(const AmiPacket& p, bool create) {
    std::string key = key_of(p);
    if (key.empty()) return nullptr;
    auto it = calls_.find(key);
    if (it != calls_.end()) return &it->second;
    if (!create) return nullptr;
    Call& c = calls_[key];
    c.info.key = key;
    order_.push_back(key);
    evict();
    return &calls_[key];
}

void CallTracker::evict() {
    // Forget the oldest calls beyond the cap (ended ones first in practice:
    // they are the oldest). A PBX never has 10,000 live calls on one session.
    while (calls_.size() > max_calls_ && !order_.empty()) {
        std::string key = order_.front();
        order_.pop_front();
        auto it = calls_.find(key);
        if (it == calls_.end()) continue;
        for (auto u = uniqueid_.begin(); u != uniqueid_.end();)
            u = (u->second == key) ? uniqueid_.erase(u) : std::next(u);
        calls_.erase(it);
    }
}

Event CallTracker::call_event(const Call& c, State s, std::string_view code, int64_t t) const {
    Event e;
    e.type = "call";
    e.code = std::string(code);
    e.state = s;
    e.time_ns = t;
    e.attrs["caller"] = c.info.caller;
    e.attrs["caller_name"] = c.info.caller_name;
    e.attrs["callee"] = c.info.callee;
    e.attrs["direction"] = c.info.direction;
    e.attrs["linkedid"] = c.info.key;
    e.attrs["channel"] = c.info.first_channel;
    return e;
}

void CallTracker::remember_first(Call& c, const AmiPacket& p) {
    if (c.info.first_channel.empty()) c.info.first_channel = std::string(p.get("Channel"));
    if (c.info.caller.empty()) c.info.caller = std::string(ami_value(p.get("CallerIDNum")));
    if (c.info.caller_name.empty()) c.info.caller_name = std::string(ami_value(p.get("CallerIDName")));
    std::string_view exten = ami_value(p.get("Exten"));
    if (c.info.callee.empty() && !exten.empty() && exten != "s") c.info.callee = std::string(exten);
    // A channel entering the dialplan at a real extension was dialed in
    // (trunk or phone); an originated channel starts at "s" with no extension.
    if (c.info.direction.empty()) c.info.direction = (exten.empty() || exten == "s") ? "outbound" : "inbound";
}

void CallTracker::start_call(Call& c, const AmiPacket& p, int64_t t, std::vector<Event>& out) {
    if (c.info.started) return;
    c.info.started = true;
    remember_first(c, p);
    out.push_back(call_event(c, State::start, p.event(), t));
}

void CallTracker::status(Call& c, std::string_view st, std::string_view code, int64_t t, std::vector<Event>& out) {
    if (!c.info.started || c.info.ended) return;
    bool& flag = (st == "ringing") ? c.info.ringing : c.info.answered;
    if (flag) return;
    if (st == "ringing" && c.info.answered) return; // never go back from answered
    flag = true;
    Event e = call_event(c, State::pulse, code, t);
    e.attrs["status"] = std::string(st);
    out.push_back(std::move(e));
}

void CallTracker::hangup(const AmiPacket& p, int64_t t, std::vector<Event>& out) {
    Call* c = call_for(p, false);
    if (!c) return;
    std::string_view uid = ami_value(uniqueid_of(p));
    c->channels.erase(std::string(uid));
    std::string_view cause = p.get("Cause");
    std::string_view cause_txt = p.get("Cause-txt");
    // The first meaningful cause explains the call best (a busy or absent
    // callee), not the Normal Clearing of the legs torn down after it.
    if (c->info.cause.empty() || c->info.cause == "0" || (c->info.cause == "16" && !cause.empty() && cause != "0" && cause != "16")) {
        if (!cause.empty() && (c->info.cause.empty() || cause != "0")) {
            c->info.cause = std::string(cause);
            c->info.cause_txt = std::string(cause_txt);
        }
    }
    c->info.live_channels = c->channels.size();
    if (!c->channels.empty() || c->info.ended) return;
    c->info.ended = true;
    if (!c->info.started) return; // Asterisk 11 channel merged or never progressed
    Event e = call_event(*c, State::stop, p.event(), t);
    e.attrs["cause"] = c->info.cause;
    e.attrs["cause_txt"] = c->info.cause_txt;
    e.attrs["answered"] = c->info.answered ? "true" : "false";
    out.push_back(std::move(e));
}

void CallTracker::dtmf(const AmiPacket& p, bool begin, bool end, int64_t t, std::vector<Event>& out) {
    Call* c = call_for(p, true);
    if (!c) return;
    std::string digit(p.get("Digit"));
    Press& press = c->dtmf;
    bool open = press.begins > press.ends || (press.emitted && press.ends < press.begins);
    if (begin) {
        // A new key press unless this Begin is another leg's copy of the open one.
        if (!(open && press.digit == digit)) press = Press{digit, 0, 0, false};
        ++press.begins;
    }
    if (!end) return;
    bool same_press = press.digit == digit && press.emitted && press.ends < press.begins;
    if (same_press) {
        ++press.ends;
        return;
    }
    if (press.digit != digit || press.emitted) press = Press{digit, 0, 0, false}; // End without Begin
    press.emitted = true;
    ++press.ends;
    Event e;
    e.type = "dtmf";
    e.code = std::string(p.event());
    e.state = State::pulse;
    e.time_ns = t;
    e.attrs["digit"] = digit;
    e.attrs["direction"] = lower(p.get("Direction"));
    e.attrs["channel"] = std::string(p.get("Channel"));
    e.attrs["caller"] = c->info.started ? c->info.caller : std::string(ami_value(p.get("CallerIDNum")));
    e.attrs["linkedid"] = c->info.key;
    std::string_view duration = p.get("DurationMs");
    if (!duration.empty()) e.attrs["duration_ms"] = std::string(duration);
    out.push_back(std::move(e));
}

void CallTracker::registration(const AmiPacket& p, int64_t t, std::vector<Event>& out) {
    std::string peer, status, address;
    State state = State::pulse;
    if (p.is_event("PeerStatus")) {
        peer = std::string(p.get("Peer"));
        status = lower(p.get("PeerStatus"));
        address = std::string(p.get("Address"));
        if (status == "registered" || status == "reachable" || status == "lagged") state = State::start;
        else if (status == "unregistered" || status == "unreachable" || status == "rejected") state = State::stop;
        else return;
    } else if (p.is_event("ContactStatus")) {
        std::string_view endpoint = p.get("EndpointName");
        if (endpoint.empty()) endpoint = p.get("AOR");
        peer = "PJSIP/" + std::string(endpoint);
        status = lower(p.get("ContactStatus"));
        address = std::string(p.get("URI"));
        // "Created" on 13, "NonQualified" from 16 for a contact without qualify.
        if (status == "created" || status == "reachable" || status == "nonqualified" || status == "updated") state = State::start;
        else if (status == "removed" || status == "unreachable") state = State::stop;
        else return;
    } else { // DeviceStateChange, PJSIP devices only (chan_sip has PeerStatus)
        std::string_view device = p.get("Device");
        if (device.size() < 6 || !iequals(device.substr(0, 6), "PJSIP/")) return;
        peer = std::string(device);
        status = lower(p.get("State"));
        bool unavailable = status == "unavailable" || status == "invalid";
        std::string cls = unavailable ? "down" : "up";
        auto it = devices_.find(peer);
        if (it != devices_.end() && it->second == cls) return;
        devices_[peer] = cls;
        state = unavailable ? State::stop : State::start;
    }
    if (p.event() != "DeviceStateChange") {
        std::string memo = std::string(to_string(state)) + "|" + address;
        auto it = peers_.find(peer);
        if (it != peers_.end() && it->second == memo) return; // a periodic re-register: no change
        peers_[peer] = memo;
    }
    Event e;
    e.type = "registration";
    e.code = std::string(p.event());
    e.state = state;
    e.time_ns = t;
    e.attrs["peer"] = peer;
    e.attrs["status"] = status;
    e.attrs["address"] = address;
    std::string_view cause = p.get("Cause");
    if (!cause.empty()) e.attrs["cause"] = std::string(cause);
    out.push_back(std::move(e));
}

void CallTracker::on_packet(const AmiPacket& p, std::vector<Event>& out) {
    if (p.kind != AmiPacket::Kind::event) return;
    std::string_view ev = p.event();
    int64_t t = ami_timestamp_ns(p);
    if (iequals(ev, "Newchannel")) {
        bool has_linkedid = !ami_value(p.get("Linkedid")).empty();
        Call* c = call_for(p, true);
        if (!c) return;
        std::string uid(ami_value(uniqueid_of(p)));
        c->channels[uid] = std::string(p.get("Channel"));
        uniqueid_[uid] = c->info.key;
        c->info.live_channels = c->channels.size();
        if (c->channels.size() == 1) remember_first(*c, p);
        // Asterisk >= 12: the Linkedid groups the legs from the first event.
        // Asterisk 11: wait for the channel to progress, a Dial may merge it first.
        if (has_linkedid) start_call(*c, p, t, out);
    } else if (iequals(ev, "Newstate")) {
        Call* c = call_for(p, false);
        if (!c) return;
        start_call(*c, p, t, out);
        std::string_view st = p.get("ChannelState");
        if (st == "5") status(*c, "ringing", ev, t, out);
        else if (st == "6") {
            ++c->info.channels_up;
            status(*c, "answered", ev, t, out);
        }
    } else if (iequals(ev, "NewCallerid")) {
        Call* c = call_for(p, false);
        // An originated call gets its CallerID after Newchannel: keep it for later events.
        if (c && c->info.direction == "outbound" && ami_value(p.get("Uniqueid")) == ami_value(p.get("Linkedid"))) {
            std::string_view num = ami_value(p.get("CallerIDNum"));
            if (!num.empty()) c->info.caller = std::string(num);
            std::string_view name = ami_value(p.get("CallerIDName"));
            if (!name.empty()) c->info.caller_name = std::string(name);
        }
    } else if (iequals(ev, "DialBegin") || (iequals(ev, "Dial") && iequals(p.get("SubEvent"), "Begin"))) {
        Call* c = call_for(p, false);
        if (!c) {
            // DialBegin of an originate has no caller fields: the dialed channel's call.
            std::string_view dest = ami_value(p.get("DestLinkedid"));
            if (dest.empty()) dest = ami_value(p.get("DestUniqueid"));
            auto it = calls_.find(std::string(dest));
            if (it == calls_.end()) return;
            c = &it->second;
        }
        std::string_view dial = p.get("DialString");
        if (dial.empty()) dial = p.get("Dialstring");
        if (c->info.callee.empty() && !dial.empty()) c->info.callee = std::string(dial);
        // Asterisk 11: the dialed channel joins the caller's call.
        std::string dest_uid(ami_value(p.get("DestUniqueID")));
        if (!dest_uid.empty() && ami_value(p.get("DestLinkedid")).empty() && dest_uid != c->info.key) {
            auto other = calls_.find(dest_uid);
            if (other != calls_.end() && !other->second.info.started) {
                for (auto& [u, ch] : other->second.channels) {
                    c->channels[u] = ch;
                    uniqueid_[u] = c->info.key;
                }
                calls_.erase(other);
            } else if (other == calls_.end()) {
                uniqueid_[dest_uid] = c->info.key;
            }
            c->info.live_channels = c->channels.size();
        }
        if (!c->info.started) start_call(*c, p, t, out);
    } else if (iequals(ev, "DialState")) {
        Call* c = call_for(p, false);
        if (!c) {
            auto it = calls_.find(std::string(ami_value(p.get("DestLinkedid"))));
            if (it == calls_.end()) return;
            c = &it->second;
        }
        if (iequals(p.get("DialStatus"), "RINGING")) status(*c, "ringing", ev, t, out);
    } else if (iequals(ev, "DialEnd") || (iequals(ev, "Dial") && iequals(p.get("SubEvent"), "End"))) {
        Call* c = call_for(p, false);
        if (!c) {
            std::string_view dest = ami_value(p.get("DestLinkedid"));
            if (dest.empty()) dest = ami_value(p.get("DestUniqueid"));
            auto it = calls_.find(std::string(dest));
            if (it == calls_.end()) return;
            c = &it->second;
        }
        if (iequals(p.get("DialStatus"), "ANSWER")) {
            ++c->info.answered_dials;
            status(*c, "answered", ev, t, out);
        }
    } else if (iequals(ev, "Bridge")) { // Asterisk 11: Uniqueid1/Uniqueid2 of a Link
        std::string u1(p.get("Uniqueid1")), u2(p.get("Uniqueid2"));
        auto k1 = uniqueid_.find(u1);
        auto k2 = uniqueid_.find(u2);
        if (k1 == uniqueid_.end() || k2 == uniqueid_.end() || k1->second == k2->second) return;
        auto c2 = calls_.find(k2->second);
        auto c1 = calls_.find(k1->second);
        if (c1 == calls_.end() || c2 == calls_.end() || c2->second.info.started) return;
        for (auto& [u, ch] : c2->second.channels) {
            c1->second.channels[u] = ch;
            uniqueid_[u] = c1->first;
        }
        calls_.erase(c2);
    } else if (iequals(ev, "Hangup")) {
        hangup(p, t, out);
    } else if (iequals(ev, "DTMFEnd")) {
        dtmf(p, false, true, t, out);
    } else if (iequals(ev, "DTMFBegin")) {
        dtmf(p, true, false, t, out);
    } else if (iequals(ev, "DTMF")) { // Asterisk 11
        dtmf(p, is_yes(p.get("Begin")), is_yes(p.get("End")), t, out);
    } else if (iequals(ev, "PeerStatus") || iequals(ev, "ContactStatus") || iequals(ev, "DeviceStateChange")) {
        registration(p, t, out);
    } else if (iequals(ev, "MessageWaiting")) {
        Event e;
        e.type = "voicemail";
        e.code = std::string(ev);
        e.time_ns = t;
        e.state = is_yes(p.get("Waiting")) ? State::start : State::stop;
        e.attrs["mailbox"] = std::string(p.get("Mailbox"));
        e.attrs["new"] = std::string(p.get("New"));
        e.attrs["old"] = std::string(p.get("Old"));
        out.push_back(std::move(e));
    } else if (iequals(ev, "UserEvent")) {
        Event e;
        e.type = "user_event";
        e.code = std::string(p.get("UserEvent"));
        e.time_ns = t;
        for (const auto& [k, v] : p.fields) {
            if (k.empty() || iequals(k, "Event") || iequals(k, "Privilege")) continue;
            e.attrs.emplace(k, v); // a repeated key keeps its first value
        }
        out.push_back(std::move(e));
    }
}

void CallTracker::connection_lost(std::vector<Event>& out) {
    for (auto& [key, c] : calls_) {
        if (c.info.started && !c.info.ended) {
            c.info.ended = true;
            Event e = call_event(c, State::stop, "ConnectionLost", 0);
            e.attrs["cause"] = "";
            e.attrs["cause_txt"] = "AMI connection lost";
            e.attrs["synthesized"] = "true";
            out.push_back(std::move(e));
        }
    }
    calls_.clear();
    uniqueid_.clear();
    order_.clear();
}

const CallInfo* CallTracker::find(std::string_view key) const {
    auto it = calls_.find(std::string(key));
    return it == calls_.end() ? nullptr : &it->second.info;
}

const CallInfo* CallTracker::find_by_uniqueid(std::string_view uniqueid) const {
    auto it = uniqueid_.find(std::string(uniqueid));
    if (it != uniqueid_.end()) return find(it->second);
    return find(uniqueid);
}

size_t CallTracker::active_calls() const {
    size_t n = 0;
    for (const auto& [k, c] : calls_)
        if (c.info.started && !c.info.ended) ++n;
    return n;
}

} // namespace passerelle::asterisk
