#include "frame_pacer.hpp"

#include <catch2/catch.hpp>

#include <vector>

using namespace sip;
using namespace std::chrono_literals;
using tp = FramePacer::time_point;

namespace {
// Drives the pacer like the RTP sender: sleep until deadline() (a timer that fires
// `latency(n)` late), wake(), send, next(). Returns the send instants in ms from t0.
template <class Latency>
std::vector<double> run(FramePacer& p, tp t0, int frames, Latency latency, std::vector<uint64_t>* missed = nullptr) {
    std::vector<double> sent;
    for (int n = 0; n < frames; ++n) {
        tp now = p.deadline() + latency(n);
        uint64_t m = p.wake(now);
        if (missed) missed->push_back(m);
        sent.push_back(std::chrono::duration<double, std::milli>(now - t0).count());
        p.next();
    }
    return sent;
}
} // namespace

TEST_CASE("pacer: absolute deadlines, timer latency does not accumulate") {
    tp t0 = tp{} + 100s;
    FramePacer p(t0);
    // Every wake-up 3 ms late: still on the t0 + n x 20 ms grid, nothing missed.
    std::vector<uint64_t> missed;
    auto sent = run(p, t0, 50, [](int) { return 3ms; }, &missed);
    for (int n = 0; n < 50; ++n) CHECK(sent[n] == Approx(20.0 * n + 3));
    CHECK(p.missed() == 0);
    CHECK(p.slot() == 50);
}

TEST_CASE("pacer: a frame late by less than one frame keeps the grid") {
    tp t0 = tp{} + 100s;
    FramePacer p(t0);
    auto sent = run(p, t0, 10, [](int n) { return n == 4 ? 19ms : 0ms; });
    CHECK(sent[4] == Approx(99.0));
    CHECK(sent[5] == Approx(100.0));  // back on the grid, 1 ms later: not a burst of late frames
    CHECK(p.missed() == 0);
}

TEST_CASE("pacer: after a stall it re-anchors, never a burst") {
    for (auto stall : {20ms, 45ms, 70ms, 100ms, 130ms, 2000ms}) {
        tp t0 = tp{} + 100s;
        FramePacer p(t0);
        std::vector<uint64_t> missed;
        // Frame 10's timer fires `stall` late (the host was busy), the others on time.
        auto sent = run(p, t0, 30, [&](int n) { return n == 10 ? std::chrono::milliseconds(stall) : 0ms; }, &missed);
        INFO("stall " << stall.count() << " ms");
        // Spacing never shrinks below one frame: the late frames are not sent back to back.
        for (size_t i = 1; i < sent.size(); ++i) CHECK(sent[i] - sent[i - 1] >= Approx(20.0));
        // The slots that went by unsent are reported (the RTP timestamp jumps by them)...
        const uint64_t whole = static_cast<uint64_t>(stall / 20ms);
        CHECK(missed[10] == whole);
        CHECK(p.missed() == whole);
        CHECK(p.slot() == 30 + whole);
        // ...and the grid restarts at the wake-up: the next frames are 20 ms apart from there.
        CHECK(sent[11] - sent[10] == Approx(20.0));
        CHECK(sent[29] - sent[10] == Approx(19 * 20.0));
    }
}

TEST_CASE("pacer: the timestamp stays close to wall time across stalls") {
    tp t0 = tp{} + 100s;
    FramePacer p(t0);
    // Stalls of 65 ms every 7th frame: slots (sent + missed) keep counting real time.
    auto sent = run(p, t0, 200, [](int n) { return n % 7 == 3 ? 65ms : 1ms; });
    double media_ms = 20.0 * static_cast<double>(p.slot() - 1);
    CHECK(sent.back() - media_ms >= -1.0);
    CHECK(sent.back() - media_ms < 20.0 + 1.0);
    CHECK(p.missed() > 0);
}
