// DHIP framing, login hash and event decoding against the captures.
#include "dhip.hpp"
#include "fixture_io.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <random>
#include <sstream>

using namespace passerelle;
using namespace passerelle::dahua;
using dahua_test::dhip_fixture;

namespace {
std::vector<dhip::Frame> decode_chunked(const std::string& data, std::size_t chunk) {
    dhip::FrameDecoder d;
    std::vector<dhip::Frame> out;
    for (std::size_t i = 0; i < data.size(); i += chunk) REQUIRE(d.feed(std::string_view(data).substr(i, chunk), out));
    CHECK(d.buffered() == 0);
    return out;
}
std::string value_of(const std::string& text, const std::string& key) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
    return {};
}
} // namespace

TEST_CASE("login challenge frame (byte-exact): header and challenge") {
    std::string data = dhip_fixture("login_challenge_frame.bin");
    REQUIRE(data.size() == 320);
    for (std::size_t chunk : {std::size_t{320}, std::size_t{1}, std::size_t{7}, std::size_t{33}}) {
        auto frames = decode_chunked(data, chunk);
        REQUIRE(frames.size() == 1);
        CHECK(frames[0].session == 2147483234u);
        CHECK(frames[0].id == 2u);
        CHECK(frames[0].body.size() == 288);
    }
    auto frames = decode_chunked(data, 320);
    auto c = dhip::parse_login_challenge(frames[0].body);
    REQUIRE(c);
    CHECK(c->session == 2147483234u);
    CHECK(c->realm == "Login to 6J0DA6EPAJ4FE11");
    CHECK(c->random == "647709486");
    CHECK(c->encryption == "Default");
    auto m = dhip::parse_message(frames[0].body);
    REQUIRE(m);
    CHECK(m->result_bool == false);
    CHECK(m->error_code == 268632079);
    CHECK(m->id == 2);

    // Step 2 carries the session and the hash of this challenge.
    auto step2 = nlohmann::json::parse(dhip::login_step2(3, *c, "admin", "pw"));
    CHECK(step2["session"] == 2147483234u);
    CHECK(step2["params"]["password"] == dhip::login_hash("admin", "pw", c->realm, c->random));
    CHECK(step2["method"] == "global.login");
}

TEST_CASE("login hash test vector") {
    std::string v = dhip_fixture("hash_test_vector.txt");
    std::string user = value_of(v, "username"), pass = value_of(v, "password"), realm = value_of(v, "realm"),
                random = value_of(v, "random");
    REQUIRE(user == "admin");
    REQUIRE(realm == "Login to 4H01D66PAJ2FA64");
    std::string ha = dhip::md5_upper_hex(user + ":" + realm + ":" + pass);
    CHECK(ha == "2392FB4D9A370C14D73FD1C5DDA16FED");
    CHECK(dhip::login_hash(user, pass, realm, random) == "71596D591679A707721AD797437DE105");
}

TEST_CASE("client login step 1: our encoding equals the constructed capture") {
    std::string data = dhip_fixture("client_login_step1_constructed.bin");
    auto frames = decode_chunked(data, 5);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].session == 0u);
    CHECK(frames[0].id == 1u);
    auto ours = nlohmann::json::parse(dhip::login_step1(1, "admin"));
    auto theirs = nlohmann::json::parse(frames[0].body);
    CHECK(ours == theirs);
    // Same header layout byte for byte when the body is identical.
    CHECK(dhip::encode_frame(0, 1, frames[0].body) == data);
}

TEST_CASE("notifyEventStream VideoMotionInfo frame: decoded, not an event") {
    std::string data = dhip_fixture("notifyEventStream_VideoMotionInfo_frame_rebuilt.bin");
    auto frames = decode_chunked(data, 1);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].body.size() == 0x17b);
    CHECK(frames[0].id == 8u);
    auto events = dhip::decode_event_stream(frames[0].body);
    REQUIRE(events);
    CHECK(events->empty()); // VideoMotionInfo State is a refresh
    CHECK_FALSE(dhip::decode_event_stream(dhip_fixture("login_challenge_frame.bin").substr(32)));
}

