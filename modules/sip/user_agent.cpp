#include "user_agent.hpp"

#include "call.hpp"
#include "caller_match.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>

namespace sip {

namespace asio = boost::asio;

namespace {
constexpr const char* kAllow = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, MESSAGE";

std::string top_branch(const Message& m) {
    auto vias = m.get_all("Via");
    if (vias.empty()) return {};
    return header_param(vias.front(), "branch").value_or("");
}
} // namespace

UserAgent::UserAgent(asio::io_context& io, UaConfig config, passerelle::Host host)
    : io_(io), config_(std::move(config)), host_(host), tokens_(default_token_source()), socket_(io),
      buffer_(65536), registration_timer_(io) {
    for (const auto& h : config_.allowed_hosts) {
        if (h == "*") allow_all_ = true;
        else allowed_ips_.insert(h);
    }
    if (config_.account.registrar) {
        boost::system::error_code ec;
        auto addr = asio::ip::make_address(config_.account.registrar->host, ec);
        if (!ec) allowed_ips_.insert(addr.to_string());
        else if (auto ep = resolve(*config_.account.registrar)) allowed_ips_.insert(ep->address().to_string());
    }
    // Nobody named (module.cpp refuses that config without a registrar): nobody but the
    // registrar is allowed. Never an implicit accept-all.
}

UserAgent::~UserAgent() {
    *alive_ = false;
    for (auto& t : workers_)
        if (t.joinable()) t.join();
}

void UserAgent::start() {
    const auto& a = config_.account;
    udp::endpoint ep(asio::ip::make_address(a.local_ip), a.local_port);
    socket_.open(ep.protocol());
    socket_.bind(ep);
    running_ = true;
    host_.info("listening on udp:" + a.local_ip + ":" + std::to_string(a.local_port));
    synthesize_prompts();
    receive();
    if (a.registrar) {
        registration_.emplace(a, config_.expires, tokens_);
        RegState before = registration_->state();
        register_send(registration_->start(std::chrono::steady_clock::now()));
        registration_changed(before);
    } else {
        host_.health("ok", "listening for direct calls");
    }
}

void UserAgent::stop() {
    if (!running_) return;
    // Hang up every call (BYE or CANCEL go out now, unacknowledged), then un-REGISTER.
    auto calls = calls_;
    for (auto& [id, c] : calls) {
        c->hangup("stopping");
        c->close();
    }
    calls_.clear();
    if (registration_) {
        RegState before = registration_->state();
        // Fire and forget: on_stop must return promptly. The REGISTER carries its Via
        // and credentials from the cached challenge.
        if (auto m = registration_->stop())
            if (auto ep = resolve(*config_.account.registrar)) send_raw(m->serialize(), *ep);
        registration_changed(before);
    }
    running_ = false;
    registration_timer_.cancel();
    for (auto& [b, tx] : transactions_)
        if (tx.asio_timer) tx.asio_timer->cancel();
    transactions_.clear();
    boost::system::error_code ec;
    socket_.close(ec);
}

void UserAgent::synthesize_prompts() {
    std::set<std::string> texts;
    for (const auto& [k, v] : config_.messages) texts.insert(v);
    for (const auto& [k, v] : config_.menu) texts.insert(v);
    if (texts.empty()) return;
    std::weak_ptr<UserAgent> weak = weak_from_this();
    auto alive = alive_;
    TtsOptions tts = config_.tts;
    passerelle::Host host = host_;
    asio::io_context& io = io_;
    // Speech synthesis takes a while: a worker thread, joined when the UA dies.
    workers_.emplace_back([=, &io] {
        for (const auto& text : texts) {
            if (!*alive) return;
            std::string err;
            auto p = make_message(text, tts, &err);
            if (!p) {
                host.warn("message not ready: " + err);
                continue;
            }
            auto shared = std::make_shared<const Prompt>(std::move(*p));
            asio::post(io, [weak, text, shared] {
                if (auto self = weak.lock()) self->prompts_[text] = shared;
            });
        }
    });
}

std::shared_ptr<const Prompt> UserAgent::prompt_for_caller(const std::string& caller) const {
    auto key = match_caller(config_.messages, caller);
    if (!key) return nullptr;
    auto it = prompts_.find(config_.messages.at(*key));
    return it == prompts_.end() ? nullptr : it->second;
}

std::shared_ptr<const Prompt> UserAgent::menu_reply(const std::string& sequence) const {
    auto m = config_.menu.find(sequence);
    if (m == config_.menu.end()) return nullptr;
    auto it = prompts_.find(m->second);
    return it == prompts_.end() ? nullptr : it->second;
}

void UserAgent::publish(passerelle::Event e) const {
    if (e.time_ns == 0) e.time_ns = passerelle::Instance::now_ns();
    host_.publish(e);
}

void UserAgent::receive() {
    socket_.async_receive_from(asio::buffer(buffer_), from_, [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
        if (!self->running_) return;
        if (!ec) self->on_datagram(n);
        self->receive();
    });
}

bool UserAgent::allowed(const udp::endpoint& from) const {
    return allow_all_ || allowed_ips_.count(from.address().to_string()) > 0;
}

void UserAgent::on_datagram(std::size_t n) {
    std::string_view data(buffer_.data(), n);
    if (trim(data).empty()) return;  // keep-alive
    auto r = parse(data);
    if (!r.message) {
        host_.count("sip_bad_datagrams");
        host_.debug("dropped a datagram from " + from_.address().to_string() + ": " + r.error);
        return;
    }
    if (r.message->request) on_request(*r.message);
    else on_response(*r.message);
}

Message UserAgent::make_response(const Message& req, int code, const std::string& reason, const std::string& to_tag) const {
    Message m;
    m.status = code;
    m.reason = reason;
    for (const auto& v : req.get_lines("Via")) m.add("Via", v);
    m.add("From", req.value("From"));
    std::string to = req.value("To");
    if (!to_tag.empty() && !header_param(to, "tag")) to += ";tag=" + to_tag;
    m.add("To", to);
    m.add("Call-ID", req.value("Call-ID"));
    m.add("CSeq", req.value("CSeq"));
    m.add("Server", "passerelle");
    return m;
}

void UserAgent::send_response(const Message& req, int code, const std::string& reason, const udp::endpoint& to,
                              const std::string& to_tag, const std::vector<Header>& extra, const std::string& body) {
    Message m = make_response(req, code, reason, to_tag);
    for (const auto& h : extra) m.add(h.name, h.value);
    m.body = body;
    send_raw(m.serialize(), to);
}

void UserAgent::send_raw(const std::string& wire, const udp::endpoint& to) {
    if (!socket_.is_open()) return;
    boost::system::error_code ec;
    socket_.send_to(asio::buffer(wire), to, 0, ec);  // UDP: does not block for long
    if (ec) host_.debug("send to " + to.address().to_string() + " failed: " + ec.message());
}

void UserAgent::on_request(const Message& m) {
    const udp::endpoint from = from_;
    if (!allowed(from)) {
        host_.count("sip_rejected_requests");
        if (m.method != "ACK") send_response(m, 403, "Forbidden", from, token());
        return;
    }
    const std::string call_id = m.value("Call-ID");
    auto call = calls_.find(call_id);
    const bool has_to_tag = header_param(m.value("To"), "tag").has_value();
    const std::string& method = m.method;

    if (method == "ACK") {
        if (call != calls_.end()) call->second->on_ack(m);
        return;
    }
    if (method == "INVITE") {
        if (call != calls_.end()) {
            // A retransmission (or a re-INVITE, which we answer the same way).
            call->second->on_invite_retransmission(m, from);
            return;
        }
        if (has_to_tag) {
            send_response(m, 481, "Call/Transaction Does Not Exist", from);
            return;
        }
        for (const auto& req : m.get_all("Require")) {
            if (iequals(req, "100rel")) {
                send_response(m, 420, "Bad Extension", from, token(), {{"Unsupported", "100rel"}});
                return;
            }
        }
        if (static_cast<int>(calls_.size()) >= config_.max_calls) {
            host_.count("sip_calls_refused_busy");
            send_response(m, 486, "Busy Here", from, token());
            return;
        }
        auto c = std::make_shared<SipCall>(*this, SipCall::Direction::inbound, call_id);
        calls_[call_id] = c;
        c->answer(m, from);
        return;
    }
    if (method == "CANCEL") {
        if (call != calls_.end()) call->second->on_cancel(m, from);
        else send_response(m, 481, "Call/Transaction Does Not Exist", from);
        return;
    }
    if (method == "BYE") {
        if (call != calls_.end()) call->second->on_bye(m, from);
        else send_response(m, 481, "Call/Transaction Does Not Exist", from);
        return;
    }
    if (method == "INFO") {
        if (call != calls_.end()) call->second->on_info(m, from);
        else send_response(m, 481, "Call/Transaction Does Not Exist", from);
        return;
    }
    if (method == "OPTIONS") {
        send_response(m, 200, "OK", from, token(), {{"Allow", kAllow}, {"Accept", "application/sdp"}});
        return;
    }
    if (method == "MESSAGE") {
        send_response(m, 200, "OK", from, token());
        passerelle::Event e;
        e.type = "message";
        e.code = "MESSAGE";
        e.state = passerelle::State::pulse;
        e.attrs["from"] = caller_number(m.value("From"), m.value("P-Asserted-Identity"));
        std::string text = m.body;
        e.attrs["text"] = text.size() > 4096 ? text.substr(0, 4096) : text;
        e.attrs["content_type"] = m.value("Content-Type");
        publish(std::move(e));
        return;
    }
    send_response(m, 405, "Method Not Allowed", from, token(), {{"Allow", kAllow}});
}

void UserAgent::on_response(const Message& m) {
    std::string branch = top_branch(m) + " " + m.cseq_method();
    auto it = transactions_.find(branch);
    if (it == transactions_.end()) return;  // stray or late
    ClientTx& tx = it->second;
    if (m.status < 200) {
        if (tx.timer) tx.timer->on_provisional();
    } else {
        tx.final_seen = true;
        if (tx.timer) tx.timer->on_done();
    }
    ResponseHandler handler = tx.handler;  // may erase the transaction
    if (tx.final_seen && tx.request.method != "INVITE") {
        if (tx.asio_timer) tx.asio_timer->cancel();
        transactions_.erase(it);
    } else if (tx.final_seen) {
        // Keep INVITE transactions a while: 2xx retransmissions are ACKed again.
        if (tx.asio_timer) {
            tx.asio_timer->expires_after(std::chrono::seconds(32));
            tx.asio_timer->async_wait([weak = weak_from_this(), branch](boost::system::error_code ec) {
                auto self = weak.lock();
                if (ec || !self || !self->running_) return;
                self->transactions_.erase(branch);
            });
        }
    }
    if (handler) handler(&m);
}

std::string UserAgent::send_request(Message request, const udp::endpoint& to, ResponseHandler handler, std::string branch) {
    if (branch.empty()) branch = "z9hG4bK" + tokens_();
    Message m;
    m.request = true;
    m.method = request.method;
    m.uri = request.uri;
    m.add("Via", config_.account.via(branch));
    for (auto& h : request.headers)
        if (!iequals(h.name, "Via")) m.headers.push_back(std::move(h));
    m.body = std::move(request.body);
    ClientTx tx;
    tx.wire = m.serialize();
    tx.request = std::move(m);
    tx.to = to;
    tx.handler = std::move(handler);
    const auto now = std::chrono::steady_clock::now();
    if (tx.request.method != "ACK") {
        tx.timer = std::make_unique<Retransmitter>(tx.request.method == "INVITE" ? Retransmitter::Kind::invite_client
                                                                                 : Retransmitter::Kind::non_invite_client,
                                                   now);
        tx.asio_timer = std::make_unique<asio::steady_timer>(io_);
    }
    send_raw(tx.wire, to);
    if (tx.timer) {
        std::string key = branch + " " + tx.request.method;
        transactions_[key] = std::move(tx);
        arm(key);
    }
    return branch;
}

void UserAgent::arm(const std::string& branch) {
    auto it = transactions_.find(branch);
    if (it == transactions_.end() || !it->second.timer) return;
    auto deadline = it->second.timer->next_deadline();
    if (!deadline) return;
    it->second.asio_timer->expires_at(*deadline);
    it->second.asio_timer->async_wait([weak = weak_from_this(), branch](boost::system::error_code ec) {
        auto self = weak.lock();
        if (ec || !self || !self->running_) return;
        auto it = self->transactions_.find(branch);
        if (it == self->transactions_.end() || it->second.final_seen) return;
        auto action = it->second.timer->on_time(std::chrono::steady_clock::now());
        if (action == Retransmitter::Action::resend) {
            self->send_raw(it->second.wire, it->second.to);
            self->arm(branch);
        } else if (action == Retransmitter::Action::timeout) {
            ResponseHandler h = std::move(it->second.handler);
            self->transactions_.erase(it);
            if (h) h(nullptr);
        } else {
            self->arm(branch);
        }
    });
}

std::optional<UserAgent::udp::endpoint> UserAgent::resolve(const Uri& uri) {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(uri.host, ec);
    if (!ec) return udp::endpoint(addr, uri.port_or_default());
    udp::resolver resolver(io_);
    auto results = resolver.resolve(udp::v4(), uri.host, std::to_string(uri.port_or_default()), ec);
    if (ec || results.empty()) return std::nullopt;
    return results.begin()->endpoint();
}

std::optional<UserAgent::udp::endpoint> UserAgent::outbound_target(const Uri& request_uri) {
    if (config_.account.registrar) return resolve(*config_.account.registrar);
    return resolve(request_uri);
}

std::optional<uint16_t> UserAgent::allocate_rtp_port(udp::socket& socket) {
    const auto& a = config_.account;
    for (uint32_t p = config_.rtp_min + (config_.rtp_min & 1); p + 1 <= config_.rtp_max; p += 2) {
        if (rtp_in_use_.count(static_cast<uint16_t>(p))) continue;
        boost::system::error_code ec;
        if (socket.is_open()) socket.close(ec);
        socket.open(udp::v4(), ec);
        if (ec) continue;
        socket.bind(udp::endpoint(asio::ip::make_address(a.local_ip), static_cast<uint16_t>(p)), ec);
        if (ec) continue;
        rtp_in_use_.insert(static_cast<uint16_t>(p));
        return static_cast<uint16_t>(p);
    }
    return std::nullopt;
}

void UserAgent::call_ended(const std::string& call_id) {
    // Later: the call may be in the middle of one of its own handlers.
    asio::post(io_, [weak = weak_from_this(), call_id] {
        if (auto self = weak.lock()) self->calls_.erase(call_id);
    });
}

// --- registration ---------------------------------------------------------------

void UserAgent::register_send(std::optional<Message> m) {
    if (!m || !running_) {
        schedule_registration();
        return;
    }
    auto ep = resolve(*config_.account.registrar);
    if (!ep) {
        RegState before = registration_->state();
        registration_->on_timeout(std::chrono::steady_clock::now());
        registration_changed(before);
        schedule_registration();
        return;
    }
    registration_branch_ = send_request(std::move(*m), *ep, [weak = weak_from_this()](const Message* r) {
        auto self = weak.lock();
        if (!self || !self->running_ || !self->registration_) return;
        RegState before = self->registration_->state();
        auto now = std::chrono::steady_clock::now();
        std::optional<Message> next;
        if (!r) next = self->registration_->on_timeout(now);
        else if (r->status >= 200) next = self->registration_->on_response(*r, now);
        else return;
        self->registration_changed(before);
        self->register_send(std::move(next));
    });
    schedule_registration();
}

void UserAgent::schedule_registration() {
    if (!registration_ || !running_) return;
    auto when = registration_->next_action();
    registration_timer_.cancel();
    if (!when) return;
    registration_timer_.expires_at(*when);
    registration_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
        auto self = weak.lock();
        if (ec || !self || !self->running_) return;
        RegState before = self->registration_->state();
        auto m = self->registration_->on_time(std::chrono::steady_clock::now());
        self->registration_changed(before);
        self->register_send(std::move(m));
    });
}

