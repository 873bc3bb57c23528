// The call tracker fed the real captures of Asterisk 13 and 20: one call
// stream per call, one dtmf per key press, registrations; and Asterisk 11's
// dialect (Dial/SubEvent, Bridge, DTMF Begin/End: Yes) from hand-written packets.
#include "call_tracker.hpp"
#include "fixtures.hpp"

#include <catch2/catch.hpp>

using namespace passerelle;
using namespace passerelle::asterisk;
using namespace passerelle::asterisk::testing;

namespace {

std::vector<Event> run(const std::string& version, const std::string& name, CallTracker* tracker = nullptr) {
    CallTracker local;
    CallTracker& t = tracker ? *tracker : local;
    std::vector<Event> out;
    for (const auto& p : parse_all(server_capture(version, name))) t.on_packet(p, out);
    return out;
}

std::vector<Event> of_type(const std::vector<Event>& es, std::string_view type, std::optional<State> state = {}) {
    std::vector<Event> r;
    for (const auto& e : es)
        if (e.type == type && (!state || e.state == *state)) r.push_back(e);
    return r;
}

std::vector<std::string> statuses(const std::vector<Event>& es) {
    std::vector<std::string> r;
    for (const auto& e : es)
        if (e.type == "call" && e.state == State::pulse) r.emplace_back(e.attr("status"));
    return r;
}

const char* kVersions[] = {"20.20.1", "13.38.3"};

} // namespace

TEST_CASE("16: an inbound call from 0612345678 to 100 with DTMF 5 is one call start/stop and one dtmf") {
    for (const char* v : kVersions) {
        INFO(v);
        auto es = run(v, "16-inbound-call-0612345678-to-100-dtmf5");
        auto starts = of_type(es, "call", State::start);
        auto stops = of_type(es, "call", State::stop);
        REQUIRE(starts.size() == 1);
        REQUIRE(stops.size() == 1);
        CHECK(starts[0].attr("caller") == "0612345678");
        CHECK(starts[0].attr("caller_name") == "Maman");
        CHECK(starts[0].attr("callee") == "100");
        CHECK(starts[0].attr("direction") == "inbound");
        CHECK(starts[0].attr("channel").substr(0, 13) == "SIP/operator-");
        CHECK(starts[0].attr("linkedid") == stops[0].attr("linkedid"));
        CHECK(stops[0].attr("cause") == "16");
        CHECK(stops[0].attr("cause_txt") == "Normal Clearing");
        CHECK(stops[0].attr("answered") == "true");
        CHECK(statuses(es) == std::vector<std::string>{"ringing", "answered"});
        auto dtmf = of_type(es, "dtmf");
        REQUIRE(dtmf.size() == 1);
        CHECK(dtmf[0].attr("digit") == "5");
        CHECK(dtmf[0].attr("caller") == "0612345678");
        CHECK(dtmf[0].attr("direction") == "received");
        CHECK(dtmf[0].state == State::pulse);
        CHECK(of_type(es, "registration").empty()); // chan_sip DeviceStateChange is not a registration
    }
}

TEST_CASE("17: originate SIP/100 then 101: one outbound call, both legs answered") {
    for (const char* v : kVersions) {
        INFO(v);
        CallTracker t;
        auto es = run(v, "17-originate-sip100-then-101", &t);
        auto starts = of_type(es, "call", State::start);
        auto stops = of_type(es, "call", State::stop);
        REQUIRE(starts.size() == 1);
        REQUIRE(stops.size() == 1);
        CHECK(starts[0].attr("direction") == "outbound");
        CHECK(stops[0].attr("caller") == "101"); // CallerID: "eedomus" <101>
        CHECK(stops[0].attr("callee") == "100");
        CHECK(stops[0].attr("cause") == "16");
        const CallInfo* info = t.find(std::string(starts[0].attr("linkedid")));
        REQUIRE(info);
        CHECK(info->answered_dials == 2);
        CHECK(info->ended);
    }
}

