// What one HTTP exchange means for the delivery of one event, decided once for
// every HTTP sink (webhook, Jeedom, eeDomus...): the outbox's four answers.
//
//   2xx                                          -> ok
//   transport error, timeout, 408, 429, 5xx      -> retry (after the peer's Retry-After when it gave one)
//   401, 403, credentials refused (auth_failed)  -> pause: health auth_failed, the kernel retries slowly
//   certificate not trusted (tls_verify)         -> pause
//   redirect refused                             -> pause
//   other 4xx, an unusable URL (invalid_request) -> give_up this event, counted
//   too_large                                    -> by the status when one arrived, else give_up
//
// Why pause for a certificate or a redirect: the same answer will come for
// every event until the operator changes the config (ca_file, verify_tls, the
// final URL), so the sink must stop and say so (auth_failed) while the outbox
// keeps the events; retrying would hammer, giving up would drop every event.
//
// Why too_large follows the status: the cap applies to the answer, so the
// request itself was sent and read. A 2xx means the peer took the event (ok:
// sending it again would duplicate it); an error status is classified as such.
// Without a status (a head over the cap) the answer is unreadable and would be
// the same next time: give up this event rather than block the ordered outbox
// behind it. A sink that needs the body (JSON-RPC) checks Response::ok() too.
//
// Status codes that are neither success nor a clear refusal (a final 1xx, a
// 3xx without Location reaching here, 6xx) are retried.
//
// Link passerelle::http. classify() is pure; answer() is the one-liner that
// turns a verdict into the module's Reply.
#pragma once

#include <passerelle/http/types.hpp>
#include <passerelle/module.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace passerelle::http {

struct Verdict {
    enum Kind { ok, retry, pause, give_up };

    Kind kind = ok;
    // One line, safe to log: no URL query, no credential (a secret sent in
    // the URL is the caller's to mask: see secret_mask.hpp).
    std::string message;
    int64_t retry_after_ms = 0; // retry: > 0 when the peer said when (Retry-After)

    bool is(Kind k) const { return kind == k; }
};

// "ok", "retry", "pause", "give_up" (stable: logs and metric labels).
const char* to_string(Verdict::Kind kind);

// The verdict of a response (any response: ok() ones give Verdict::ok).
// `peer` names the other side at the start of the message ("Jeedom: HTTP 503
// Service Unavailable"); empty for none.
Verdict classify(const Response& response, std::string_view peer = {});

// ok -> reply.ok(ok_json); retry -> reply.retry(message, retry_after_ms);
// pause -> fail(PL_ERR_AUTH); give_up -> fail(PL_ERR_PERMANENT).
inline void answer(const Reply& reply, const Verdict& v, const nlohmann::json& ok_json = nlohmann::json::object()) {
    switch (v.kind) {
    case Verdict::ok: return reply.ok(ok_json.is_object() ? ok_json : nlohmann::json::object());
    case Verdict::retry: return reply.retry(v.message, v.retry_after_ms);
    case Verdict::pause: return reply.fail(PL_ERR_AUTH, v.message);
    case Verdict::give_up: return reply.fail(PL_ERR_PERMANENT, v.message);
    }
}

} // namespace passerelle::http
