// Reconnect delays, pure (the random draw is a parameter): used by the
// alertStream session and the intercom call-status poll, tested without a clock.
#pragma once

#include <chrono>

namespace passerelle::hikvision {

// Delay before the retry that follows the n-th consecutive failure (0-based):
// exponential backoff with full jitter, uniform in [0, min(cap, first * 2^n)]
// as `unit` goes over [0,1), and never under 100 ms (a dead device is not
// hammered). With first = 2 s the first retry comes within 2 s.
std::chrono::milliseconds reconnect_backoff(unsigned attempt, std::chrono::milliseconds first,
                                            std::chrono::milliseconds cap, double unit);

// The slow backoff after a refused login (devices lock out an IP after a few
// failed logins): first * 2^n capped at cap, then scaled by 0.75 + 0.25 * unit
// (the last 25% jittered, so that devices restarted together do not retry in step).
std::chrono::milliseconds auth_backoff(unsigned attempt, std::chrono::milliseconds first,
                                       std::chrono::milliseconds cap, double unit);

} // namespace passerelle::hikvision