TEST_CASE("18: originate toward 291 (absent): one call, the second leg never answers, cause 20") {
    for (const char* v : kVersions) {
        INFO(v);
        CallTracker t;
        auto es = run(v, "18-originate-sip100-then-291-unavailable", &t);
        auto stops = of_type(es, "call", State::stop);
        REQUIRE(of_type(es, "call", State::start).size() == 1);
        REQUIRE(stops.size() == 1);
        CHECK(stops[0].attr("cause") == "20");
        CHECK(stops[0].attr("cause_txt") == "Subscriber absent");
        CHECK(t.find(std::string(stops[0].attr("linkedid")))->answered_dials == 1);
    }
}

TEST_CASE("19: voice message: one call start/stop") {
    for (const char* v : kVersions) {
        INFO(v);
        auto es = run(v, "19-originate-sip100-voice-message");
        CHECK(of_type(es, "call", State::start).size() == 1);
        auto stops = of_type(es, "call", State::stop);
        REQUIRE(stops.size() == 1);
        CHECK(stops[0].attr("cause") == "16");
        CHECK(of_type(es, "dtmf").empty());
    }
}

TEST_CASE("09: a synchronous originate, its call's events after the Response, is one answered call") {
    for (const char* v : kVersions) {
        INFO(v);
        auto es = run(v, "09-originate-local-sync-events");
        auto starts = of_type(es, "call", State::start);
        auto stops = of_type(es, "call", State::stop);
        REQUIRE(starts.size() == 1); // Local ;1 and ;2 share one Linkedid: one call
        REQUIRE(stops.size() == 1);
        CHECK(starts[0].attr("linkedid") == stops[0].attr("linkedid"));
        CHECK(starts[0].attr("channel").rfind("Local/700@test-", 0) == 0);
        CHECK(stops[0].attr("cause") == "16");
        CHECK(stops[0].attr("cause_txt") == "Normal Clearing");
        CHECK(stops[0].attr("answered") == "true"); // DialEnd ANSWER, Newstate Up
        CHECK(of_type(es, "dtmf").empty());
    }
}

TEST_CASE("11: four async originates are four calls with their causes") {
    for (const char* v : kVersions) {
        INFO(v);
        auto es = run(v, "11-originate-async-responses");
        auto starts = of_type(es, "call", State::start);
        auto stops = of_type(es, "call", State::stop);
        REQUIRE(starts.size() == 4);
        REQUIRE(stops.size() == 4);
        CHECK(stops[0].attr("cause") == "16"); // Local/700 answered
        CHECK(stops[1].attr("cause") == "0");  // missing extension
        CHECK(stops[2].attr("cause") == "17"); // busy
        // no answer: 19 on Asterisk 20, 0 on 13 (as captured)
        CHECK(stops[3].attr("cause") == (std::string(v) == "20.20.1" ? "19" : "0"));
        for (size_t i = 0; i < 4; ++i) CHECK(starts[i].attr("linkedid") == stops[i].attr("linkedid"));
    }
}

TEST_CASE("12: SendDTMF on a Local pair is one dtmf event (3 Begin + 3 End)") {
    for (const char* v : kVersions) {
        INFO(v);
        auto es = run(v, "12-local-dtmf-senddtmf");
        auto dtmf = of_type(es, "dtmf");
        REQUIRE(dtmf.size() == 1);
        CHECK(dtmf[0].attr("digit") == "5");
        CHECK(of_type(es, "call", State::start).size() == 1);
        CHECK(of_type(es, "call", State::stop).size() == 1);
    }
}

TEST_CASE("14: PeerStatus registrations: 100 and 101 register, 101 expires and registers again") {
    for (const char* v : kVersions) {
        INFO(v);
        auto es = run(v, "14-sip-registration-peerstatus");
        auto regs = of_type(es, "registration");
        REQUIRE(regs.size() == 4);
        std::vector<std::pair<std::string, State>> seen;
        for (auto& r : regs) seen.emplace_back(std::string(r.attr("peer")), r.state);
        CHECK(std::count(seen.begin(), seen.end(), std::make_pair(std::string("SIP/100"), State::start)) == 1);
        CHECK(std::count(seen.begin(), seen.end(), std::make_pair(std::string("SIP/101"), State::start)) == 2);
        auto stop = std::find_if(regs.begin(), regs.end(), [](const Event& e) { return e.state == State::stop; });
        REQUIRE(stop != regs.end());
        CHECK(stop->attr("peer") == "SIP/101");
        CHECK(stop->attr("status") == "unregistered");
        CHECK(stop->attr("cause") == "Expired");
        CHECK(regs[0].attr("address").find("127.0.0.1:") == 0);
        CHECK(of_type(es, "call").empty());
    }
}

