#include "registration.hpp"

#include <passerelle/http/digest.hpp>

#include <charconv>

namespace sip {

const char* to_string(RegState s) {
    switch (s) {
    case RegState::inactive: return "INACTIVE";
    case RegState::registering: return "REGISTERING";
    case RegState::registered: return "REGISTERED";
    case RegState::deregistering: return "DEREGISTERING";
    case RegState::failed: return "FAILED";
    }
    return "?";
}

namespace {

std::optional<long> to_long(std::string_view s) {
    s = trim(s);
    long v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v < 0) return std::nullopt;
    return v;
}

bool challenge_is_stale(const Message& resp) {
    auto cs = passerelle::http::parse_challenges(resp.get_lines(resp.status == 407 ? "Proxy-Authenticate" : "WWW-Authenticate"));
    auto c = passerelle::http::choose_challenge(cs);
    return c && c->stale;
}

} // namespace

Registration::Registration(Account account, std::chrono::seconds expires, TokenSource tokens)
    : account_(std::move(account)), expires_(expires), tokens_(std::move(tokens)) {
    call_id_ = tokens_() + tokens_() + "@" + account_.local_ip;
    from_tag_ = tokens_();
}

Message Registration::build(std::chrono::seconds expires, bool with_cached_auth) {
    Message m;
    m.request = true;
    m.method = "REGISTER";
    Uri ruri = *account_.registrar;
    ruri.user.clear();
    ruri.params.clear();
    m.uri = ruri.str();
    m.add("Via", account_.via("z9hG4bK" + tokens_()));
    m.add("Max-Forwards", "70");
    m.add("From", "<" + account_.aor() + ">;tag=" + from_tag_);
    m.add("To", "<" + account_.aor() + ">");
    m.add("Call-ID", call_id_);
    m.add("CSeq", std::to_string(++cseq_) + " REGISTER");
    m.add("Contact", "<" + account_.contact_uri() + ">");
    m.add("Expires", std::to_string(expires.count()));
    m.add("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, MESSAGE");
    m.add("User-Agent", "passerelle");
    requested_ = expires;
    fresh_credentials_ = false;
    if (with_cached_auth && challenge_) add_credentials(m, account_, *challenge_, ++nc_);
    return m;
}

std::optional<Message> Registration::start(time_point) {
    if (!account_.registrar) return std::nullopt;
    state_ = RegState::registering;
    reason_ = "starting";
    next_action_.reset();
    return build(expires_, true);
}

std::optional<Message> Registration::fail(std::string reason, bool auth, time_point now) {
    state_ = RegState::failed;
    reason_ = std::move(reason);
    auth_failed_ = auth;
    next_action_ = now + backoff_;
    backoff_ = std::min(backoff_ * 2, std::chrono::seconds(kMaxBackoff));
    challenge_.reset();  // the next attempt starts afresh
    return std::nullopt;
}

std::optional<Message> Registration::on_response(const Message& r, time_point now) {
    if (r.request || r.cseq_number() != cseq_ || !iequals(r.cseq_method(), "REGISTER") || r.value("Call-ID") != call_id_)
        return std::nullopt;  // not the answer to our last REGISTER
    if (state_ != RegState::registering && state_ != RegState::deregistering) return std::nullopt;
    if (r.status < 200) return std::nullopt;
    const bool dereg = state_ == RegState::deregistering;
    if (r.status == 401 || r.status == 407) {
        // A new challenge in answer to credentials computed from the challenge we
        // had just received means the password is wrong -- unless the server says
        // the nonce was stale.
        if (fresh_credentials_ && !challenge_is_stale(r)) {
            if (dereg) {
                state_ = RegState::inactive;
                return std::nullopt;
            }
            return fail("credentials rejected (" + std::to_string(r.status) + ")", true, now);
        }
        challenge_ = r;
        nc_ = 0;
        Message m = build(requested_, true);
        if (!m.get(r.status == 407 ? "Proxy-Authorization" : "Authorization")) {
            challenge_.reset();
            return fail("no usable digest challenge", true, now);
        }
        fresh_credentials_ = true;
        return m;
    }
    if (dereg) {
        state_ = RegState::inactive;
        reason_ = "unregistered";
        next_action_.reset();
        return std::nullopt;
    }
    if (r.status == 423) {
        auto min = to_long(r.value("Min-Expires"));
        if (!min || *min <= requested_.count() || *min > 86400) return fail("423 without a usable Min-Expires", false, now);
        expires_ = std::chrono::seconds(*min);
        return build(expires_, true);
    }
    if (r.status == 403) return fail("403 " + r.reason, true, now);
    if (r.status >= 300) return fail(std::to_string(r.status) + " " + r.reason, false, now);

    // 200: the granted expiry is our Contact's expires param, else Expires.
    std::optional<long> granted;
    for (const auto& c : r.get_all("Contact")) {
        auto na = parse_name_addr(c);
        if (!na || na->uri.user != account_.user || na->uri.host != account_.local_ip ||
            na->uri.port_or_default() != account_.local_port)
            continue;
        if (auto e = na->param("expires")) granted = to_long(*e);
    }
    if (!granted) granted = to_long(r.value("Expires"));
    granted_ = granted ? std::chrono::seconds(*granted) : requested_;
    if (granted_.count() <= 0) granted_ = requested_;
    state_ = RegState::registered;
    reason_ = "registered for " + std::to_string(granted_.count()) + " s";
    auth_failed_ = false;
    backoff_ = kFirstBackoff;
    auto refresh = std::chrono::milliseconds(granted_) * 8 / 10;
    if (refresh < std::chrono::seconds(1)) refresh = std::chrono::seconds(1);
    next_action_ = now + refresh;
    return std::nullopt;
}

std::optional<Message> Registration::on_timeout(time_point now) {
    if (state_ == RegState::deregistering) {
        state_ = RegState::inactive;
        return std::nullopt;
    }
    if (state_ != RegState::registering) return std::nullopt;
    return fail("no answer from the registrar", false, now);
}

std::optional<Message> Registration::on_time(time_point now) {
    if (!next_action_ || now < *next_action_) return std::nullopt;
    next_action_.reset();
    if (state_ == RegState::registered || state_ == RegState::failed) {
        state_ = RegState::registering;
        reason_ = "refresh";
        return build(expires_, true);
    }
    return std::nullopt;
}

std::optional<Message> Registration::stop() {
    next_action_.reset();
    if (state_ == RegState::registered || state_ == RegState::registering) {
        state_ = RegState::deregistering;
        reason_ = "stopping";
        return build(std::chrono::seconds(0), true);
    }
    state_ = RegState::inactive;
    return std::nullopt;
}

} // namespace sip
