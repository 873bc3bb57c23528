// What one HTTP exchange means for the delivery of one event: the webhook's
// error classes, pure so they are tested without a socket.
//
//   2xx                                   -> ok
//   408, 429, 5xx, transport, timeout     -> retry (with the peer's Retry-After when it gave one)
//   401, 403, credentials refused         -> pause the sink (PL_ERR_AUTH: health auth_failed, slow retries)
//   certificate not trusted, redirect     -> pause too: a configuration problem every event would hit
//   other 4xx, an unusable URL            -> give up on this event (PL_ERR_PERMANENT), counted
#pragma once

#include <passerelle/http/types.hpp>

#include <cstdint>
#include <string>

namespace webhook {

enum class Verdict { ok, retry, give_up, pause };

struct Outcome {
    Verdict verdict = Verdict::ok;
    std::string message;         // one line, safe to log: no URL query, no credential
    int64_t retry_after_ms = 0;  // > 0 when the peer said when (Retry-After)
};

Outcome classify(const passerelle::http::Response& response);

const char* to_string(Verdict v);

} // namespace webhook