void UserAgent::registration_changed(RegState before) {
    RegState now = registration_->state();
    if (now == before) return;
    passerelle::Event e;
    e.type = "registration";
    e.code = to_string(now);
    e.state = now == RegState::registered ? passerelle::State::start
              : (now == RegState::inactive || now == RegState::failed) ? passerelle::State::stop
                                                                        : passerelle::State::pulse;
    e.attrs["reason"] = registration_->reason();
    e.attrs["registrar"] = config_.account.registrar->str();
    e.attrs["user"] = config_.account.user;
    publish(std::move(e));
    host_.info(std::string("registration ") + to_string(now) + ": " + registration_->reason());
    switch (now) {
    case RegState::registered: host_.health("connected", registration_->reason()); break;
    case RegState::failed:
        host_.health(registration_->auth_failed() ? "auth_failed" : "unreachable", registration_->reason());
        host_.count("registration_failures");
        break;
    case RegState::registering: if (before == RegState::failed || before == RegState::inactive) host_.health("reconnecting", "registering"); break;
    default: break;
    }
}

// --- actions ----------------------------------------------------------------------

std::string UserAgent::target_uri(const std::string& to) const {
    if (to.rfind("sip:", 0) == 0 || to.rfind("sips:", 0) == 0) return to;
    if (!config_.account.registrar) return {};
    return "sip:" + to + "@" + config_.account.domain();
}

