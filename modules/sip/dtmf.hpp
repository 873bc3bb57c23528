// DTMF receivers, pure and driven by explicit time: RFC 4733 telephone-events
// (one event per key press although the press spans several packets and its end
// packet comes three times; a lost end closes the press after a silence) and
// SIP INFO bodies (application/dtmf-relay "Signal=5", application/dtmf "5").
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

namespace sip {

using Clock = std::chrono::steady_clock;

// '0'-'9', '*', '#', 'A'-'D' for events 0-15; nullopt for others (flash, tones).
std::optional<char> dtmf_digit(int event);

class Rfc4733Receiver {
public:
    explicit Rfc4733Receiver(std::chrono::milliseconds end_silence = std::chrono::milliseconds(200))
        : end_silence_(end_silence) {}

    // One telephone-event payload (already demultiplexed by payload type).
    // Returns the digit when this packet starts a new key press.
    std::optional<char> on_packet(std::span<const uint8_t> payload, uint32_t ssrc, uint32_t timestamp,
                                  Clock::time_point now);
    // Closes a press whose end never came; call at next_deadline().
    void on_time(Clock::time_point now);
    std::optional<Clock::time_point> next_deadline() const;
    bool in_press() const { return active_.has_value(); }

private:
    struct Press {
        uint32_t ssrc;
        uint32_t timestamp;
    };
    bool recently_closed(uint32_t ssrc, uint32_t ts) const;
    void close();

    std::chrono::milliseconds end_silence_;
    std::optional<Press> active_;
    Clock::time_point last_packet_{};
    std::deque<Press> closed_;  // the last few presses: their late end packets are ignored
};

// The digit of an INFO request's body, by its Content-Type; nullopt when the
// body holds none (or another type).
std::optional<char> parse_dtmf_info(std::string_view content_type, std::string_view body);

} // namespace sip
