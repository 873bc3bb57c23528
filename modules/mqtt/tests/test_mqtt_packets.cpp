// The MQTT packet codec (packets.*): bytes checked against the specs (3.1.1
// and 5), and the decoder fed hostile input (truncated, garbage, huge lengths,
// malformed properties) — it parses what the broker sends.
#include "packets.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace mqtt::wire;
using namespace std::string_literals;
using namespace std::string_view_literals;

namespace {

std::string bytes(std::initializer_list<int> b) {
    std::string s;
    for (int x : b) s.push_back(static_cast<char>(x));
    return s;
}

Packet decode_ok(const std::string& in, Version v = Version::v311) {
    Packet p;
    Decoded d = decode(in, v, p);
    INFO(d.error);
    REQUIRE(d.status == Status::ok);
    CHECK(d.consumed == in.size());
    return p;
}

Status status_of(const std::string& in, Version v = Version::v311, size_t max = max_remaining_length + 5) {
    Packet p;
    return decode(in, v, p, max).status;
}

} // namespace

TEST_CASE("CONNECT 3.1.1: persistent session, will, user and password, as in the spec") {
    Connect c;
    c.client_id = "id"s;
    c.user = "u"s;
    c.password = "p"s;
    c.keepalive_s = 60;
    c.has_will = true;
    c.will = {"s", "off", 1, true};
    std::string out;
    encode_connect(out, Version::v311, c);
    const std::string body = bytes({0, 4}) + "MQTT" + bytes({4, 0x80 | 0x40 | 0x20 | 0x08 | 0x04, 0, 60}) +
                             bytes({0, 2}) + "id" + bytes({0, 1}) + "s" + bytes({0, 3}) + "off" + bytes({0, 1}) + "u" +
                             bytes({0, 1}) + "p";
    CHECK(out == bytes({0x10, static_cast<int>(body.size())}) + body);
}

TEST_CASE("CONNECT 5: session expiry and maximum packet size properties, will properties") {
    Connect c;
    c.client_id = "id";
    c.keepalive_s = 30;
    c.clean_start = true;
    c.session_expiry_s = 86400;
    c.max_packet_size = 1 << 20;
    c.has_will = true;
    c.will = {"s", "x", 0, false};
    std::string out;
    encode_connect(out, Version::v5, c);
    const std::string body = bytes({0, 4}) + "MQTT" + bytes({5, 0x02 | 0x04, 0, 30}) +
                             bytes({10, 0x11, 0, 1, 0x51, 0x80, 0x27, 0, 0x10, 0, 0}) + bytes({0, 2}) + "id" +
                             bytes({0}) + bytes({0, 1}) + "s" + bytes({0, 1}) + "x";
    CHECK(out == bytes({0x10, static_cast<int>(body.size())}) + body);
}

TEST_CASE("PUBLISH round trip: QoS, retain, DUP, packet id, MQTT 5 correlation data and response topic") {
    for (Version v : {Version::v311, Version::v5}) {
        std::string out;
        PublishOut p;
        p.topic = "a/b";
        p.payload = "hello";
        p.qos = 1;
        p.retain = true;
        p.dup = true;
        p.packet_id = 0x1234;
        p.correlation_data = "c\0d"sv;
        p.response_topic = "r/t";
        encode_publish(out, v, p);
        CHECK(out.size() == publish_size(v, p));
        CHECK(static_cast<uint8_t>(out[0]) == (0x30 | 0x08 | 0x02 | 0x01));
        Packet in = decode_ok(out, v);
        CHECK(in.type == Type::publish);
        CHECK(in.topic == "a/b");
        CHECK(in.payload == "hello");
        CHECK(in.qos == 1);
        CHECK(in.retain);
        CHECK(in.dup);
        CHECK(in.packet_id == 0x1234);
        if (v == Version::v5) {
            CHECK(in.correlation_data == "c\0d"s);
            CHECK(in.response_topic == "r/t");
        } else {
            CHECK(in.correlation_data.empty());
        }
    }
}

TEST_CASE("PUBLISH QoS 0 has no packet id and no DUP; a large payload takes a multi-byte length") {
    std::string out;
    std::string payload(200000, 'x');
    PublishOut p;
    p.topic = "t";
    p.payload = payload;
    p.dup = true;
    encode_publish(out, Version::v311, p);
    CHECK(static_cast<uint8_t>(out[0]) == 0x30);
    CHECK(out.size() == 1 + 3 + 2 + 1 + payload.size());
    Packet in = decode_ok(out);
    CHECK(in.payload == payload);
    CHECK(in.packet_id == 0);
}