void UserAgent::place_call(const std::string& to, const std::string& message, std::chrono::milliseconds ring_timeout,
                           std::function<void(const Outcome&)> done) {
    std::string target = target_uri(to);
    if (target.empty() || !parse_uri(target)) {
        done({false, "failed", 0, "cannot call '" + to + "': give a URI (sip:user@host) or configure a registrar", {}});
        return;
    }
    if (static_cast<int>(calls_.size()) >= config_.max_calls) {
        done({false, "failed", 0, "max_calls reached", {}});
        return;
    }
    auto dial = [weak = weak_from_this(), target, ring_timeout, done](std::shared_ptr<const Prompt> prompt) {
        auto self = weak.lock();
        if (!self || !self->running_) return;
        std::string call_id = self->tokens_() + self->tokens_() + "@" + self->config_.account.local_ip;
        auto c = std::make_shared<SipCall>(*self, SipCall::Direction::outbound, call_id);
        self->calls_[call_id] = c;
        c->dial(target, std::move(prompt), ring_timeout, done);
    };
    if (message.empty()) return dial(nullptr);
    if (auto it = prompts_.find(message); it != prompts_.end()) return dial(it->second);
    // Synthesize off the io thread (it takes ~0.5 s), then dial.
    auto alive = alive_;
    TtsOptions tts = config_.tts;
    workers_.emplace_back([=, this, &io = io_] {
        std::string err;
        auto p = make_message(message, tts, &err);
        if (!*alive) return;
        std::shared_ptr<const Prompt> shared = p ? std::make_shared<const Prompt>(std::move(*p)) : nullptr;
        asio::post(io, [dial, shared, err, done, weak = weak_from_this()] {
            auto self = weak.lock();
            if (!self || !self->running_) return;
            if (!shared) return done({false, "failed", 0, "message: " + err, {}});
            dial(shared);
        });
    });
}

