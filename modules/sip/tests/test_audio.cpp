#include "audio.hpp"
#include "rtp.hpp"
#include "tts.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <unistd.h>

using namespace sip;

static double rms_of_tone(int freq, int in_rate) {
    std::vector<int16_t> in(in_rate);  // 1 s
    for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<int16_t>(10000 * std::sin(2 * M_PI * freq * i / in_rate));
    auto out = resample(in, in_rate, 8000);
    REQUIRE(out.size() == 8000 * static_cast<size_t>(in_rate) / in_rate);
    double acc = 0;
    for (size_t i = 500; i < out.size() - 500; ++i) acc += double(out[i]) * out[i];
    return std::sqrt(acc / (out.size() - 1000));
}

TEST_CASE("resampling 22050 -> 8000 keeps speech and removes what would alias") {
    double pass = rms_of_tone(1000, 22050);
    CHECK(pass > 6500);  // 10000/sqrt(2) = 7071
    CHECK(pass < 7600);
    double stop = rms_of_tone(6000, 22050);  // would fold to 2 kHz without the low-pass
    CHECK(stop < 150);
}

static std::string wav(int rate, int channels, const std::vector<int16_t>& s, uint32_t data_size_field) {
    std::string b = "RIFF\0\0\0\0WAVEfmt ";
    b.resize(4);
    b = "RIFF";
    auto put32 = [&](uint32_t v) { for (int i = 0; i < 4; ++i) b += static_cast<char>(v >> (8 * i)); };
    auto put16 = [&](uint16_t v) { for (int i = 0; i < 2; ++i) b += static_cast<char>(v >> (8 * i)); };
    put32(0xffffffff);
    b += "WAVEfmt ";
    put32(16);
    put16(1);
    put16(static_cast<uint16_t>(channels));
    put32(static_cast<uint32_t>(rate));
    put32(static_cast<uint32_t>(rate * 2 * channels));
    put16(static_cast<uint16_t>(2 * channels));
    put16(16);
    b += "data";
    put32(data_size_field);
    for (int16_t v : s) put16(static_cast<uint16_t>(v));
    return b;
}

TEST_CASE("WAV parsing, including a pipe writer's bogus sizes") {
    auto p = parse_wav(wav(8000, 1, {1, -2, 3}, 0x7fffffff));
    REQUIRE(p);
    CHECK(p->samples == std::vector<int16_t>{1, -2, 3});
    auto st = parse_wav(wav(8000, 2, {100, 300, -100, -300}, 8));
    REQUIRE(st);
    CHECK(st->samples == std::vector<int16_t>{200, -200});
    std::string err;
    CHECK_FALSE(parse_wav("RIFF", &err));
    CHECK_FALSE(parse_wav(std::string("RIFF\x10\0\0\0WAVEjunk\xff\xff\xff\x7f", 20), &err));
    CHECK_FALSE(err.empty());
}

TEST_CASE("frames are 160 bytes, padded with silence") {
    std::vector<int16_t> pcm(400, 1000);
    auto f = encode_frames(pcm, Codec::pcmu);
    REQUIRE(f.size() == 3);
    for (auto& x : f) CHECK(x.size() == 160);
    CHECK(f[2][159] == linear_to_ulaw(0));
    CHECK(silence_frame(Codec::pcma)[0] == 0xd5);
}

TEST_CASE("espeak-ng speaks French into 8 kHz frames") {
    if (access("/usr/bin/espeak-ng", X_OK) != 0) {
        WARN("espeak-ng not installed: skipped");
        return;
    }
    TtsOptions o;
    std::string err;
    auto prompt = make_message("Bonjour, ceci est un test.", o, &err);
    INFO(err);
    REQUIRE(prompt);
    CHECK(prompt->pcmu.size() > 50);  // more than a second of speech
    CHECK(prompt->pcmu.size() == prompt->pcma.size());
    int loud = 0;
    for (int16_t s : prompt->pcm8k) loud += std::abs(s) > 500;
    CHECK(loud > 2000);
    o.program = "/nonexistent/espeak";
    CHECK_FALSE(make_message("x", o, &err));
    CHECK(err.find("cannot run") != std::string::npos);
}