TEST_CASE("acks, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT bytes") {
    std::string out;
    encode_ack(out, Type::puback, 7);
    encode_ack(out, Type::pubrel, 8);
    CHECK(out == bytes({0x40, 2, 0, 7, 0x62, 2, 0, 8}));
    out.clear();
    encode_subscribe(out, Version::v311, 1, {{"a/#", 1}});
    CHECK(out == bytes({0x82, 8, 0, 1, 0, 3}) + "a/#" + bytes({1}));
    out.clear();
    encode_subscribe(out, Version::v5, 1, {{"a/#", 1}});
    CHECK(out == bytes({0x82, 9, 0, 1, 0, 0, 3}) + "a/#" + bytes({1}));
    out.clear();
    encode_unsubscribe(out, Version::v311, 2, {"a"});
    CHECK(out == bytes({0xA2, 5, 0, 2, 0, 1}) + "a");
    out.clear();
    encode_pingreq(out);
    encode_disconnect(out, Version::v5);
    CHECK(out == bytes({0xC0, 0, 0xE0, 0}));
}

TEST_CASE("CONNACK: session present, refusals, MQTT 5 properties") {
    Packet p = decode_ok(bytes({0x20, 2, 1, 0}));
    CHECK(p.type == Type::connack);
    CHECK(p.session_present);
    CHECK(p.reason == 0);
    p = decode_ok(bytes({0x20, 2, 0, 5}));
    CHECK(is_auth_refusal(p.reason, Version::v311));
    CHECK(reason_text(p.reason, Version::v311) == "not authorized");
    CHECK_FALSE(is_auth_refusal(3, Version::v311));
    // 5: receive maximum 20, maximum packet size 1000, a reason string, a user property.
    std::string props = bytes({0x21, 0, 20, 0x27, 0, 0, 0x03, 0xE8, 0x1F, 0, 2}) + "no" + bytes({0x26, 0, 1}) + "k" +
                        bytes({0, 1}) + "v";
    p = decode_ok(bytes({0x20, static_cast<int>(3 + props.size()), 0, 0x86, static_cast<int>(props.size())}) + props,
                  Version::v5);
    CHECK(p.reason == 0x86);
    CHECK(is_auth_refusal(p.reason, Version::v5));
    CHECK(p.receive_maximum == 20);
    CHECK(p.maximum_packet_size == 1000);
    CHECK(p.reason_string == "no");
}

TEST_CASE("PUBACK 5: short form, reason code, reason string; SUBACK return codes") {
    Packet p = decode_ok(bytes({0x40, 2, 0, 9}), Version::v5);
    CHECK(p.packet_id == 9);
    CHECK(p.reason == 0);
    p = decode_ok(bytes({0x40, 3, 0, 9, 0x87}), Version::v5);
    CHECK(p.reason == 0x87);
    p = decode_ok(bytes({0x40, 8, 0, 9, 0x87, 4, 0x1F, 0, 1}) + "x", Version::v5);
    CHECK(p.reason_string == "x");
    p = decode_ok(bytes({0x90, 4, 0, 3, 1, 0x80}));
    CHECK(p.type == Type::suback);
    CHECK(p.reason_codes == std::vector<uint8_t>{1, 0x80});
    CHECK(p.reason == 0x80);
    p = decode_ok(bytes({0xD0, 0}));
    CHECK(p.type == Type::pingresp);
    p = decode_ok(bytes({0xE0, 1, 0x8E}), Version::v5);
    CHECK(p.type == Type::disconnect);
    CHECK(reason_text(p.reason, Version::v5) == "session taken over");
}

TEST_CASE("hostile: every truncation of a valid packet asks for more, never reads past the end") {
    std::string out;
    PublishOut p;
    p.topic = "passerelle/cmd/x/y";
    p.payload = "{\"a\":1}";
    p.qos = 1;
    p.packet_id = 3;
    p.correlation_data = "corr";
    p.response_topic = "resp";
    encode_publish(out, Version::v5, p);
    for (size_t n = 0; n < out.size(); ++n) {
        INFO(n);
        CHECK(status_of(out.substr(0, n), Version::v5) == Status::need_more);
    }
    // Two packets in one buffer: the first one is consumed alone.
    std::string two = out + bytes({0xD0, 0});
    Packet first;
    Decoded d = decode(two, Version::v5, first);
    REQUIRE(d.status == Status::ok);
    CHECK(d.consumed == out.size());
}

