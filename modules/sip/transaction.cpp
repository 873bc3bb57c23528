#include "transaction.hpp"

#include <algorithm>

namespace sip {

Retransmitter::Retransmitter(Kind kind, time_point sent_at, TimerValues t)
    : kind_(kind), t_(t), give_up_at_(sent_at + 64 * t.t1), next_resend_(sent_at + t.t1), interval_(t.t1) {}

std::optional<Retransmitter::time_point> Retransmitter::next_deadline() const {
    if (done_) return std::nullopt;
    if (resending_) return std::min(next_resend_, give_up_at_);
    return give_up_at_;
}

Retransmitter::Action Retransmitter::on_time(time_point now) {
    if (done_) return Action::none;
    if (now >= give_up_at_) {
        done_ = true;
        return Action::timeout;
    }
    if (!resending_ || now < next_resend_) return Action::none;
    interval_ = kind_ == Kind::invite_client ? interval_ * 2 : std::min(interval_ * 2, t_.t2);
    next_resend_ = now + interval_;
    ++resends_;
    return Action::resend;
}

void Retransmitter::on_provisional() {
    if (kind_ == Kind::invite_client) {
        resending_ = false;
    } else if (kind_ == Kind::non_invite_client) {
        interval_ = t_.t2;
    }
}

} // namespace sip
