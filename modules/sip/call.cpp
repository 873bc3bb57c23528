#include "call.hpp"

#include "caller_match.hpp"
#include "rtp.hpp"
#include "user_agent.hpp"

#include <boost/asio/ip/address.hpp>

#include <random>

namespace sip {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {
constexpr const char* kAllow = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, MESSAGE";

uint32_t random32() {
    static thread_local std::mt19937 engine(std::random_device{}());
    return engine();
}

std::string without_tag(const std::string& v) {
    // Cut ";tag=..." from a From/To value (after the '>' when there is one).
    size_t gt = v.rfind('>');
    size_t pos = v.find(";tag=", gt == std::string::npos ? 0 : gt);
    if (pos == std::string::npos) return v;
    size_t end = v.find(';', pos + 1);
    return v.substr(0, pos) + (end == std::string::npos ? "" : v.substr(end));
}
} // namespace

SipCall::SipCall(UserAgent& ua, Direction dir, std::string call_id)
    : ua_(ua), dir_(dir), call_id_(std::move(call_id)), sip_timer_(ua.io()), ring_timer_(ua.io()), rtp_(ua.io()),
      pacer_(ua.io()), max_timer_(ua.io()), rtp_buffer_(2048), dtmf_timer_(ua.io()), menu_timer_(ua.io()) {
    local_tag_ = ua.token();
}

SipCall::~SipCall() = default;

// --- inbound ----------------------------------------------------------------------

void SipCall::answer(const Message& invite, const udp::endpoint& from) {
    invite_ = invite;
    remote_sip_ = from;
    caller_ = caller_number(invite.value("From"), invite.value("P-Asserted-Identity"));
    if (auto to = parse_name_addr(invite.value("To"))) callee_ = to->uri.user;
    local_uri_ = without_tag(invite.value("To")) + ";tag=" + local_tag_;
    remote_uri_ = invite.value("From");
    if (auto contacts = invite.get_all("Contact"); !contacts.empty())
        if (auto c = parse_name_addr(contacts.front())) remote_target_ = c->uri.str();
    route_set_ = invite.get_all("Record-Route");
    local_cseq_ = 0;

    std::vector<Header> rr;
    for (const auto& line : invite.get_lines("Record-Route")) rr.push_back({"Record-Route", line});
    const std::string contact = "<" + ua_.config().account.contact_uri() + ">";

    auto offer = parse_sdp(invite.body);
    if (!offer) {
        ua_.send_response(invite, 488, "Not Acceptable Here", from, local_tag_);
        ended_ = true;
        ua_.call_ended(call_id_);
        return;
    }
    auto port = ua_.allocate_rtp_port(rtp_);
    if (!port) {
        ua_.host().warn("no free RTP port in rtp_ports: call refused");
        ua_.send_response(invite, 503, "Service Unavailable", from, local_tag_, {{"Retry-After", "10"}});
        ended_ = true;
        ua_.call_ended(call_id_);
        return;
    }
    rtp_port_ = *port;
    auto ans = answer_offer(*offer, ua_.config().account.local_ip, rtp_port_, random32());
    if (!ans.plan) {
        ua_.send_response(invite, 488, "Not Acceptable Here", from, local_tag_);
        close();
        ua_.call_ended(call_id_);
        return;
    }
    plan_ = *ans.plan;
    answer_sdp_ = ans.sdp;
    announced_ = true;

    Message ringing = ua_.make_response(invite, 180, "Ringing", local_tag_);
    for (const auto& h : rr) ringing.add(h.name, h.value);
    ringing.add("Contact", contact);
    last_response_ = ringing.serialize();  // what a retransmitted INVITE gets until the answer
    ua_.send_raw(last_response_, from);
    publish_call("RINGING", "");

    // Ring a moment before answering: a 200 sent right behind the 180 can overtake it in a proxy
    // with several UDP workers (Kamailio's children), and a caller then sees a 180 after the 200.
    ring_timer_.expires_after(ua_.config().answer_after);
    ring_timer_.async_wait([self = shared_from_this(), rr = std::move(rr), contact](boost::system::error_code ec) {
        if (!ec && !self->ended_) self->send_answer(rr, contact);
    });
}

void SipCall::send_answer(const std::vector<Header>& rr, const std::string& contact) {
    const Message& invite = *invite_;
    Message ok = ua_.make_response(invite, 200, "OK", local_tag_);
    for (const auto& h : rr) ok.add(h.name, h.value);
    ok.add("Contact", contact);
    ok.add("Allow", kAllow);
    ok.add("Content-Type", "application/sdp");
    ok.body = answer_sdp_;
    last_response_ = ok.serialize();
    ua_.send_raw(last_response_, remote_sip_);
    answered_ = true;
    publish_call("ANSWERED", "");
    ok_timer_ = std::make_unique<Retransmitter>(Retransmitter::Kind::invite_2xx_server, std::chrono::steady_clock::now());
    retransmit_2xx();
    max_timer_.expires_after(ua_.config().max_call);
    max_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (!ec && !self->ended_) self->hangup("max_call");
    });
}