TEST_CASE("notifyEventStream maps like the CGI stream") {
    // Shape of the AD410 capture (rroller/dahua#52), several events in one list.
    std::string body = R"({"id":9,"method":"client.notifyEventStream","params":{"SID":513,"eventList":[
      {"Action":"Start","Code":"CallNoAnswered","Data":{"CallID":"7","LocaleTime":"2021-08-29 15:26:04","UTC":1630272364.0},"Index":0},
      {"Action":"Pulse","Code":"BackKeyLight","Data":{"State":2},"Index":0},
      {"Action":"Start","Code":"CrossRegionDetection","Data":{"Name":"Gate","Object":{"ObjectType":"Human"}},"Index":1},
      {"Action":"State","Code":"VideoMotionInfo","Index":0},
      "junk", {"Code":""}]},"session":1})";
    auto events = dhip::decode_event_stream(body);
    REQUIRE(events);
    REQUIRE(events->size() == 3);
    CHECK((*events)[0].type == "doorbell");
    CHECK((*events)[0].state == State::start);
    CHECK((*events)[0].time_ns == 1630272364LL * 1000000000LL);
    CHECK((*events)[0].attr("data.CallID") == "7");
    CHECK((*events)[1].type == "doorbell");
    CHECK((*events)[2].type == "intrusion");
    CHECK((*events)[2].channel == 2);
    CHECK((*events)[2].attr("target") == "human");
    CHECK((*events)[2].attr("region") == "Gate");
}

TEST_CASE("request builders") {
    auto attach = nlohmann::json::parse(dhip::attach_events(4, 77));
    CHECK(attach["method"] == "eventManager.attach");
    CHECK(attach["params"]["codes"] == nlohmann::json::array({"All"}));
    CHECK(attach["session"] == 77);
    CHECK(attach["id"] == 4);
    auto ka = nlohmann::json::parse(dhip::keep_alive(5, 77, 30));
    CHECK(ka["method"] == "global.keepAlive");
    CHECK(ka["params"]["timeout"] == 30);
    auto inst = nlohmann::json::parse(dhip::access_control_instance(6, 77, 0));
    CHECK(inst["method"] == "accessControl.factory.instance");
    auto open = nlohmann::json::parse(dhip::open_door(7, 77, 12345, 1));
    CHECK(open["method"] == "accessControl.openDoor");
    CHECK(open["object"] == 12345);
    CHECK(open["params"]["DoorIndex"] == 1);
    auto destroy = nlohmann::json::parse(dhip::access_control_destroy(8, 77, 12345));
    CHECK(destroy["method"] == "accessControl.destroy");
    auto reply = dhip::parse_message(R"({"id":6,"result":12345,"session":77})");
    REQUIRE(reply);
    CHECK(reply->result_int == 12345);
}

TEST_CASE("framing round trip and hostile headers") {
    std::string stream;
    for (uint32_t i = 0; i < 50; ++i) stream += dhip::encode_frame(i, i + 1, std::string(i * 3, 'a' + i % 26));
    std::mt19937 rng(7);
    dhip::FrameDecoder d;
    std::vector<dhip::Frame> out;
    for (std::size_t i = 0; i < stream.size();) {
        std::size_t n = std::min<std::size_t>(1 + rng() % 40, stream.size() - i);
        REQUIRE(d.feed(std::string_view(stream).substr(i, n), out));
        i += n;
    }
    REQUIRE(out.size() == 50);
    CHECK(out[49].body == std::string(147, 'a' + 49 % 26));
    CHECK(out[49].session == 49u);

    SECTION("bad magic fails for good") {
        dhip::FrameDecoder bad;
        std::vector<dhip::Frame> o;
        std::string f = dhip::encode_frame(1, 1, "{}");
        f[5] = 'X';
        CHECK_FALSE(bad.feed(f, o));
        CHECK(bad.failed());
        CHECK_FALSE(bad.feed(dhip::encode_frame(1, 1, "{}"), o));
        CHECK(o.empty());
    }
    SECTION("announced length above the cap") {
        dhip::FrameDecoder capped(1024);
        std::vector<dhip::Frame> o;
        std::string f = dhip::encode_frame(1, 1, std::string(2000, 'x'));
        CHECK_FALSE(capped.feed(f.substr(0, 32), o));
        CHECK(capped.buffered() == 0);
        // A 64-bit length with the high bits set must not wrap.
        dhip::FrameDecoder wrap;
        std::string h = dhip::encode_frame(1, 1, "");
        for (int i = 16; i < 24; ++i) h[i] = '\xff';
        CHECK_FALSE(wrap.feed(h, o));
    }
    SECTION("garbage JSON is rejected cleanly") {
        CHECK_FALSE(dhip::parse_message("not json"));
        CHECK_FALSE(dhip::parse_login_challenge("{\"params\":{}}"));
        CHECK_FALSE(dhip::decode_event_stream("[1,2"));
    }
}
