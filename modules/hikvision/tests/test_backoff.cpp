// Reconnect and auth backoff: bounds, growth, cap and jitter (pure functions).
#include "backoff.hpp"

#include <catch2/catch.hpp>

using passerelle::hikvision::auth_backoff;
using passerelle::hikvision::reconnect_backoff;
using namespace std::chrono_literals;

namespace {
constexpr double kUnits[] = {0.0, 0.001, 0.25, 0.5, 0.75, 0.999, 0.999999};
}

TEST_CASE("reconnect backoff: first retry within 2 s, at least 100 ms, window doubling up to the cap",
          "[hikvision][backoff]") {
    const auto first = 2000ms, cap = 60000ms;
    for (double u : kUnits) {
        INFO("unit " << u);
        const auto d0 = reconnect_backoff(0, first, cap, u);
        CHECK(d0 >= 100ms);
        CHECK(d0 <= 2000ms); // the issue: first retry within 2 s
        for (unsigned n = 0; n < 40; ++n) {
            const auto d = reconnect_backoff(n, first, cap, u);
            CHECK(d >= 100ms);
            CHECK(d <= cap);
        }
    }
    // full jitter: the draw spans the whole window
    CHECK(reconnect_backoff(0, first, cap, 0.0) == 100ms);
    CHECK(reconnect_backoff(0, first, cap, 0.5) == 1000ms);
    CHECK(reconnect_backoff(0, first, cap, 0.999) == 1998ms);
    CHECK(reconnect_backoff(0, first, cap, 0.0) != reconnect_backoff(0, first, cap, 0.999));
    // the window doubles: at the top of the draw, 2 s, 4 s, 8 s... then the cap
    for (unsigned n = 0; n < 5; ++n)
        CHECK(reconnect_backoff(n, first, cap, 1.0) == std::chrono::milliseconds(2000LL << n));
    CHECK(reconnect_backoff(5, first, cap, 1.0) == 60000ms); // 64 s capped
    CHECK(reconnect_backoff(1000, first, cap, 1.0) == 60000ms); // no overflow
    CHECK(reconnect_backoff(1000, first, cap, 0.5) == 30000ms);
    // a draw out of range is clamped, never a negative or huge delay
    CHECK(reconnect_backoff(0, first, cap, -3.0) == 100ms);
    CHECK(reconnect_backoff(0, first, cap, 7.0) == 2000ms);
}

TEST_CASE("auth backoff: slow, doubling to the cap, jitter only in the last quarter", "[hikvision][backoff]") {
    const auto first = 60000ms, cap = 600000ms;
    for (double u : kUnits) {
        INFO("unit " << u);
        const auto d0 = auth_backoff(0, first, cap, u);
        CHECK(d0 >= 45000ms); // never fast: a refused login costs a lockout strike
        CHECK(d0 <= 60000ms);
        CHECK(auth_backoff(1, first, cap, u) >= 90000ms);
        CHECK(auth_backoff(1, first, cap, u) <= 120000ms);
        CHECK(auth_backoff(100, first, cap, u) >= 450000ms);
        CHECK(auth_backoff(100, first, cap, u) <= cap);
    }
    CHECK(auth_backoff(0, first, cap, 0.0) == 45000ms);
    CHECK(auth_backoff(0, first, cap, 1.0) == 60000ms);
    CHECK(auth_backoff(3, first, cap, 1.0) == 480000ms);
    CHECK(auth_backoff(4, first, cap, 1.0) == 600000ms);
}
