// What one answer from Jeedom means for the event being delivered: the SDK's
// HTTP verdict (ok / retry / pause / give_up, passerelle/http/verdict.hpp)
// plus what only Jeedom's JSON-RPC says: `stale` (602 unknown equipment,
// 701/702 unknown command) is a give_up that re-resolving a cached auto-mode
// mapping may cure, so the module tries that once before giving up.
#pragma once

#include <passerelle/http/verdict.hpp>

#include <cstdint>
#include <string>

namespace passerelle::jeedom {

struct Verdict : http::Verdict {
    bool stale = false; // give_up because Jeedom no longer knows an id we used
    int64_t code = 0;   // Jeedom's error code when it gave one
};

inline Verdict verdict(http::Verdict::Kind kind, std::string message = {}) {
    Verdict v;
    v.kind = kind;
    v.message = std::move(message);
    return v;
}

inline Verdict stale_verdict(std::string message) {
    Verdict v = verdict(http::Verdict::give_up, std::move(message));
    v.stale = true;
    return v;
}

// The message of a PL_ERR_AUTH reply that must pause the sink at least `ms`: the
// kernel reads the same "retry_after_ms=N " prefix as on a retry (a Jeedom ban is
// longer than the kernel's first auth backoff). The rest stays readable: it is what
// the daemon logs and shows as the sink's last error.
inline std::string pause_at_least_message(int64_t ms, const std::string& message) {
    return "retry_after_ms=" + std::to_string(ms) + " " + message;
}

// "ok", "retry", "pause", "give_up" or "stale" (tests, logs).
inline const char* to_string(const Verdict& v) { return v.stale ? "stale" : http::to_string(v.kind); }

} // namespace passerelle::jeedom
