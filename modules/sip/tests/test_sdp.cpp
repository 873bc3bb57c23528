#include "sdp.hpp"

#include <catch2/catch.hpp>

using namespace sip;

static const char* kOffer =
    "v=0\r\no=x 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
    "m=audio 16000 RTP/AVP 18 8 0 96\r\na=rtpmap:18 G729/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-15\r\na=sendrecv\r\n";

TEST_CASE("answer keeps the offerer's numbers and takes the first supported codec") {
    auto offer = parse_sdp(kOffer);
    REQUIRE(offer);
    auto a = answer_offer(*offer, "127.0.0.1", 20000, 42);
    REQUIRE(a.plan);
    CHECK(a.plan->codec == Codec::pcma);
    CHECK(a.plan->codec_pt == 8);
    CHECK(a.plan->dtmf_pt == 96);
    CHECK(a.plan->remote_addr == "10.0.0.1");
    CHECK(a.plan->remote_port == 16000);
    CHECK(a.sdp.find("m=audio 20000 RTP/AVP 8 96\r\n") != std::string::npos);
    CHECK(a.sdp.find("a=rtpmap:96 telephone-event/8000") != std::string::npos);
    CHECK(a.sdp.find("101") == std::string::npos);
    CHECK(a.sdp.find("c=IN IP4 127.0.0.1") != std::string::npos);
    auto back = parse_sdp(a.sdp);
    REQUIRE(back);
    auto plan = read_answer(*back);
    REQUIRE(plan);
    CHECK(plan->remote_port == 20000);
}

TEST_CASE("static payload types without rtpmap, media-level c=") {
    auto offer = parse_sdp("v=0\r\nc=IN IP4 1.1.1.1\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP4 2.2.2.2\r\n");
    REQUIRE(offer);
    auto a = answer_offer(*offer, "127.0.0.1", 20000, 1);
    REQUIRE(a.plan);
    CHECK(a.plan->codec == Codec::pcmu);
    CHECK(a.plan->remote_addr == "2.2.2.2");
    CHECK(a.plan->dtmf_pt == -1);
}

TEST_CASE("no common codec means no answer (488)") {
    auto offer = parse_sdp("v=0\r\nc=IN IP4 1.1.1.1\r\nm=audio 4000 RTP/AVP 18 9\r\na=rtpmap:9 G722/8000\r\n");
    REQUIRE(offer);
    CHECK_FALSE(answer_offer(*offer, "127.0.0.1", 20000, 1).plan);
}

TEST_CASE("offer lists PCMU, PCMA and telephone-event") {
    auto o = parse_sdp(make_offer("127.0.0.1", 30000, 5));
    REQUIRE(o);
    REQUIRE(o->audio());
    CHECK(o->audio()->pts == std::vector<int>{0, 8, 101});
}

TEST_CASE("hostile SDP") {
    CHECK_FALSE(parse_sdp(""));
    CHECK_FALSE(parse_sdp("v=1\r\n"));
    CHECK_FALSE(parse_sdp("v=0\r\nm=audio 99999 RTP/AVP 0\r\n"));
    CHECK_FALSE(parse_sdp(std::string(20000, 'a')));
    auto noaudio = parse_sdp("v=0\r\nm=video 5 RTP/AVP 31\r\n");
    REQUIRE(noaudio);
    CHECK_FALSE(answer_offer(*noaudio, "127.0.0.1", 1, 1).plan);
    auto garbage = parse_sdp("v=0\r\nm=audio 5 RTP/AVP x y 300\r\na=rtpmap:zz\r\na=rtpmap\r\n");
    REQUIRE(garbage);
    CHECK_FALSE(answer_offer(*garbage, "127.0.0.1", 1, 1).plan);
}