TEST_CASE("lists, security and unknown events are ignored quietly") {
    for (const char* v : kVersions) {
        CHECK(run(v, "13-coreshowchannels-eventlist").empty());
        CHECK(run(v, "04-login-challenge-md5").empty());
        CHECK(run(v, "22-asterisk-shutdown-while-connected").empty());
    }
}

namespace {
AmiPacket pkt(std::initializer_list<std::pair<const char*, const char*>> kv) {
    AmiPacket p;
    p.kind = AmiPacket::Kind::event;
    for (auto& [k, v] : kv) p.fields.emplace_back(k, v);
    return p;
}
} // namespace

TEST_CASE("Asterisk 11 dialect: Dial SubEvent, Bridge, DTMF Begin/End: Yes, no Linkedid") {
    CallTracker t;
    std::vector<Event> out;
    auto feed = [&](AmiPacket p) { t.on_packet(p, out); };
    feed(pkt({{"Event", "Newchannel"}, {"Channel", "SIP/trunk-01"}, {"ChannelState", "0"}, {"CallerIDNum", "0612345678"}, {"CallerIDName", ""}, {"Exten", "100"}, {"Context", "from-trunk"}, {"UniqueID", "11.1"}}));
    feed(pkt({{"Event", "Newstate"}, {"Channel", "SIP/trunk-01"}, {"ChannelState", "4"}, {"CallerIDNum", "0612345678"}, {"Uniqueid", "11.1"}}));
    feed(pkt({{"Event", "Newchannel"}, {"Channel", "SIP/100-02"}, {"ChannelState", "0"}, {"CallerIDNum", "100"}, {"Exten", ""}, {"Uniqueid", "11.2"}}));
    feed(pkt({{"Event", "Dial"}, {"SubEvent", "Begin"}, {"Channel", "SIP/trunk-01"}, {"Destination", "SIP/100-02"}, {"UniqueID", "11.1"}, {"DestUniqueID", "11.2"}, {"Dialstring", "100"}}));
    feed(pkt({{"Event", "Newstate"}, {"Channel", "SIP/100-02"}, {"ChannelState", "5"}, {"Uniqueid", "11.2"}}));
    feed(pkt({{"Event", "Dial"}, {"SubEvent", "End"}, {"Channel", "SIP/trunk-01"}, {"UniqueID", "11.1"}, {"DialStatus", "ANSWER"}}));
    feed(pkt({{"Event", "Bridge"}, {"Bridgestate", "Link"}, {"Uniqueid1", "11.1"}, {"Uniqueid2", "11.2"}}));
    feed(pkt({{"Event", "DTMF"}, {"Channel", "SIP/trunk-01"}, {"Uniqueid", "11.1"}, {"Digit", "7"}, {"Direction", "Received"}, {"Begin", "Yes"}, {"End", "No"}}));
    feed(pkt({{"Event", "DTMF"}, {"Channel", "SIP/100-02"}, {"Uniqueid", "11.2"}, {"Digit", "7"}, {"Direction", "Sent"}, {"Begin", "Yes"}, {"End", "No"}}));
    feed(pkt({{"Event", "DTMF"}, {"Channel", "SIP/trunk-01"}, {"Uniqueid", "11.1"}, {"Digit", "7"}, {"Direction", "Received"}, {"Begin", "No"}, {"End", "Yes"}}));
    feed(pkt({{"Event", "DTMF"}, {"Channel", "SIP/100-02"}, {"Uniqueid", "11.2"}, {"Digit", "7"}, {"Direction", "Sent"}, {"Begin", "No"}, {"End", "Yes"}}));
    feed(pkt({{"Event", "Hangup"}, {"Channel", "SIP/100-02"}, {"Uniqueid", "11.2"}, {"Cause", "16"}, {"Cause-txt", "Normal Clearing"}}));
    feed(pkt({{"Event", "Hangup"}, {"Channel", "SIP/trunk-01"}, {"Uniqueid", "11.1"}, {"Cause", "16"}, {"Cause-txt", "Normal Clearing"}}));
    auto starts = of_type(out, "call", State::start);
    auto stops = of_type(out, "call", State::stop);
    REQUIRE(starts.size() == 1);
    REQUIRE(stops.size() == 1);
    CHECK(starts[0].attr("caller") == "0612345678");
    CHECK(starts[0].attr("callee") == "100");
    CHECK(stops[0].attr("cause") == "16");
    CHECK(statuses(out) == std::vector<std::string>{"ringing", "answered"});
    auto dtmf = of_type(out, "dtmf");
    REQUIRE(dtmf.size() == 1);
    CHECK(dtmf[0].attr("digit") == "7");
}

