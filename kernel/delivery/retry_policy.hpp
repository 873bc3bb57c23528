// What a delivery result means for the queue, and how long to wait before
// trying again. Pure functions: no clock, no threads (the random source is
// passed in), so they are tested on their own.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <string_view>

namespace passerelle::kernel {

enum class DeliveryOutcome {
    delivered,  // PL_OK: acknowledge, delete the row
    retry,      // PL_ERR_RETRY, PL_ERR_TIMEOUT: same event again after a backoff
    give_up,    // PERMANENT, INVALID, UNKNOWN_ACTION, INTERNAL, unknown codes: drop this event, count it
    pause_auth, // PL_ERR_AUTH: the sink is misconfigured; retry the same event slowly
    paused,     // kStatusSinkNotRunning: the sink's instance is not running; wait for it, no backoff growth
};

// Kernel-internal answer of a sink whose instance is not running (not started yet,
// failed to start, being replaced by a reload). Never crosses the module ABI: the
// daemon's sink proxy gives it, so the queue says `paused` instead of `retrying`.
inline constexpr int32_t kStatusSinkNotRunning = -1000;

// How often a paused sink looks again whether its instance runs.
inline constexpr std::chrono::milliseconds kPausedRecheck{1000};

DeliveryOutcome classify_status(int32_t status);

// "retry_after_ms=<N> <text>" (Reply::retry) -> N; 0 when the prefix is absent or malformed.
int64_t parse_retry_after_ms(std::string_view message);
// The message without a well-formed "retry_after_ms=<N> " prefix: what the logs and the
// API show (the delay is said in words there).
std::string_view without_retry_hint(std::string_view message);

// Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^attempt)].
// attempt 0 is the first retry. Full jitter spreads sinks that failed together.
std::chrono::milliseconds full_jitter_backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                              unsigned attempt, std::mt19937_64& rng);

// Deterministic doubling for a sink paused on authentication: base, 2*base, ... capped.
// No jitter below base: an auth failure must never turn into a tight loop.
std::chrono::milliseconds auth_backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                       unsigned attempt);

} // namespace passerelle::kernel