void SipCall::retransmit_2xx() {
    if (!ok_timer_ || ended_) return;
    auto deadline = ok_timer_->next_deadline();
    if (!deadline) return;
    sip_timer_.expires_at(*deadline);
    sip_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (ec || self->ended_ || !self->ok_timer_) return;
        auto a = self->ok_timer_->on_time(std::chrono::steady_clock::now());
        if (a == Retransmitter::Action::resend) self->ua_.send_raw(self->last_response_, self->remote_sip_);
        if (a == Retransmitter::Action::timeout) {
            self->ua_.host().warn("no ACK for call " + self->call_id_ + ": hanging up");
            self->hangup("no_ack");
            return;
        }
        self->retransmit_2xx();
    });
}

void SipCall::on_invite_retransmission(const Message& invite, const udp::endpoint& from) {
    if (ended_) return;
    if (dir_ == Direction::inbound && invite_ && invite.cseq_number() == invite_->cseq_number()) {
        if (!last_response_.empty()) ua_.send_raw(last_response_, from);
        return;
    }
    // A re-INVITE (session refresh, hold): the same answer.
    Message ok = ua_.make_response(invite, 200, "OK", local_tag_);
    ok.add("Contact", "<" + ua_.config().account.contact_uri() + ">");
    ok.add("Content-Type", "application/sdp");
    ok.body = answer_sdp_;
    ua_.send_raw(ok.serialize(), from);
}

void SipCall::on_ack(const Message&) {
    if (ended_ || dir_ != Direction::inbound || confirmed_) return;
    confirmed_ = true;
    ok_timer_.reset();
    sip_timer_.cancel();
    start_media();
}

void SipCall::on_cancel(const Message& cancel, const udp::endpoint& from) {
    ua_.send_response(cancel, 200, "OK", from, local_tag_);
    if (ended_ || answered_ || !invite_) return;
    ua_.send_response(*invite_, 487, "Request Terminated", from, local_tag_);
    finish("cancelled");
}

void SipCall::on_bye(const Message& bye, const udp::endpoint& from) {
    ua_.send_response(bye, 200, "OK", from);
    if (!ended_) finish("remote_bye");
}

void SipCall::on_info(const Message& info, const udp::endpoint& from) {
    ua_.send_response(info, 200, "OK", from);
    if (ended_) return;
    if (auto d = parse_dtmf_info(info.value("Content-Type"), info.body)) on_digit(*d, "info");
}

// --- outbound ---------------------------------------------------------------------

