// The RTP sender's clock, pure and driven by explicit time: frame n is due at
// anchor + n x 20 ms (absolute deadlines, so timer latency never accumulates).
// When the host stalls so long that the next frame's deadline has passed too,
// the pacer does not send the late frames back to back (a burst the far end's
// jitter buffer would drop or stretch): it re-anchors on the wake-up time and
// reports how many 20 ms slots went by unsent, so the RTP timestamp can jump by
// that much. No audio is dropped: the next frame of the message goes out now.
#pragma once

#include <chrono>
#include <cstdint>

namespace sip {

class FramePacer {
public:
    using clock = std::chrono::steady_clock;
    using time_point = clock::time_point;

    explicit FramePacer(time_point start, std::chrono::microseconds frame = std::chrono::milliseconds(20))
        : start_(start), anchor_(start), frame_(frame) {}

    // When the current frame is due.
    time_point deadline() const { return anchor_ + frame_ * static_cast<int64_t>(slot_ - anchor_slot_); }

    // Woken at `now` to send the current frame. Returns the number of slots
    // missed (0 when on time or late by less than one frame); when > 0 the grid
    // restarts at `now` (the current frame goes out now, the next at now + frame)
    // and the slot count catches up with the time elapsed since the start, so
    // slot x frame never lags the wall clock by a frame or more, however many stalls.
    uint64_t wake(time_point now);

    // The current frame was sent (or skipped): move to the next slot.
    void next() { ++slot_; }

    // Slots elapsed since the start, sent or missed.
    uint64_t slot() const { return slot_; }
    uint64_t missed() const { return missed_; }

private:
    time_point start_;
    time_point anchor_;
    std::chrono::microseconds frame_;
    uint64_t anchor_slot_ = 0;  // the slot due at anchor_
    uint64_t slot_ = 0;
    uint64_t missed_ = 0;
};

} // namespace sip
