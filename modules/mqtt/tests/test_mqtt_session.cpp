// The MQTT session without sockets (session.*): window, packet ids, order of
// unacknowledged messages across a reconnect, with and without session present.
#include "session.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <vector>

using mqtt::OutMessage;
using mqtt::Session;
using namespace mqtt::wire;

namespace {

struct Log {
    std::vector<std::string> ok, failed;
    mqtt::Done done_for(const std::string& name) {
        return [this, name](bool good, const std::string& why) {
            if (good) ok.push_back(name);
            else failed.push_back(name + ": " + why);
        };
    }
};

std::vector<Packet> decode_all(std::string_view in, Version v) {
    std::vector<Packet> out;
    while (!in.empty()) {
        Packet p;
        Decoded d = decode(in, v, p);
        REQUIRE(d.status == Status::ok);
        out.push_back(p);
        in.remove_prefix(d.consumed);
    }
    return out;
}

OutMessage msg(const std::string& topic, int qos = 1) { return OutMessage{topic, "x", qos, false, {}}; }

} // namespace

TEST_CASE("session: messages wait for a connection, then go in order in one buffer; PUBACK answers them") {
    Session s(Version::v311);
    Log log;
    for (auto t : {"a", "b", "c"}) s.push(msg(t), log.done_for(t));
    std::string out;
    CHECK(s.fill(out) == 0);
    CHECK(out.empty());
    s.connected(false, 0, 0);
    CHECK(s.fill(out) == 3);
    auto pk = decode_all(out, Version::v311);
    REQUIRE(pk.size() == 3);
    CHECK(pk[0].topic == "a");
    CHECK(pk[2].topic == "c");
    CHECK(pk[0].packet_id != pk[1].packet_id);
    CHECK(s.in_flight() == 3);
    CHECK(s.on_puback(pk[1].packet_id, 0, ""));
    CHECK_FALSE(s.on_puback(pk[1].packet_id, 0, "")); // twice: ignored
    CHECK_FALSE(s.on_puback(999, 0, ""));              // unknown: ignored
    CHECK(log.ok == std::vector<std::string>{"b"});
    CHECK(s.in_flight() == 2);
}

TEST_CASE("session: a lost connection puts unacknowledged messages back first, in order") {
    for (bool present : {false, true}) {
        INFO("session present " << present);
        Session s(Version::v5);
        Log log;
        s.connected(false, 0, 0);
        for (auto t : {"1", "2", "3"}) s.push(msg(t), log.done_for(t));
        std::string out;
        s.fill(out);
        auto first = decode_all(out, Version::v5);
        s.on_puback(first[0].packet_id, 0, "");
        s.disconnected();
        s.push(msg("4"), log.done_for("4"));
        CHECK(s.waiting() == 3);
        CHECK(s.in_flight() == 0);
        s.connected(present, 0, 0);
        out.clear();
        CHECK(s.fill(out) == 3);
        auto again = decode_all(out, Version::v5);
        CHECK(again[0].topic == "2");
        CHECK(again[1].topic == "3");
        CHECK(again[2].topic == "4");
        CHECK(again[0].dup == present);
        CHECK_FALSE(again[2].dup);
        if (present) {
            CHECK(again[0].packet_id == first[1].packet_id);
            CHECK(again[1].packet_id == first[2].packet_id);
        }
        std::set<uint16_t> ids{again[0].packet_id, again[1].packet_id, again[2].packet_id};
        CHECK(ids.size() == 3);
        for (auto& p : again) s.on_puback(p.packet_id, 0, "");
        CHECK(log.ok == std::vector<std::string>{"1", "2", "3", "4"});
    }
}

TEST_CASE("session: the broker's receive maximum bounds the window; QoS 0 is answered when written") {
    Session s(Version::v5);
    Log log;
    s.connected(false, 2, 0);
    for (auto t : {"a", "b", "c"}) s.push(msg(t), log.done_for(t));
    s.push(msg("zero", 0), log.done_for("zero"));
    std::string out;
    CHECK(s.fill(out) == 2);
    CHECK(s.waiting() == 2);
    auto pk = decode_all(out, Version::v5);
    s.on_puback(pk[0].packet_id, 0, "");
    out.clear();
    CHECK(s.fill(out) == 2); // "c" in flight, then "zero" written and answered
    CHECK(log.ok == std::vector<std::string>{"a", "zero"});
    CHECK(s.in_flight() == 2);
}

TEST_CASE("session: refusals are answered with the reason; too large or bad messages never reach the wire") {
    Session s(Version::v5);
    Log log;
    s.connected(false, 0, 100);
    s.push(OutMessage{"big", std::string(200, 'x'), 1, false, {}}, log.done_for("big"));
    s.push(msg(""), log.done_for("empty"));
    s.push(msg("acl"), log.done_for("acl"));
    std::string out;
    CHECK(s.fill(out) == 1);
    REQUIRE(log.failed.size() == 2);
    CHECK(log.failed[0].find("larger") != std::string::npos);
    auto pk = decode_all(out, Version::v5);
    s.on_puback(pk[0].packet_id, 0x87, "denied by ACL");
    REQUIRE(log.failed.size() == 3);
    CHECK(log.failed[2].find("not authorized") != std::string::npos);
    CHECK(log.failed[2].find("denied by ACL") != std::string::npos);
}

TEST_CASE("session: QoS 2 is answered on PUBCOMP, not on PUBREC") {
    Session s(Version::v311);
    Log log;
    s.connected(false, 0, 0);
    s.push(msg("two", 2), log.done_for("two"));
    std::string out;
    s.fill(out);
    auto pk = decode_all(out, Version::v311);
    CHECK(pk[0].qos == 2);
    CHECK(s.on_pubrec(pk[0].packet_id, 0, ""));
    CHECK(log.ok.empty());
    CHECK_FALSE(s.on_puback(pk[0].packet_id, 0, "")); // wrong ack for QoS 2
    CHECK(s.on_pubcomp(pk[0].packet_id, 0, ""));
    CHECK(log.ok == std::vector<std::string>{"two"});
}

TEST_CASE("session: packet ids wrap around and skip the ones still in flight") {
    Session s(Version::v311);
    Log log;
    s.connected(false, 0, 0);
    s.push(msg("held"), log.done_for("held"));
    std::string out;
    s.fill(out);
    const uint16_t held = decode_all(out, Version::v311)[0].packet_id;
    std::set<uint16_t> seen;
    for (int i = 0; i < 70000; ++i) {
        uint16_t id = s.next_packet_id();
        CHECK(id != 0);
        if (id == held) FAIL("an id in flight was given again");
        seen.insert(id);
    }
    CHECK(seen.size() == 65534);
}
