#include "frame_pacer.hpp"

namespace sip {

uint64_t FramePacer::wake(time_point now) {
    const auto due = deadline();
    if (now < due + frame_) return 0;  // the next deadline is still ahead: no burst
    // Invariant: start_ + anchor_slot_ x frame <= anchor_, hence due >= start_ + slot_ x frame
    // and the slot of `now` is at least slot_ + 1.
    const auto now_slot = static_cast<uint64_t>((now - start_) / frame_);
    const uint64_t late = now_slot - slot_;
    slot_ = now_slot;
    missed_ += late;
    anchor_ = now;
    anchor_slot_ = slot_;
    return late;
}

} // namespace sip
