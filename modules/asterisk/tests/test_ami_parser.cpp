// The AMI parser fed every real capture (whole, byte by byte, random chunks)
// and hostile input.
#include "ami_parser.hpp"
#include "fixtures.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace passerelle::asterisk;
using namespace passerelle::asterisk::testing;

namespace {

struct Expect {
    const char* name;
    size_t packets; // banner included
    size_t events;
};

// Counted independently of this parser (banner line + chunks split on CRLF CRLF,
// by a throwaway Python one-liner over the capture files).
const Expect kV20[] = {
    {"01-banner-login-ping-logoff", 7, 0}, {"02-login-wrong-secret", 2, 0}, {"03-login-unknown-user", 2, 0},
    {"04-login-challenge-md5", 6, 2}, {"05-login-challenge-wrong-key", 3, 0}, {"06-challenge-without-authtype", 3, 0},
    {"07-action-before-login", 6, 0}, {"08-eecallus-privileges", 7, 0}, {"09-originate-local-sync-events", 30, 24},
    {"10-originate-failures-sync", 10, 0}, {"11-originate-async-responses", 76, 68}, {"12-local-dtmf-senddtmf", 27, 22},
    {"13-coreshowchannels-eventlist", 16, 7}, {"14-sip-registration-peerstatus", 26, 22}, {"15-messagesend", 9, 0},
    {"16-inbound-call-0612345678-to-100-dtmf5", 80, 77}, {"17-originate-sip100-then-101", 81, 77},
    {"18-originate-sip100-then-291-unavailable", 40, 36}, {"19-originate-sip100-voice-message", 30, 26},
    {"20-command-action-admin", 9, 0}, {"21-lf-only-client", 4, 0}, {"22-asterisk-shutdown-while-connected", 4, 2},
};
const Expect kV13[] = {
    {"01-banner-login-ping-logoff", 7, 0}, {"02-login-wrong-secret", 2, 0}, {"03-login-unknown-user", 2, 0},
    {"04-login-challenge-md5", 6, 2}, {"05-login-challenge-wrong-key", 3, 0}, {"06-challenge-without-authtype", 3, 0},
    {"07-action-before-login", 6, 0}, {"08-eecallus-privileges", 7, 0}, {"09-originate-local-sync-events", 30, 24},
    {"10-originate-failures-sync", 10, 0}, {"11-originate-async-responses", 75, 67}, {"12-local-dtmf-senddtmf", 33, 28},
    {"13-coreshowchannels-eventlist", 16, 7}, {"14-sip-registration-peerstatus", 26, 22}, {"15-messagesend", 9, 0},
    {"16-inbound-call-0612345678-to-100-dtmf5", 77, 74}, {"17-originate-sip100-then-101", 77, 73},
    {"18-originate-sip100-then-291-unavailable", 38, 34}, {"19-originate-sip100-voice-message", 28, 24},
    {"20-command-action-admin", 7, 0}, {"22-asterisk-shutdown-while-connected", 4, 2},
};

size_t count_events(const std::vector<AmiPacket>& ps) {
    size_t n = 0;
    for (const auto& p : ps) n += p.kind == AmiPacket::Kind::event;
    return n;
}

std::vector<AmiPacket> parse_chunked(std::string_view bytes, std::mt19937& rng, size_t max_chunk) {
    std::vector<AmiPacket> out;
    AmiParser parser;
    std::uniform_int_distribution<size_t> len(1, max_chunk);
    while (!bytes.empty()) {
        size_t n = std::min(bytes.size(), len(rng));
        parser.feed(bytes.substr(0, n), [&](AmiPacket&& p) { out.push_back(std::move(p)); });
        bytes.remove_prefix(n);
    }
    return out;
}

bool same(const std::vector<AmiPacket>& a, const std::vector<AmiPacket>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (a[i].kind != b[i].kind || a[i].fields != b[i].fields || a[i].text != b[i].text) return false;
    return true;
}

void check_version(const std::string& version, const Expect* begin, const Expect* end) {
    std::mt19937 rng(42);
    for (const Expect* e = begin; e != end; ++e) {
        INFO(version << " " << e->name);
        std::string bytes = server_capture(version, e->name);
        auto whole = parse_all(bytes);
        CHECK(whole.size() == e->packets);
        CHECK(count_events(whole) == e->events);
        REQUIRE(!whole.empty());
        CHECK(whole[0].kind == AmiPacket::Kind::banner);
        for (const auto& p : whole) CHECK(p.kind != AmiPacket::Kind::error);
        CHECK(same(whole, parse_chunked(bytes, rng, 1)));   // byte by byte
        CHECK(same(whole, parse_chunked(bytes, rng, 7)));
        CHECK(same(whole, parse_chunked(bytes, rng, 700)));
    }
}

} // namespace