void SipCall::dial(const std::string& target, std::shared_ptr<const Prompt> prompt, std::chrono::milliseconds ring_timeout,
                   std::function<void(const Outcome&)> done) {
    target_ = target;
    prompt_ = std::move(prompt);
    done_ = std::move(done);
    ring_timeout_ = ring_timeout;
    caller_ = ua_.config().account.user;
    if (auto u = parse_uri(target)) callee_ = u->user;
    local_uri_ = "<" + ua_.config().account.aor() + ">;tag=" + local_tag_;
    remote_uri_ = "<" + target + ">";
    auto port = ua_.allocate_rtp_port(rtp_);
    if (!port) {
        report(false, "failed", 0, "no free RTP port in rtp_ports");
        ended_ = true;
        ua_.call_ended(call_id_);
        return;
    }
    rtp_port_ = *port;
    announced_ = true;
    publish_call("DIALING", "");
    send_invite(std::nullopt);
    ring_timer_.expires_after(ring_timeout_);
    ring_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (ec || self->ended_ || self->answered_) return;
        self->report(false, "no_answer", 0, "no answer within " + std::to_string(self->ring_timeout_.count() / 1000) + " s");
        self->hangup("no_answer");
    });
}

void SipCall::send_invite(std::optional<Message> challenge) {
    auto uri = parse_uri(target_);
    auto ep = uri ? ua_.outbound_target(*uri) : std::nullopt;
    if (!ep) {
        report(false, "failed", 0, "cannot resolve the target");
        finish("unreachable");
        return;
    }
    Message m;
    m.request = true;
    m.method = "INVITE";
    m.uri = target_;
    m.add("Max-Forwards", "70");
    m.add("From", local_uri_);
    m.add("To", remote_uri_);
    m.add("Call-ID", call_id_);
    m.add("CSeq", std::to_string(local_cseq_) + " INVITE");
    m.add("Contact", "<" + ua_.config().account.contact_uri() + ">");
    m.add("Allow", kAllow);
    m.add("User-Agent", "passerelle");
    m.add("Content-Type", "application/sdp");
    m.body = make_offer(ua_.config().account.local_ip, rtp_port_, random32());
    if (challenge) add_credentials(m, ua_.config().account, *challenge);
    out_invite_ = m;
    remote_sip_ = *ep;
    std::weak_ptr<SipCall> weak = weak_from_this();
    invite_branch_ = ua_.send_request(m, *ep, [weak](const Message* r) {
        if (auto self = weak.lock()) self->on_invite_response(r);
    });
}

