#include "backoff.hpp"

#include <algorithm>
#include <cstdint>

namespace passerelle::hikvision {

namespace {

// min(cap, first * 2^attempt) without overflow.
double window_ms(unsigned attempt, std::chrono::milliseconds first, std::chrono::milliseconds cap) {
    double window = static_cast<double>(first.count());
    for (unsigned i = 0; i < attempt && window < static_cast<double>(cap.count()); ++i) window *= 2;
    return std::min(window, static_cast<double>(cap.count()));
}

} // namespace

std::chrono::milliseconds reconnect_backoff(unsigned attempt, std::chrono::milliseconds first,
                                            std::chrono::milliseconds cap, double unit) {
    unit = std::clamp(unit, 0.0, 1.0);
    return std::chrono::milliseconds(std::max<int64_t>(100, static_cast<int64_t>(window_ms(attempt, first, cap) * unit)));
}

std::chrono::milliseconds auth_backoff(unsigned attempt, std::chrono::milliseconds first,
                                       std::chrono::milliseconds cap, double unit) {
    unit = std::clamp(unit, 0.0, 1.0);
    return std::chrono::milliseconds(
        std::max<int64_t>(100, static_cast<int64_t>(window_ms(attempt, first, cap) * (0.75 + 0.25 * unit))));
}

} // namespace passerelle::hikvision
