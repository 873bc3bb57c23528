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

// "ok", "retry", "pause", "give_up" or "stale" (tests, logs).
inline const char* to_string(const Verdict& v) { return v.stale ? "stale" : http::to_string(v.kind); }

} // namespace passerelle::jeedom
