// Reconnect delays: exponential with full jitter (AWS architecture blog), so a
// fleet of devices that dropped together does not reconnect together. Pure:
// the random source is injected for tests.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace passerelle::dahua {

class Backoff {
public:
    using ms = std::chrono::milliseconds;
    // first: the ceiling of the first delay; cap: the ceiling never exceeds it;
    // floor: the smallest delay (no tight loop against a device that refuses at once).
    Backoff(ms first, ms cap, ms floor = ms(100)) : first_(first), cap_(std::max(cap, first)), floor_(floor) {}

    // The next delay: uniform in [floor, min(cap, first * 2^attempt)].
    template <class Rng>
    ms next(Rng& rng) {
        int64_t ceiling = ceiling_ms();
        if (attempt_ < 40) ++attempt_;
        int64_t lo = std::min<int64_t>(floor_.count(), ceiling);
        std::uniform_int_distribution<int64_t> dist(lo, ceiling);
        return ms(dist(rng));
    }
    // The ceiling the next call to next() draws under.
    int64_t ceiling_ms() const {
        int64_t c = first_.count();
        for (int i = 0; i < attempt_ && c < cap_.count(); ++i) c *= 2;
        return std::min<int64_t>(c, cap_.count());
    }
    void reset() { attempt_ = 0; }
    int attempts() const { return attempt_; }

private:
    ms first_, cap_, floor_;
    int attempt_ = 0;
};

} // namespace passerelle::dahua
