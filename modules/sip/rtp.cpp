#include "rtp.hpp"

namespace sip {

std::optional<RtpPacket> parse_rtp(std::span<const uint8_t> d) {
    if (d.size() < 12 || (d[0] >> 6) != 2) return std::nullopt;
    RtpPacket p;
    size_t cc = d[0] & 0x0f;
    bool ext = d[0] & 0x10, pad = d[0] & 0x20;
    p.header.marker = d[1] & 0x80;
    p.header.pt = d[1] & 0x7f;
    p.header.seq = static_cast<uint16_t>(d[2] << 8 | d[3]);
    p.header.timestamp = uint32_t(d[4]) << 24 | uint32_t(d[5]) << 16 | uint32_t(d[6]) << 8 | d[7];
    p.header.ssrc = uint32_t(d[8]) << 24 | uint32_t(d[9]) << 16 | uint32_t(d[10]) << 8 | d[11];
    size_t off = 12 + 4 * cc;
    if (off > d.size()) return std::nullopt;
    if (ext) {
        if (off + 4 > d.size()) return std::nullopt;
        size_t words = size_t(d[off + 2]) << 8 | d[off + 3];
        off += 4 + 4 * words;
        if (off > d.size()) return std::nullopt;
    }
    size_t end = d.size();
    if (pad) {
        size_t n = d[end - 1];
        if (n == 0 || n > end - off) return std::nullopt;
        end -= n;
    }
    p.payload = d.subspan(off, end - off);
    return p;
}

void build_rtp(const RtpHeader& h, std::span<const uint8_t> payload, std::vector<uint8_t>& out) {
    out.clear();
    out.reserve(12 + payload.size());
    out.push_back(0x80);
    out.push_back(static_cast<uint8_t>((h.marker ? 0x80 : 0) | (h.pt & 0x7f)));
    out.push_back(static_cast<uint8_t>(h.seq >> 8));
    out.push_back(static_cast<uint8_t>(h.seq));
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(h.timestamp >> s));
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(h.ssrc >> s));
    out.insert(out.end(), payload.begin(), payload.end());
}

// G.711 mu-law: bias 0x84, clip 32635, segment = position of the top bit.
uint8_t linear_to_ulaw(int16_t sample) {
    int s = sample;
    int sign = 0;
    if (s < 0) {
        s = -s;
        sign = 0x80;
    }
    if (s > 32635) s = 32635;
    s += 0x84;
    int seg = 7;
    for (int mask = 0x4000; (s & mask) == 0 && seg > 0; mask >>= 1) --seg;
    int mant = (s >> (seg + 3)) & 0x0f;
    return static_cast<uint8_t>(~(sign | seg << 4 | mant));
}

int16_t ulaw_to_linear(uint8_t code) {
    code = static_cast<uint8_t>(~code);
    int sign = code & 0x80, seg = (code >> 4) & 7, mant = code & 0x0f;
    int s = ((mant << 3) + 0x84) << seg;
    s -= 0x84;
    return static_cast<int16_t>(sign ? -s : s);
}

// G.711 A-law: 13-bit magnitude, segments from bit 8, even bits inverted (0x55).
uint8_t linear_to_alaw(int16_t sample) {
    int s = sample >> 3;  // 13 bits
    int sign = 0x80;
    if (s < 0) {
        s = -s - 1;
        sign = 0;
    }
    if (s > 0x0fff) s = 0x0fff;
    int code;
    if (s < 32) {
        code = s >> 1;
    } else {
        int seg = 1;
        for (int v = s >> 5; v > 1; v >>= 1) ++seg;
        code = seg << 4 | ((s >> seg) & 0x0f);
    }
    return static_cast<uint8_t>((code | sign) ^ 0x55);
}

int16_t alaw_to_linear(uint8_t code) {
    code ^= 0x55;
    int sign = code & 0x80, seg = (code >> 4) & 7, mant = code & 0x0f;
    int s = seg == 0 ? (mant << 1) + 1 : ((mant << 1) + 33) << (seg - 1);
    s <<= 3;
    return static_cast<int16_t>(sign ? s : -s);
}

} // namespace sip