void SipCall::on_invite_response(const Message* r) {
    if (!r) {
        if (ended_) return;
        report(false, cancelled_ ? "no_answer" : "failed", 0, cancelled_ ? "no answer" : "no response to INVITE");
        finish(cancelled_ ? "no_answer" : "timeout");
        return;
    }
    if (r->cseq_number() != local_cseq_ && !(answered_ && r->status < 300)) return;
    if (r->status < 200) {
        // RINGING on any 18x (180 Ringing, 181 Forwarded, 182 Queued, 183 Session Progress),
        // once; a 100 Trying is only the proxy's.
        if (!ended_ && !ringing_reported_ && r->status >= 180) {
            ringing_reported_ = true;
            publish_call("RINGING", "");
        }
        return;
    }
    if (r->status < 300) {
        // ACK every 2xx (retransmissions too), then take the dialog.
        const std::string to = r->value("To");
        if (!answered_) {
            remote_uri_ = to;
            if (auto contacts = r->get_all("Contact"); !contacts.empty())
                if (auto c = parse_name_addr(contacts.front())) remote_target_ = c->uri.str();
            if (remote_target_.empty()) remote_target_ = target_;
            auto rr = r->get_all("Record-Route");
            route_set_.assign(rr.rbegin(), rr.rend());
        }
        Message ack;
        ack.request = true;
        ack.method = "ACK";
        ack.uri = remote_target_;
        ack.add("Max-Forwards", "70");
        for (const auto& route : route_set_) ack.add("Route", route);
        ack.add("From", local_uri_);
        ack.add("To", remote_uri_);
        ack.add("Call-ID", call_id_);
        ack.add("CSeq", std::to_string(local_cseq_) + " ACK");
        std::optional<udp::endpoint> ep;
        if (!route_set_.empty()) {
            if (auto na = parse_name_addr(route_set_.front())) ep = ua_.resolve(na->uri);
        } else if (auto u = parse_uri(remote_target_)) {
            ep = ua_.resolve(*u);
        }
        if (ep) ua_.send_request(ack, *ep, nullptr);
        if (answered_) return;
        answered_ = true;
        confirmed_ = true;
        ring_timer_.cancel();
        if (ended_ || cancelled_) {  // answered after we gave up: hang up at once
            send_in_dialog("BYE");
            if (!ended_) finish("no_answer");
            return;
        }
        auto sdp = parse_sdp(r->body);
        auto plan = sdp ? read_answer(*sdp) : std::nullopt;
        if (!plan) {
            report(false, "failed", r->status, "the answer has no PCMU/PCMA");
            hangup("no_common_codec");
            return;
        }
        plan_ = *plan;
        publish_call("ANSWERED", "");
        start_media();
        max_timer_.expires_after(ua_.config().max_call);
        max_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (!ec && !self->ended_) self->hangup("max_call");
        });
        return;
    }
    // A final failure: the ACK belongs to the INVITE's transaction (same branch).
    Message ack;
    ack.request = true;
    ack.method = "ACK";
    ack.uri = target_;
    ack.add("Via", ua_.config().account.via(invite_branch_));
    ack.add("Max-Forwards", "70");
    ack.add("From", local_uri_);
    ack.add("To", r->value("To"));
    ack.add("Call-ID", call_id_);
    ack.add("CSeq", std::to_string(local_cseq_) + " ACK");
    ua_.send_raw(ack.serialize(), remote_sip_);
    if (ended_) return;
    if ((r->status == 401 || r->status == 407) && auth_attempts_ == 0 && !cancelled_) {
        ++auth_attempts_;
        ++local_cseq_;
        send_invite(*r);
        return;
    }
    std::string outcome = "rejected";
    if (r->status == 486 || r->status == 600) outcome = "busy";
    else if (r->status == 487 || r->status == 408 || r->status == 480) outcome = "no_answer";
    report(false, outcome, r->status, std::to_string(r->status) + " " + r->reason);
    finish(outcome);
}

// --- media ------------------------------------------------------------------------

void SipCall::start_media() {
    if (ended_) return;
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(plan_.remote_addr, ec);
    if (!ec && plan_.remote_port != 0) rtp_remote_ = udp::endpoint(addr, plan_.remote_port);
    ssrc_ = random32();
    seq_ = static_cast<uint16_t>(random32());
    ts_ = random32();
    silence_ = silence_frame(plan_.codec);
    if (!prompt_ && dir_ == Direction::inbound) prompt_ = ua_.prompt_for_caller(caller_);
    clock_.emplace(std::chrono::steady_clock::now());
    schedule_frame();
    receive_rtp();
}

void SipCall::schedule_frame() {
    pacer_.expires_at(clock_->deadline());
    pacer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (!ec && !self->ended_) self->send_frame();
    });
}