void UserAgent::send_message(const std::string& to, const std::string& text, std::function<void(const Outcome&)> done) {
    std::string target = target_uri(to);
    auto uri = parse_uri(target);
    if (target.empty() || !uri) {
        done({false, "failed", 0, "cannot send to '" + to + "': give a URI (sip:user@host) or configure a registrar", {}});
        return;
    }
    auto ep = outbound_target(*uri);
    if (!ep) {
        done({false, "failed", 0, "cannot resolve " + uri->host, {}});
        return;
    }
    Message m;
    m.request = true;
    m.method = "MESSAGE";
    m.uri = target;
    m.add("Max-Forwards", "70");
    m.add("From", "<" + config_.account.aor() + ">;tag=" + tokens_());
    m.add("To", "<" + target + ">");
    std::string call_id = tokens_() + tokens_() + "@" + config_.account.local_ip;
    m.add("Call-ID", call_id);
    m.add("CSeq", "1 MESSAGE");
    m.add("User-Agent", "passerelle");
    m.add("Content-Type", "text/plain;charset=UTF-8");
    m.body = text;
    auto job = std::make_shared<MessageJob>(MessageJob{std::move(m), *ep, std::move(done), call_id, 0});
    message_attempt(job);
}

void UserAgent::message_attempt(std::shared_ptr<MessageJob> job) {
    send_request(job->request, job->to, [weak = weak_from_this(), job](const Message* r) {
        auto self = weak.lock();
        if (!self || !self->running_) return;
        if (!r) return job->done({false, "timeout", 0, "no answer to MESSAGE", job->call_id});
        if (r->status < 200) return;
        if ((r->status == 401 || r->status == 407) && job->attempts == 0) {
            ++job->attempts;
            job->request.set("CSeq", "2 MESSAGE");
            if (add_credentials(job->request, self->config_.account, *r)) return self->message_attempt(job);
        }
        if (r->status == 200 || r->status == 202) return job->done({true, "delivered", r->status, r->reason, job->call_id});
        job->done({false, "rejected", r->status, std::to_string(r->status) + " " + r->reason, job->call_id});
    });
}

} // namespace sip