TEST_CASE("hostile: huge or endless remaining lengths are refused before any body arrives") {
    // 5 length bytes with the continuation bit: more than the 4 the spec allows.
    CHECK(status_of(bytes({0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F})) == Status::malformed);
    // 256 MiB - 1 announced (the largest valid), more than the client accepts:
    // any packet but PUBLISH is refused at once...
    CHECK(status_of(bytes({0x90, 0xFF, 0xFF, 0xFF, 0x7F}), Version::v311, 1 << 20) == Status::malformed);
    // ...a PUBLISH is too_large once its topic and packet id are in (to acknowledge and skip it).
    const std::string huge = bytes({0x32, 0xFF, 0xFF, 0xFF, 0x7F, 0, 3}) + "a/b" + bytes({0x12, 0x34});
    for (size_t n = 0; n < huge.size(); ++n) CHECK(status_of(huge.substr(0, n), Version::v311, 1 << 20) == Status::need_more);
    Packet p;
    Decoded d = decode(huge + "payload...", Version::v5, p, 1 << 20);
    REQUIRE(d.status == Status::too_large);
    CHECK(d.consumed == 5 + 268435455u);
    CHECK(p.topic == "a/b");
    CHECK(p.qos == 1);
    CHECK(p.packet_id == 0x1234);
    // A topic longer than the announced packet: malformed, not a wait.
    CHECK(status_of(bytes({0x30, 20, 0xFF, 0xFF}), Version::v311, 10) == Status::malformed);
    // Within the limit but absent: wait for it (the caller bounds its buffer by the limit).
    CHECK(status_of(bytes({0x30, 0xFF, 0xFF, 0xFF, 0x7F})) == Status::need_more);
}

TEST_CASE("hostile: malformed bodies and properties are refused with a reason") {
    const std::vector<std::pair<std::string, Version>> bad = {
        {bytes({0x00, 0}), Version::v311},                   // type 0
        {bytes({0x10, 0}), Version::v311},                   // CONNECT from a server
        {bytes({0xF0, 0}), Version::v311},                   // AUTH in 3.1.1
        {bytes({0x20, 1, 0}), Version::v311},                // short CONNACK
        {bytes({0x20, 3, 0, 0, 0}), Version::v311},          // trailing byte
        {bytes({0x20, 2, 0x02, 0}), Version::v311},          // reserved CONNACK flag
        {bytes({0x21, 2, 0, 0}), Version::v311},             // CONNACK with header flags
        {bytes({0x36, 5, 0, 1, 't', 0, 1}), Version::v311},  // QoS 3
        {bytes({0x32, 5, 0, 1, 't', 0, 0}), Version::v311},  // packet id 0
        {bytes({0x30, 3, 0, 5, 't'}), Version::v311},        // topic longer than the packet
        {bytes({0x30, 3, 0, 0, 0}), Version::v5},            // empty topic (alias) in 5
        {bytes({0x30, 5, 0, 1, 't', 1, 0x7E}), Version::v5}, // unknown property 0x7E
        {bytes({0x30, 5, 0, 1, 't', 5, 0x02}), Version::v5}, // property length past the end
        {bytes({0x30, 6, 0, 1, 't', 2, 0x09, 0}), Version::v5},               // truncated binary
        {bytes({0x30, 8, 0, 1, 't', 4, 0x08, 0, 5, 'r'}), Version::v5},       // truncated string
        {bytes({0x20, 6, 0, 0, 3, 0x21, 0, 0}), Version::v5},                 // receive maximum 0
        {bytes({0x20, 7, 0, 0, 4, 0x0B, 0xFF, 0xFF, 0xFF}), Version::v5},     // endless varint
        {bytes({0x41, 2, 0, 1}), Version::v311},             // PUBACK with flags
        {bytes({0x60, 2, 0, 1}), Version::v311},             // PUBREL without its flags
        {bytes({0x90, 2, 0, 1}), Version::v311},             // SUBACK without codes
        {bytes({0xE0, 0}), Version::v311},                   // DISCONNECT from a 3.1.1 server
    };
    for (auto& [in, v] : bad) {
        Packet p;
        Decoded d = decode(in, v, p);
        INFO("packet of " << in.size() << " bytes, first 0x" << std::hex << (static_cast<int>(in[0]) & 0xFF));
        CHECK(d.status == Status::malformed);
        CHECK_FALSE(d.error.empty());
    }
}

TEST_CASE("hostile: random garbage never crashes and never claims more than it was given") {
    std::mt19937 rng(12345);
    for (int i = 0; i < 20000; ++i) {
        std::string in(rng() % 40, '\0');
        for (auto& c : in) c = static_cast<char>(rng());
        for (Version v : {Version::v311, Version::v5}) {
            Packet p;
            Decoded d = decode(in, v, p, 1 << 16);
            if (d.status == Status::ok) CHECK(d.consumed <= in.size());
            if (d.status == Status::ok) CHECK(d.consumed >= 2);
        }
    }
}