void SipCall::send_frame() {
    // After a stall of the host that made this frame late by a whole frame or more,
    // the pacer re-anchors its grid on now instead of letting the late frames go
    // back to back (never a burst): this frame goes now, the next 20 ms later. The
    // timestamp jumps by the slots that went by, so the far end plays a gap of
    // silence; the message itself goes on where it was (no frame of it is lost).
    if (const uint64_t missed = clock_->wake(std::chrono::steady_clock::now())) {
        ts_ += static_cast<uint32_t>(missed * kFrameSamples);
        ua_.host().count("rtp_slots_missed", static_cast<int64_t>(missed));
    }
    if (!prompt_ && dir_ == Direction::inbound && !prompt_done_) prompt_ = ua_.prompt_for_caller(caller_);
    const std::vector<uint8_t>* payload = &silence_;
    if (prompt_ && frame_ < prompt_->frames(plan_.codec).size()) {
        payload = &prompt_->frames(plan_.codec)[frame_++];
    } else if (prompt_ && !prompt_done_) {
        prompt_done_ = true;
        played_all_ = true;
        const bool hang = dir_ == Direction::outbound || ua_.config().hangup_after_message;
        if (hang && sequence_.empty()) hangup_slot_ = clock_->slot() + 10;  // 200 ms of silence, then BYE
    }
    if (hangup_slot_ && clock_->slot() >= hangup_slot_) {
        hangup("message_played");
        return;
    }
    if (rtp_remote_) {
        RtpHeader h{static_cast<uint8_t>(plan_.codec_pt), first_packet_, seq_, ts_, ssrc_};
        build_rtp(h, *payload, packet_);
        boost::system::error_code ec;
        rtp_.send_to(asio::buffer(packet_), *rtp_remote_, 0, ec);
        first_packet_ = false;
    }
    ++seq_;
    ts_ += kFrameSamples;
    clock_->next();
    schedule_frame();
}

void SipCall::receive_rtp() {
    rtp_.async_receive_from(asio::buffer(rtp_buffer_), rtp_from_, [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
        if (ec || self->ended_) return;
        auto p = parse_rtp(std::span<const uint8_t>(self->rtp_buffer_.data(), n));
        if (p && self->plan_.dtmf_pt >= 0 && p->header.pt == self->plan_.dtmf_pt) {
            auto d = self->rfc4733_.on_packet(p->payload, p->header.ssrc, p->header.timestamp, std::chrono::steady_clock::now());
            if (d) self->on_digit(*d, "rfc4733");
            self->arm_dtmf_timer();
        }
        self->receive_rtp();
    });
}

void SipCall::arm_dtmf_timer() {
    auto deadline = rfc4733_.next_deadline();
    if (!deadline) return;
    dtmf_timer_.expires_at(*deadline);
    dtmf_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (ec || self->ended_) return;
        self->rfc4733_.on_time(std::chrono::steady_clock::now());
        self->arm_dtmf_timer();
    });
}

void SipCall::on_digit(char digit, const char* method) {
    passerelle::Event e;
    e.type = "dtmf";
    e.code = method;
    e.state = passerelle::State::pulse;
    e.attrs["digit"] = std::string(1, digit);
    e.attrs["method"] = method;
    e.attrs["caller"] = caller_;
    e.attrs["callee"] = callee_;
    e.attrs["call_id"] = call_id_;
    ua_.publish(std::move(e));
    if (digit == '#') {
        end_sequence();
        return;
    }
    if (sequence_.size() < 32) sequence_ += digit;
    hangup_slot_ = 0;  // the caller is typing: do not hang up under them
    menu_timer_.expires_after(ua_.config().menu_pause);
    menu_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (!ec && !self->ended_) self->end_sequence();
    });
}

void SipCall::end_sequence() {
    menu_timer_.cancel();
    if (sequence_.empty()) return;
    auto reply = ua_.menu_reply(sequence_);
    passerelle::Event e;
    e.type = "dtmf_sequence";
    e.code = "menu";
    e.state = passerelle::State::pulse;
    e.attrs["sequence"] = sequence_;
    e.attrs["caller"] = caller_;
    e.attrs["callee"] = callee_;
    e.attrs["call_id"] = call_id_;
    e.attrs["matched"] = ua_.config().menu.count(sequence_) ? "true" : "false";
    ua_.publish(std::move(e));
    sequence_.clear();
    if (reply) {
        prompt_ = reply;
        frame_ = 0;
        prompt_done_ = false;
        hangup_slot_ = 0;
    } else if (clock_ && prompt_done_ && (dir_ == Direction::outbound || ua_.config().hangup_after_message)) {
        hangup_slot_ = clock_->slot() + 10;
    }
}

// --- ending -----------------------------------------------------------------------

