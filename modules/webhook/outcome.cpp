#include "outcome.hpp"

namespace webhook {

using passerelle::http::ErrorKind;

const char* to_string(Verdict v) {
    switch (v) {
    case Verdict::ok: return "ok";
    case Verdict::retry: return "retry";
    case Verdict::give_up: return "give_up";
    case Verdict::pause: return "pause";
    }
    return "?";
}

namespace {

Outcome by_status(const passerelle::http::Response& r) {
    const int s = r.status;
    const std::string what = passerelle::http::describe(r);
    if (s >= 200 && s < 300) return {Verdict::ok, what, 0};
    if (s == 408 || s == 429 || (s >= 500 && s <= 599)) {
        int64_t after = r.retry_after ? r.retry_after->count() : 0;
        return {Verdict::retry, what, after};
    }
    if (s == 401 || s == 403)
        return {Verdict::pause, what + ": check auth, user, password or token", 0};
    if (s >= 400 && s < 500) return {Verdict::give_up, what + ": the endpoint refused this event", 0};
    // 1xx as a final answer, 3xx without Location, 6xx...: not a clear refusal.
    return {Verdict::retry, what, 0};
}

} // namespace

Outcome classify(const passerelle::http::Response& r) {
    switch (r.error) {
    case ErrorKind::none: return {Verdict::ok, passerelle::http::describe(r), 0};
    case ErrorKind::http_status: return by_status(r);
    case ErrorKind::auth_failed:
        return {Verdict::pause, passerelle::http::describe(r) + ": check user and password", 0};
    case ErrorKind::tls_verify:
        return {Verdict::pause, passerelle::http::describe(r) + " (set ca_file to the endpoint's certificate)", 0};
    case ErrorKind::redirect_refused:
        return {Verdict::pause, passerelle::http::describe(r) + " (write the final URL in url)", 0};
    case ErrorKind::too_large:
        // The endpoint answered with more than we read: its status still tells.
        if (r.status >= 200 && r.status < 300) return {Verdict::ok, "HTTP " + std::to_string(r.status), 0};
        if (r.status) return by_status(r);
        return {Verdict::retry, passerelle::http::describe(r), 0};
    case ErrorKind::invalid_request:
        return {Verdict::give_up, passerelle::http::describe(r), 0};
    case ErrorKind::timeout:
    case ErrorKind::transport:
        return {Verdict::retry, passerelle::http::describe(r), 0};
    }
    return {Verdict::retry, passerelle::http::describe(r), 0};
}

} // namespace webhook
