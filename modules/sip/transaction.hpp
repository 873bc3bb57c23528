// RFC 3261 retransmission timers over UDP, pure and driven by explicit time:
// the caller asks next_deadline(), sleeps until then, and calls on_time(now),
// which says whether to resend or give up. One class covers the three cases
// the UA needs:
//   - INVITE client (timers A/B): resend at T1, 2T1, 4T1... until a provisional
//     or final response; give up at 64*T1;
//   - non-INVITE client (timers E/F): the same, capped at T2; after a
//     provisional response, resend every T2; give up at 64*T1;
//   - a 2xx to an INVITE, server side (13.3.1.4): resend at T1 doubling, capped
//     at T2, until the ACK; give up at 64*T1 (then the UAS sends BYE).
#pragma once

#include <chrono>
#include <optional>

namespace sip {

struct TimerValues {
    std::chrono::milliseconds t1{500};
    std::chrono::milliseconds t2{4000};
};

class Retransmitter {
public:
    enum class Kind { invite_client, non_invite_client, invite_2xx_server };
    enum class Action { none, resend, timeout };
    using time_point = std::chrono::steady_clock::time_point;

    Retransmitter(Kind kind, time_point sent_at, TimerValues t = {});

    // The next moment on_time() has something to do; nullopt when finished.
    std::optional<time_point> next_deadline() const;
    Action on_time(time_point now);
    // A provisional response (1xx) arrived: INVITE clients stop resending
    // (timer B still runs), non-INVITE clients resend every T2.
    void on_provisional();
    // A final response (client) or the ACK (server): finished.
    void on_done() { done_ = true; }
    bool done() const { return done_; }
    int resends() const { return resends_; }

private:
    Kind kind_;
    TimerValues t_;
    time_point give_up_at_;
    time_point next_resend_;
    std::chrono::milliseconds interval_;
    bool resending_ = true;
    bool done_ = false;
    int resends_ = 0;
};

} // namespace sip