TEST_CASE("every Asterisk 20 capture parses whole, byte by byte and in random chunks") {
    check_version("20.20.1", std::begin(kV20), std::end(kV20));
}

TEST_CASE("every Asterisk 13 capture parses whole, byte by byte and in random chunks") {
    check_version("13.38.3", std::begin(kV13), std::end(kV13));
}

TEST_CASE("banner, keys, repeated keys and values with colons") {
    auto ps = parse_all(server_capture("20.20.1", "01-banner-login-ping-logoff"));
    CHECK(ps[0].text == "Asterisk Call Manager/9.0.0");
    CHECK(ps[1].response() == "Success");
    CHECK(ps[1].get("actionid") == "login-1"); // case-insensitive
    auto invalid = std::find_if(ps.begin(), ps.end(), [](const AmiPacket& p) { return p.get("Message").find("Invalid/unknown") == 0; });
    REQUIRE(invalid != ps.end());
    CHECK(invalid->get("Message").find("Use Action: ListCommands") != std::string_view::npos); // ": " inside a value

    auto p = parse_all("PBX Call Manager/1.0\r\nEvent: VarSet\r\nChanVariable: A=1\r\nChanVariable: B=2\r\nValue: \r\nX: a: b\r\n\r\n");
    REQUIRE(p.size() == 2);
    CHECK(p[0].kind == AmiPacket::Kind::banner);
    CHECK(p[0].text == "PBX Call Manager/1.0");
    CHECK(p[1].all("chanvariable") == std::vector<std::string_view>{"A=1", "B=2"});
    CHECK(p[1].has("Value"));
    CHECK(p[1].get("Value").empty());
    CHECK(p[1].get("X") == "a: b");
}

TEST_CASE("Asterisk 13 Response: Follows with bare-LF output and --END COMMAND--") {
    auto ps = parse_all(server_capture("13.38.3", "20-command-action-admin"));
    REQUIRE(ps.size() >= 5);
    CHECK(ps[2].response() == "Follows");
    CHECK(ps[2].action_id() == "cmd-1");
    REQUIRE(ps[2].all("Output").size() == 1);
    CHECK(ps[2].get("Output").find("Asterisk 13.38.3 built by") == 0);
    CHECK(ps[4].all("Output").size() == 5); // sip show peers: header, 3 peers, summary
    CHECK(ps[5].get("AsteriskVersion") == "13.38.3");
    CHECK(ps[5].has("SystemName"));

    auto glued = parse_all("Response: Follows\r\nPrivilege: Command\r\nline one\n\nline: three\nlast--END COMMAND--\r\n\r\n");
    REQUIRE(glued.size() == 1);
    CHECK(glued[0].all("Output") == std::vector<std::string_view>{"line one", "", "line: three", "last"});
}

