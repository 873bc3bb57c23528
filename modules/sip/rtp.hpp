// RTP (RFC 3550) packets and G.711 (ITU-T G.711 mu-law / A-law), the pure part.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace sip {

struct RtpHeader {
    uint8_t pt = 0;
    bool marker = false;
    uint16_t seq = 0;
    uint32_t timestamp = 0;
    uint32_t ssrc = 0;
};

struct RtpPacket {
    RtpHeader header;
    std::span<const uint8_t> payload;  // into the parsed buffer
};

// Version 2 only; CSRCs, extension and padding are skipped. nullopt for garbage.
std::optional<RtpPacket> parse_rtp(std::span<const uint8_t> data);

// Appends a 12-byte header and the payload to `out` (cleared first).
void build_rtp(const RtpHeader& h, std::span<const uint8_t> payload, std::vector<uint8_t>& out);

uint8_t linear_to_ulaw(int16_t sample);
uint8_t linear_to_alaw(int16_t sample);
int16_t ulaw_to_linear(uint8_t code);
int16_t alaw_to_linear(uint8_t code);

// One 20 ms frame at 8 kHz: 160 samples, 160 bytes.
constexpr size_t kFrameSamples = 160;

} // namespace sip
