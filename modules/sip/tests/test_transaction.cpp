#include "transaction.hpp"

#include <catch2/catch.hpp>

#include <vector>

using namespace sip;
using namespace std::chrono_literals;
using K = Retransmitter::Kind;
using A = Retransmitter::Action;

static std::vector<long> resend_times(Retransmitter& r, Retransmitter::time_point t0, A* last) {
    std::vector<long> out;
    while (auto d = r.next_deadline()) {
        A a = r.on_time(*d);
        if (a == A::resend) out.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(*d - t0).count());
        if (a == A::timeout) {
            *last = a;
            break;
        }
    }
    return out;
}

TEST_CASE("2xx retransmission: T1 doubling capped at T2, give up at 64*T1") {
    auto t0 = Retransmitter::time_point{} + 10s;
    Retransmitter r(K::invite_2xx_server, t0);
    A last = A::none;
    auto times = resend_times(r, t0, &last);
    CHECK(last == A::timeout);
    REQUIRE(times.size() >= 6);
    CHECK(times[0] == 500);
    CHECK(times[1] == 1500);
    CHECK(times[2] == 3500);
    CHECK(times[3] == 7500);
    CHECK(times[4] == 11500);  // capped at T2 = 4 s
    CHECK(times.back() < 32000);
    CHECK(r.done());
}

TEST_CASE("INVITE client stops resending after a provisional, still times out") {
    auto t0 = Retransmitter::time_point{};
    Retransmitter r(K::invite_client, t0);
    CHECK(r.on_time(t0 + 500ms) == A::resend);
    r.on_provisional();
    CHECK(r.next_deadline() == t0 + 32s);
    CHECK(r.on_time(t0 + 31s) == A::none);
    CHECK(r.on_time(t0 + 32s) == A::timeout);
}

TEST_CASE("a final response or the ACK ends it") {
    Retransmitter r(K::non_invite_client, {});
    r.on_done();
    CHECK_FALSE(r.next_deadline());
    CHECK(r.on_time(Retransmitter::time_point{} + 1h) == A::none);
}
