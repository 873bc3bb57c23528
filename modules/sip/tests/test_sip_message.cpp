#include "sip_message.hpp"
#include "sip_uri.hpp"

#include <catch2/catch.hpp>

using namespace sip;

static const char* kInvite =
    "INVITE sip:passerelle@127.0.0.1:5062 SIP/2.0\r\n"
    "v: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKa;rport=5070, SIP/2.0/UDP 127.0.0.1:5092;branch=z9hG4bKb\r\n"
    "Record-Route: <sip:127.0.0.1:5070;lr>\r\n"
    "f: \"06 12\" <sip:0612345678@127.0.0.1:5070>;tag=abc\r\n"
    "t: <sip:passerelle@127.0.0.1:5070>\r\n"
    "i: call-1@host\r\n"
    "CSeq: 2 INVITE\r\n"
    "m: <sip:0612345678@127.0.0.1:5092>\r\n"
    "Subject: a folded\r\n"
    "  header\r\n"
    "c: application/sdp\r\n"
    "l: 4\r\n"
    "\r\n"
    "v=0\r\nextra";

TEST_CASE("compact, multi-value and folded headers") {
    auto r = parse(kInvite);
    REQUIRE(r.message);
    const Message& m = *r.message;
    CHECK(m.request);
    CHECK(m.method == "INVITE");
    CHECK(m.uri == "sip:passerelle@127.0.0.1:5062");
    CHECK(m.value("Call-ID") == "call-1@host");
    CHECK(m.value("call-id") == "call-1@host");
    auto vias = m.get_all("Via");
    REQUIRE(vias.size() == 2);
    CHECK(header_param(vias[0], "branch") == std::optional<std::string>("z9hG4bKa"));
    CHECK(m.value("Subject") == "a folded header");
    CHECK(m.body == "v=0\r");  // Content-Length 4 cuts the rest
    CHECK(m.cseq_number() == 2);
    CHECK(m.cseq_method() == "INVITE");
    CHECK(header_param(m.value("From"), "tag") == std::optional<std::string>("abc"));
    CHECK_FALSE(header_param(m.value("To"), "tag"));
}

TEST_CASE("serialize round trip writes Content-Length") {
    auto r = parse(kInvite);
    REQUIRE(r.message);
    r.message->body = "hello";
    std::string wire = r.message->serialize();
    CHECK(wire.find("Content-Length: 5\r\n\r\nhello") != std::string::npos);
    auto again = parse(wire);
    REQUIRE(again.message);
    CHECK(again.message->body == "hello");
    CHECK(again.message->get_all("Via").size() == 2);
}

TEST_CASE("responses") {
    auto r = parse("SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\n"
                   "To: <sip:a@h>\r\nCall-ID: x\r\nCSeq: 7 REGISTER\r\n"
                   "WWW-Authenticate: Digest realm=\"h\", nonce=\"n\", qop=\"auth\"\r\nContent-Length: 0\r\n\r\n");
    REQUIRE(r.message);
    CHECK_FALSE(r.message->request);
    CHECK(r.message->status == 401);
    CHECK(r.message->reason == "Unauthorized");
    CHECK(r.message->get_lines("WWW-Authenticate").size() == 1);
}

TEST_CASE("hostile input is refused, never crashes") {
    CHECK_FALSE(parse("").message);
    CHECK_FALSE(parse("\r\n\r\n").message);
    CHECK_FALSE(parse("garbage\x01\x02").message);
    CHECK_FALSE(parse("INVITE sip:a SIP/2.0\r\n\r\n").message);  // mandatory headers missing
    CHECK_FALSE(parse("SIP/2.0 99 Low\r\nVia: x\r\nFrom: x\r\nTo: x\r\nCall-ID: x\r\nCSeq: 1 X\r\n\r\n").message);
    std::string base = "OPTIONS sip:a@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\n"
                       "To: <sip:a@h>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n";
    CHECK(parse(base + "\r\n").message);
    CHECK_FALSE(parse(base + "Content-Length: 10\r\n\r\nshort").message);   // truncated
    CHECK_FALSE(parse(base + "Content-Length: -1\r\n\r\n").message);
    CHECK_FALSE(parse(base + "X-Big: " + std::string(9000, 'a') + "\r\n\r\n").message);
    std::string many = base;
    for (int i = 0; i < 200; ++i) many += "X-H: 1\r\n";
    CHECK_FALSE(parse(many + "\r\n").message);
    CHECK_FALSE(parse(std::string(70000, 'A')).message);
    // Every prefix of a valid message: no crash.
    std::string full = kInvite;
    for (size_t i = 0; i < full.size(); ++i) (void)parse(full.substr(0, i));
}

TEST_CASE("URIs and name-addr") {
    auto u = parse_uri("sip:100@192.168.1.10:5060;transport=udp;lr");
    REQUIRE(u);
    CHECK(u->user == "100");
    CHECK(u->host == "192.168.1.10");
    CHECK(u->port == 5060);
    CHECK(u->has_param("lr"));
    CHECK(parse_uri("sip:host")->port_or_default() == 5060);
    CHECK(parse_uri("sip:[::1]:5070")->host == "::1");
    CHECK_FALSE(parse_uri("http://x"));
    CHECK_FALSE(parse_uri("sip:"));
    CHECK_FALSE(parse_uri("sip:a@h:99999"));
    auto na = parse_name_addr("\"Bob \\\"B\\\"\" <sip:bob@h:5070;lr>;tag=xyz;expires=60");
    REQUIRE(na);
    CHECK(na->display == "Bob \"B\"");
    CHECK(na->uri.user == "bob");
    CHECK(na->param("tag") == std::optional<std::string>("xyz"));
    CHECK(na->param("expires") == std::optional<std::string>("60"));
    auto bare = parse_name_addr("sip:a@h;tag=1");
    REQUIRE(bare);
    CHECK(bare->param("tag") == std::optional<std::string>("1"));
    CHECK(parse_uri(na->uri.str())->port == 5070);
}
