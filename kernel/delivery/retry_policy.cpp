#include "delivery/retry_policy.hpp"

#include <passerelle/abi.h>

#include <algorithm>

namespace passerelle::kernel {

DeliveryOutcome classify_status(int32_t status) {
    switch (status) {
    case PL_OK: return DeliveryOutcome::delivered;
    case PL_ERR_RETRY:
    case PL_ERR_TIMEOUT: return DeliveryOutcome::retry;
    case PL_ERR_AUTH: return DeliveryOutcome::pause_auth;
    case kStatusSinkNotRunning: return DeliveryOutcome::paused;
    default: return DeliveryOutcome::give_up; // PERMANENT, INVALID, UNKNOWN_ACTION, INTERNAL, anything new
    }
}

int64_t parse_retry_after_ms(std::string_view message) {
    constexpr std::string_view prefix = "retry_after_ms=";
    if (message.substr(0, prefix.size()) != prefix) return 0;
    int64_t value = 0;
    size_t i = prefix.size();
    size_t digits = 0;
    for (; i < message.size() && message[i] >= '0' && message[i] <= '9'; ++i, ++digits) {
        if (digits >= 12) return 0; // more than ~30 years: garbage, ignore it
        value = value * 10 + (message[i] - '0');
    }
    if (digits == 0) return 0;
    if (i < message.size() && message[i] != ' ') return 0;
    return value;
}

std::string_view without_retry_hint(std::string_view message) {
    if (parse_retry_after_ms(message) <= 0) return message;
    auto space = message.find(' ');
    return space == std::string_view::npos ? std::string_view() : message.substr(space + 1);
}

std::chrono::milliseconds full_jitter_backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                              unsigned attempt, std::mt19937_64& rng) {
    int64_t ceiling = std::max<int64_t>(base.count(), 1);
    for (unsigned i = 0; i < attempt && ceiling < cap.count(); ++i) ceiling *= 2;
    ceiling = std::min<int64_t>(ceiling, std::max<int64_t>(cap.count(), 1));
    std::uniform_int_distribution<int64_t> pick(0, ceiling);
    return std::chrono::milliseconds(pick(rng));
}

std::chrono::milliseconds auth_backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap, unsigned attempt) {
    int64_t delay = std::max<int64_t>(base.count(), 1);
    for (unsigned i = 0; i < attempt && delay < cap.count(); ++i) delay *= 2;
    return std::chrono::milliseconds(std::min<int64_t>(delay, std::max<int64_t>(cap.count(), base.count())));
}

} // namespace passerelle::kernel