TEST_CASE("PJSIP ContactStatus (Created on 13, NonQualified from 16), DeviceStateChange, MessageWaiting, UserEvent") {
    CallTracker t;
    std::vector<Event> out;
    t.on_packet(pkt({{"Event", "ContactStatus"}, {"URI", "sip:100@10.0.0.5:5060"}, {"ContactStatus", "Created"}, {"AOR", "100"}, {"EndpointName", "100"}}), out);
    t.on_packet(pkt({{"Event", "ContactStatus"}, {"URI", "sip:101@10.0.0.6:5060"}, {"ContactStatus", "NonQualified"}, {"AOR", "101"}, {"EndpointName", "101"}}), out);
    t.on_packet(pkt({{"Event", "ContactStatus"}, {"URI", "sip:100@10.0.0.5:5060"}, {"ContactStatus", "Removed"}, {"AOR", "100"}, {"EndpointName", "100"}}), out);
    t.on_packet(pkt({{"Event", "DeviceStateChange"}, {"Device", "PJSIP/102"}, {"State", "UNAVAILABLE"}}), out);
    t.on_packet(pkt({{"Event", "DeviceStateChange"}, {"Device", "PJSIP/102"}, {"State", "UNAVAILABLE"}}), out);
    t.on_packet(pkt({{"Event", "DeviceStateChange"}, {"Device", "PJSIP/102"}, {"State", "NOT_INUSE"}}), out);
    t.on_packet(pkt({{"Event", "MessageWaiting"}, {"Mailbox", "100@default"}, {"Waiting", "1"}, {"New", "2"}, {"Old", "0"}}), out);
    t.on_packet(pkt({{"Event", "UserEvent"}, {"Privilege", "user,all"}, {"UserEvent", "Alarm"}, {"Zone", "garage"}, {"Level", "high: really"}}), out);
    REQUIRE(out.size() == 7);
    CHECK(out[0].attr("peer") == "PJSIP/100");
    CHECK(out[0].state == State::start);
    CHECK(out[1].state == State::start);
    CHECK(out[1].attr("status") == "nonqualified");
    CHECK(out[2].state == State::stop);
    CHECK(out[3].attr("peer") == "PJSIP/102");
    CHECK(out[3].state == State::stop);
    CHECK(out[4].state == State::start);
    CHECK(out[5].type == "voicemail");
    CHECK(out[5].state == State::start);
    CHECK(out[5].attr("new") == "2");
    CHECK(out[6].type == "user_event");
    CHECK(out[6].code == "Alarm");
    CHECK(out[6].attr("Zone") == "garage");
    CHECK(out[6].attr("Level") == "high: really");
    CHECK(out[6].attrs.count("Privilege") == 0);
}

TEST_CASE("an AMI Timestamp nanoseconds cannot hold is no timestamp, never an overflow") {
    auto with = [](std::string ts) {
        AmiPacket p;
        p.kind = AmiPacket::Kind::event;
        p.fields = {{"Event", "Newchannel"}, {"Timestamp", std::move(ts)}};
        return ami_timestamp_ns(p);
    };
    CHECK(with("1763917200.123456") == 1763917200123456000);
    CHECK(with("99999999999999999.5") == 0);
    CHECK(with("9000000000") == 0);
    CHECK(with("-5") == 0);
}
