// The reconnect delay after a failed or lost connection: pure, so that its
// growth and its jitter are tested without a broker.
//
// The ceiling starts at `min` and doubles with every failure since the last
// good connection, up to `max`; the delay is drawn uniformly in [min/2, ceiling]
// so that many daemons cut off by one broker restart do not all come back in
// the same instant.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace mqtt {

// min * 2^(failures-1), capped at max (failures counts from 1).
inline std::chrono::milliseconds reconnect_ceiling(unsigned failures, std::chrono::milliseconds min,
                                                   std::chrono::milliseconds max) {
    int64_t ceiling = std::max<int64_t>(min.count(), 1);
    for (unsigned i = 1; i < failures && ceiling < max.count(); ++i) ceiling *= 2;
    return std::chrono::milliseconds(std::min<int64_t>(ceiling, std::max<int64_t>(max.count(), 1)));
}

template <class Rng>
std::chrono::milliseconds reconnect_delay(unsigned failures, std::chrono::milliseconds min, std::chrono::milliseconds max,
                                          Rng& rng) {
    const int64_t ceiling = reconnect_ceiling(failures, min, max).count();
    std::uniform_int_distribution<int64_t> pick(std::min<int64_t>(min.count() / 2, ceiling), ceiling);
    return std::chrono::milliseconds(pick(rng));
}

} // namespace mqtt