void SipCall::send_in_dialog(const std::string& method, std::function<void(const Message*)> handler) {
    Message m;
    m.request = true;
    m.method = method;
    m.uri = remote_target_;
    m.add("Max-Forwards", "70");
    for (const auto& route : route_set_) m.add("Route", route);
    m.add("From", local_uri_);
    m.add("To", remote_uri_);
    m.add("Call-ID", call_id_);
    m.add("CSeq", std::to_string(++local_cseq_) + " " + method);
    m.add("User-Agent", "passerelle");
    std::optional<udp::endpoint> ep;
    if (!route_set_.empty()) {
        if (auto na = parse_name_addr(route_set_.front())) ep = ua_.resolve(na->uri);
    } else if (auto u = parse_uri(remote_target_)) {
        ep = ua_.resolve(*u);
    }
    if (!ep) ep = remote_sip_;
    ua_.send_request(m, *ep, std::move(handler));
}

void SipCall::hangup(const std::string& reason) {
    if (ended_) return;
    if (answered_) {
        send_in_dialog("BYE");
    } else if (dir_ == Direction::outbound && out_invite_) {
        // CANCEL: same Request-URI, Call-ID, From, To, CSeq number and branch as the INVITE.
        cancelled_ = true;
        Message c;
        c.request = true;
        c.method = "CANCEL";
        c.uri = out_invite_->uri;
        c.add("Max-Forwards", "70");
        c.add("From", local_uri_);
        c.add("To", remote_uri_);
        c.add("Call-ID", call_id_);
        c.add("CSeq", std::to_string(local_cseq_) + " CANCEL");
        ua_.send_request(c, remote_sip_, nullptr, invite_branch_);
        // The 487 (or the INVITE's timeout) finishes the call; bound it anyway.
        ring_timer_.expires_after(5s);
        ring_timer_.async_wait([self = shared_from_this(), reason](boost::system::error_code ec) {
            if (!ec && !self->ended_) self->finish(reason);
        });
        return;
    } else if (dir_ == Direction::inbound && invite_) {
        ua_.send_response(*invite_, 487, "Request Terminated", remote_sip_, local_tag_);
    }
    finish(reason);
}

void SipCall::finish(const std::string& reason) {
    if (ended_) return;
    if (dir_ == Direction::outbound && answered_)
        report(true, "answered", 200, played_all_ ? "message played" : "the callee hung up before the end");
    close();
    if (announced_) publish_call("ENDED", reason);
    ua_.call_ended(call_id_);
}

void SipCall::close() {
    if (ended_ && !rtp_.is_open()) return;
    ended_ = true;
    boost::system::error_code ec;
    sip_timer_.cancel();
    ring_timer_.cancel();
    pacer_.cancel();
    max_timer_.cancel();
    dtmf_timer_.cancel();
    menu_timer_.cancel();
    if (rtp_.is_open()) rtp_.close(ec);
    if (rtp_port_) ua_.release_rtp_port(rtp_port_);
    rtp_port_ = 0;
}

void SipCall::publish_call(const char* code, const std::string& reason) {
    passerelle::Event e;
    e.type = "call";
    e.code = code;
    std::string c = code;
    e.state = c == "ANSWERED" ? passerelle::State::start : c == "ENDED" ? passerelle::State::stop : passerelle::State::pulse;
    e.attrs["caller"] = caller_;
    e.attrs["callee"] = callee_;
    e.attrs["direction"] = dir_ == Direction::inbound ? "inbound" : "outbound";
    e.attrs["call_id"] = call_id_;
    if (!reason.empty()) e.attrs["reason"] = reason;
    ua_.publish(std::move(e));
}

void SipCall::report(bool ok, std::string outcome, int code, std::string detail) {
    if (!done_) return;
    auto done = std::move(done_);
    done_ = nullptr;
    done(Outcome{ok, std::move(outcome), code, std::move(detail), call_id_});
}

} // namespace sip
