#include <passerelle/http/verdict.hpp>

namespace passerelle::http {

const char* to_string(Verdict::Kind kind) {
    switch (kind) {
    case Verdict::ok: return "ok";
    case Verdict::retry: return "retry";
    case Verdict::pause: return "pause";
    case Verdict::give_up: return "give_up";
    }
    return "?";
}

namespace {

Verdict make(Verdict::Kind kind, std::string_view peer, const Response& r, std::string_view advice = {}) {
    Verdict v;
    v.kind = kind;
    if (!peer.empty()) {
        v.message.append(peer);
        v.message += ": ";
    }
    v.message += describe(r);
    v.message += advice;
    return v;
}

Verdict by_status(const Response& r, std::string_view peer) {
    const int s = r.status;
    if (s >= 200 && s < 300) return make(Verdict::ok, peer, r);
    if (s == 408 || s == 429 || (s >= 500 && s <= 599)) {
        Verdict v = make(Verdict::retry, peer, r);
        if (r.retry_after) v.retry_after_ms = r.retry_after->count();
        return v;
    }
    if (s == 401 || s == 403) return make(Verdict::pause, peer, r, " (check the credentials: user, password, key or token)");
    if (s >= 400 && s <= 499) return make(Verdict::give_up, peer, r, " (refused this request)");
    return make(Verdict::retry, peer, r);
}

} // namespace

Verdict classify(const Response& r, std::string_view peer) {
    switch (r.error) {
    case ErrorKind::none: return make(Verdict::ok, peer, r);
    case ErrorKind::http_status: return by_status(r, peer);
    case ErrorKind::auth_failed: return make(Verdict::pause, peer, r, " (check the credentials)");
    case ErrorKind::tls_verify:
        return make(Verdict::pause, peer, r, " (set ca_file to the peer's certificate, or fix its host name)");
    case ErrorKind::redirect_refused: return make(Verdict::pause, peer, r, " (write the final URL in the config)");
    case ErrorKind::too_large:
        if (r.status) return by_status(r, peer);
        return make(Verdict::give_up, peer, r);
    case ErrorKind::invalid_request: return make(Verdict::give_up, peer, r);
    case ErrorKind::timeout:
    case ErrorKind::transport: return make(Verdict::retry, peer, r);
    }
    return make(Verdict::retry, peer, r);
}

} // namespace passerelle::http
