#include "http_verdict.hpp"

namespace passerelle::homeauto {

const char* to_string(Outcome o) {
    switch (o) {
    case Outcome::ok: return "ok";
    case Outcome::auth: return "auth";
    case Outcome::stale: return "stale";
    case Outcome::permanent: return "permanent";
    case Outcome::retry: return "retry";
    }
    return "?";
}

Verdict classify_http_failure(const http::Response& r, std::string_view box) {
    using http::ErrorKind;
    Verdict v;
    v.message = std::string(box) + ": " + http::describe(r);
    switch (r.error) {
    case ErrorKind::none: v.outcome = Outcome::ok; return v;
    case ErrorKind::timeout:
    case ErrorKind::transport: v.outcome = Outcome::retry; return v;
    case ErrorKind::auth_failed: v.outcome = Outcome::auth; return v;
    case ErrorKind::tls_verify:
        v.outcome = Outcome::auth; // the operator must fix ca_file or verify_tls: retrying fast is pointless
        v.message += " (set ca_file to the box's certificate)";
        return v;
    case ErrorKind::too_large:
    case ErrorKind::invalid_request:
    case ErrorKind::redirect_refused: v.outcome = Outcome::permanent; return v;
    case ErrorKind::http_status: break;
    }
    if (r.status >= 500 || r.status == 429 || r.status == 408) {
        v.outcome = Outcome::retry;
        if (r.retry_after) v.retry_after_ms = r.retry_after->count();
    } else if (r.status == 401 || r.status == 403) {
        v.outcome = Outcome::auth;
    } else {
        v.outcome = Outcome::permanent;
    }
    return v;
}

} // namespace passerelle::homeauto
