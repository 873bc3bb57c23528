#include "dtmf.hpp"
#include "rtp.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>

using namespace sip;
using namespace std::chrono_literals;

TEST_CASE("RTP build and parse") {
    std::vector<uint8_t> payload(160, 0xff), out;
    build_rtp({0, true, 65535, 4294967200u, 0xdeadbeef}, payload, out);
    REQUIRE(out.size() == 172);
    auto p = parse_rtp(out);
    REQUIRE(p);
    CHECK(p->header.marker);
    CHECK(p->header.seq == 65535);
    CHECK(p->header.timestamp == 4294967200u);
    CHECK(p->header.ssrc == 0xdeadbeef);
    CHECK(p->payload.size() == 160);
    CHECK_FALSE(parse_rtp(std::vector<uint8_t>(11, 0x80)));
    std::vector<uint8_t> bad(out.begin(), out.begin() + 40);
    bad[0] = 0x8f;  // 15 CSRCs that are not there
    CHECK_FALSE(parse_rtp(bad));
    bad = out;
    bad[0] |= 0x20;
    bad.back() = 200;  // padding longer than the payload
    CHECK_FALSE(parse_rtp(bad));
}

TEST_CASE("G.711 round trips stay close") {
    for (int s = -32768; s <= 32767; s += 97) {
        int16_t v = static_cast<int16_t>(s);
        int du = std::abs(ulaw_to_linear(linear_to_ulaw(v)) - v);
        int da = std::abs(alaw_to_linear(linear_to_alaw(v)) - v);
        // Quantization error grows with the magnitude (logarithmic segments).
        CHECK(du <= std::max(8, std::abs(s) / 16));
        CHECK(da <= std::max(16, std::abs(s) / 16));
    }
    CHECK(linear_to_ulaw(0) == 0xff);
    CHECK(linear_to_alaw(0) == 0xd5);
}

static std::vector<uint8_t> ev(int event, bool end, int duration) {
    return {static_cast<uint8_t>(event), static_cast<uint8_t>((end ? 0x80 : 0) | 10), static_cast<uint8_t>(duration >> 8),
            static_cast<uint8_t>(duration)};
}

TEST_CASE("RFC 4733: one event per key press, end packet x3 deduplicated") {
    Rfc4733Receiver rx;
    auto t = Clock::time_point{} + 1s;
    int digits = 0;
    // SIPp's pcap: 7 updates then the end three times, same timestamp.
    for (int i = 0; i < 7; ++i) {
        if (auto d = rx.on_packet(ev(5, false, i * 160), 0x0e05384e, 1000, t)) {
            CHECK(*d == '5');
            ++digits;
        }
        t += 20ms;
    }
    for (int i = 0; i < 3; ++i) {
        if (rx.on_packet(ev(5, true, 1280), 0x0e05384e, 1000, t)) ++digits;
        t += 20ms;
    }
    CHECK(digits == 1);
    CHECK_FALSE(rx.in_press());
    // The same key again is a new press (new timestamp).
    CHECK(rx.on_packet(ev(5, false, 0), 0x0e05384e, 2000, t) == std::optional<char>('5'));
}

TEST_CASE("RFC 4733: a lost end closes after the silence; ends alone count once") {
    Rfc4733Receiver rx(200ms);
    auto t = Clock::time_point{} + 1s;
    CHECK(rx.on_packet(ev(11, false, 0), 1, 500, t) == std::optional<char>('#'));
    CHECK(rx.next_deadline() == t + 200ms);
    rx.on_time(t + 100ms);
    CHECK(rx.in_press());
    rx.on_time(t + 200ms);
    CHECK_FALSE(rx.in_press());
    CHECK_FALSE(rx.on_packet(ev(11, true, 800), 1, 500, t + 250ms));  // its late end
    // Only end packets of another press (the start was lost): one digit.
    CHECK(rx.on_packet(ev(1, true, 800), 1, 900, t + 300ms) == std::optional<char>('1'));
    CHECK_FALSE(rx.on_packet(ev(1, true, 800), 1, 900, t + 320ms));
    CHECK_FALSE(rx.on_packet(ev(1, true, 800), 1, 900, t + 340ms));
    CHECK_FALSE(rx.on_packet(std::vector<uint8_t>{1, 2}, 1, 1000, t));  // short payload
    CHECK_FALSE(rx.on_packet(ev(99, false, 0), 1, 1100, t));  // not a digit
}

TEST_CASE("INFO DTMF bodies") {
    CHECK(parse_dtmf_info("application/dtmf-relay", "Signal=9\r\nDuration=160\r\n") == std::optional<char>('9'));
    CHECK(parse_dtmf_info("application/dtmf-relay; charset=x", "Signal= *\r\n") == std::optional<char>('*'));
    CHECK(parse_dtmf_info("Application/DTMF-Relay", "signal=11") == std::optional<char>('#'));
    CHECK(parse_dtmf_info("application/dtmf", "5") == std::optional<char>('5'));
    CHECK(parse_dtmf_info("application/dtmf", "b") == std::optional<char>('B'));
    CHECK_FALSE(parse_dtmf_info("application/dtmf-relay", "Duration=160"));
    CHECK_FALSE(parse_dtmf_info("text/plain", "5"));
    CHECK_FALSE(parse_dtmf_info("application/dtmf", "xyz"));
}