TEST_CASE("Asterisk 20 Command output and LF-only lines") {
    auto ps = parse_all(server_capture("20.20.1", "20-command-action-admin"));
    auto it = std::find_if(ps.begin(), ps.end(), [](const AmiPacket& p) { return p.all("Output").size() > 1; });
    REQUIRE(it != ps.end());
    auto lf = parse_all("Asterisk Call Manager/9.0.0\nResponse: Success\nActionID: 1\n\nEvent: X\n\n");
    REQUIRE(lf.size() == 3);
    CHECK(lf[1].action_id() == "1");
    CHECK(lf[2].event() == "X");
}

TEST_CASE("hostile input: garbage, huge lines, huge packets, truncation") {
    AmiParserLimits lim;
    lim.max_line = 1024;
    lim.max_packet = 8192;
    lim.max_fields = 100;

    SECTION("a huge line is one error, then the parser resyncs on the next packet") {
        AmiParser parser(lim);
        std::vector<AmiPacket> out;
        auto sink = [&](AmiPacket&& p) { out.push_back(std::move(p)); };
        parser.feed("Asterisk Call Manager/9.0.0\r\nEvent: Big\r\nData: ", sink);
        std::string junk(100000, 'x');
        for (int i = 0; i < 10; ++i) parser.feed(junk, sink);
        CHECK(parser.buffered() <= lim.max_line + lim.max_packet);
        parser.feed("\r\nMore: y\r\n\r\nEvent: Next\r\nA: 1\r\n\r\n", sink);
        REQUIRE(out.size() == 3);
        CHECK(out[1].kind == AmiPacket::Kind::error);
        CHECK(out[1].text.find("line longer") != std::string::npos);
        CHECK(out[2].event() == "Next");
        CHECK(parser.errors() == 1);
    }
    SECTION("a packet with too many lines is an error and resync") {
        AmiParser parser(lim);
        std::vector<AmiPacket> out;
        auto sink = [&](AmiPacket&& p) { out.push_back(std::move(p)); };
        std::string many = "Event: Many\r\n";
        for (int i = 0; i < 500; ++i) many += "K: v\r\n";
        parser.feed(many + "\r\nEvent: Ok\r\n\r\n", sink);
        REQUIRE(out.size() == 2);
        CHECK(out[0].kind == AmiPacket::Kind::error);
        CHECK(out[1].event() == "Ok");
    }
    SECTION("Follows that never ends is capped") {
        AmiParser parser(lim);
        std::vector<AmiPacket> out;
        auto sink = [&](AmiPacket&& p) { out.push_back(std::move(p)); };
        parser.feed("Response: Follows\r\n", sink);
        for (int i = 0; i < 2000; ++i) parser.feed("output line\n\n", sink);
        CHECK(parser.buffered() <= lim.max_packet + lim.max_line);
        REQUIRE(!out.empty());
        CHECK(out[0].kind == AmiPacket::Kind::error);
    }
    SECTION("random garbage never crashes and stays bounded") {
        std::mt19937 rng(7);
        AmiParser parser(lim);
        size_t n = 0;
        for (int i = 0; i < 2000; ++i) {
            std::string chunk(rng() % 300, '\0');
            for (auto& c : chunk) {
                unsigned r = rng() % 10;
                c = r == 0 ? '\n' : r == 1 ? '\r' : r == 2 ? ':' : static_cast<char>(rng() % 256);
            }
            parser.feed(chunk, [&](AmiPacket&&) { ++n; });
            REQUIRE(parser.buffered() <= lim.max_line + lim.max_packet + 300);
        }
        CHECK(n > 0);
    }
    SECTION("a truncated stream yields only the complete packets") {
        std::string bytes = server_capture("20.20.1", "16-inbound-call-0612345678-to-100-dtmf5");
        auto all = parse_all(bytes);
        auto part = parse_all(std::string_view(bytes).substr(0, bytes.size() / 2));
        CHECK(part.size() < all.size());
        CHECK(part.size() > 1);
        for (size_t i = 0; i < part.size(); ++i) CHECK(part[i].fields == all[i].fields);
    }
}
