// Audio for the RTP sender, pure: WAV parsing, resampling with a windowed-sinc
// low-pass filter (22050 Hz speech to 8000 Hz telephone audio without
// aliasing), G.711 framing into 20 ms / 160-byte frames.
#pragma once

#include "sdp.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sip {

struct Pcm {
    int rate = 8000;
    std::vector<int16_t> samples;  // mono
};

// RIFF/WAVE, PCM 16-bit (or 8-bit), mono or stereo (mixed down). Tolerates the
// bogus sizes a program writing to a pipe puts in the header (espeak-ng: the
// data chunk then runs to the end). nullopt with `error` set otherwise.
std::optional<Pcm> parse_wav(std::string_view bytes, std::string* error = nullptr);

// Band-limited resampling: windowed-sinc (Blackman) low-pass at 0.9 x the lower
// Nyquist frequency, evaluated at each output instant.
std::vector<int16_t> resample(std::span<const int16_t> in, int in_rate, int out_rate);

// 8 kHz samples to G.711 frames of 160 bytes, the last one padded with silence.
std::vector<std::vector<uint8_t>> encode_frames(std::span<const int16_t> pcm8k, Codec codec);
// One frame of silence in `codec`.
std::vector<uint8_t> silence_frame(Codec codec);

// A message ready to send: 8 kHz samples, encoded on demand per codec.
struct Prompt {
    std::vector<int16_t> pcm8k;
    std::vector<std::vector<uint8_t>> pcmu;
    std::vector<std::vector<uint8_t>> pcma;
    const std::vector<std::vector<uint8_t>>& frames(Codec c) const { return c == Codec::pcmu ? pcmu : pcma; }
};
Prompt make_prompt(std::vector<int16_t> pcm8k);

} // namespace sip
