#include "audio.hpp"

#include "rtp.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace sip {
namespace {

uint32_t le32(const char* p) {
    return uint32_t(uint8_t(p[0])) | uint32_t(uint8_t(p[1])) << 8 | uint32_t(uint8_t(p[2])) << 16 |
           uint32_t(uint8_t(p[3])) << 24;
}
uint16_t le16(const char* p) { return static_cast<uint16_t>(uint8_t(p[0]) | uint8_t(p[1]) << 8); }

} // namespace

std::optional<Pcm> parse_wav(std::string_view b, std::string* error) {
    auto bad = [&](const char* why) -> std::optional<Pcm> {
        if (error) *error = why;
        return std::nullopt;
    };
    if (b.size() < 12 || b.substr(0, 4) != "RIFF" || b.substr(8, 4) != "WAVE") return bad("not a RIFF/WAVE file");
    size_t pos = 12;
    int channels = 0, bits = 0;
    uint32_t rate = 0;
    uint16_t format = 0;
    while (pos + 8 <= b.size()) {
        std::string_view id = b.substr(pos, 4);
        uint32_t size = le32(b.data() + pos + 4);
        pos += 8;
        if (id == "fmt ") {
            if (size < 16 || pos + 16 > b.size()) return bad("short fmt chunk");
            format = le16(b.data() + pos);
            channels = le16(b.data() + pos + 2);
            rate = le32(b.data() + pos + 4);
            bits = le16(b.data() + pos + 14);
        } else if (id == "data") {
            if (format != 1 && format != 0xFFFE) return bad("not PCM");
            if (channels < 1 || channels > 8 || (bits != 16 && bits != 8) || rate < 4000 || rate > 192000)
                return bad("unsupported PCM format (16 or 8-bit, 4-192 kHz)");
            size_t avail = b.size() - pos;
            size_t n = std::min<size_t>(size, avail);  // a pipe writer leaves 0 or 0x7fffffff here
            if (size == 0) n = avail;
            const size_t frame = static_cast<size_t>(channels) * (bits / 8);
            Pcm pcm;
            pcm.rate = static_cast<int>(rate);
            pcm.samples.reserve(n / frame);
            for (size_t i = 0; i + frame <= n; i += frame) {
                int sum = 0;
                for (int c = 0; c < channels; ++c) {
                    const char* p = b.data() + pos + i + c * (bits / 8);
                    sum += bits == 16 ? static_cast<int16_t>(le16(p)) : (int(uint8_t(*p)) - 128) << 8;
                }
                pcm.samples.push_back(static_cast<int16_t>(sum / channels));
            }
            return pcm;
        }
        pos += size + (size & 1);
        if (size > b.size()) break;
    }
    return bad("no data chunk");
}

std::vector<int16_t> resample(std::span<const int16_t> in, int in_rate, int out_rate) {
    if (in_rate == out_rate || in.empty()) return {in.begin(), in.end()};
    const double ratio = static_cast<double>(in_rate) / out_rate;      // input samples per output sample
    const double cutoff = 0.45 * std::min(in_rate, out_rate) / in_rate;  // in cycles per input sample
    const int half = static_cast<int>(std::ceil(16 * std::max(1.0, ratio)));  // taps each side
    const size_t out_len = static_cast<size_t>(in.size() / ratio);
    std::vector<int16_t> out(out_len);
    for (size_t n = 0; n < out_len; ++n) {
        const double t = n * ratio;
        const long center = static_cast<long>(std::floor(t));
        double acc = 0, norm = 0;
        for (long k = center - half + 1; k <= center + half; ++k) {
            const double d = t - k;
            const double x = 2 * cutoff * d;
            const double sinc = std::abs(x) < 1e-9 ? 1.0 : std::sin(M_PI * x) / (M_PI * x);
            const double w = 0.42 + 0.5 * std::cos(M_PI * d / half) + 0.08 * std::cos(2 * M_PI * d / half);  // Blackman
            const double h = sinc * (std::abs(d) < half ? w : 0.0);
            norm += h;
            if (k >= 0 && k < static_cast<long>(in.size())) acc += h * in[static_cast<size_t>(k)];
        }
        const double v = norm > 0 ? acc / norm : 0;  // unity gain at DC
        out[n] = static_cast<int16_t>(std::clamp(std::lround(v), -32768L, 32767L));
    }
    return out;
}

std::vector<std::vector<uint8_t>> encode_frames(std::span<const int16_t> pcm, Codec codec) {
    std::vector<std::vector<uint8_t>> frames;
    frames.reserve((pcm.size() + kFrameSamples - 1) / kFrameSamples);
    for (size_t i = 0; i < pcm.size(); i += kFrameSamples) {
        std::vector<uint8_t> f(kFrameSamples);
        for (size_t j = 0; j < kFrameSamples; ++j) {
            int16_t s = i + j < pcm.size() ? pcm[i + j] : 0;
            f[j] = codec == Codec::pcmu ? linear_to_ulaw(s) : linear_to_alaw(s);
        }
        frames.push_back(std::move(f));
    }
    return frames;
}

std::vector<uint8_t> silence_frame(Codec codec) {
    return std::vector<uint8_t>(kFrameSamples, codec == Codec::pcmu ? linear_to_ulaw(0) : linear_to_alaw(0));
}

Prompt make_prompt(std::vector<int16_t> pcm8k) {
    Prompt p;
    p.pcmu = encode_frames(pcm8k, Codec::pcmu);
    p.pcma = encode_frames(pcm8k, Codec::pcma);
    p.pcm8k = std::move(pcm8k);
    return p;
}

} // namespace sip
