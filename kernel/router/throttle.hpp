// Throttle: at most one delivery per key per window; extra ones are dropped.
// A `stop` always passes and does not use up the window, so a sink can never
// be left at "start" by a throttle. The first delivery opens the window;
// later ones pass once `window` has elapsed since the last delivered one.
//
// Keys unseen for more than 10 windows are forgotten (swept at most once per
// sweep interval), which keeps memory bounded by the recent key variety; a
// forgotten key behaves like a new one, which is what it would do anyway
// since its window is long past.
#pragma once

#include "router/key_map.hpp"

#include <cstdint>
#include <limits>
#include <string_view>

namespace passerelle::kernel::routing {

class Throttle {
public:
    // `sweep_interval_ns`: how often expiry runs (the smallest throttle window is a good choice).
    explicit Throttle(int64_t sweep_interval_ns) : sweep_interval_ns_(sweep_interval_ns > 0 ? sweep_interval_ns : 1) {}

    // True when the event keyed `key` may be delivered now.
    bool admit(std::string_view key, int64_t window_ns, bool is_stop, int64_t now_ns);

    // Forgets keys unseen for more than 10 of their windows.
    void expire(int64_t now_ns);

    size_t size() const { return entries_.size(); }

private:
    static constexpr int64_t kNever = std::numeric_limits<int64_t>::min() / 2;
    struct Entry {
        int64_t last_delivered_ns = kNever;
        int64_t last_seen_ns = 0;
        int64_t window_ns = 0;
    };
    void maybe_sweep(int64_t now_ns);

    KeyMap<Entry> entries_;
    int64_t sweep_interval_ns_;
    int64_t last_sweep_ns_ = kNever;
};

} // namespace passerelle::kernel::routing
