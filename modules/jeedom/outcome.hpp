// What one answer from a home-automation box means for the event being
// delivered. The module turns it into a Reply: ok, fail(PL_ERR_AUTH),
// fail(PL_ERR_PERMANENT), retry. Shared by the Jeedom and eeDomus parsers.
#pragma once

#include <cstdint>
#include <string>

namespace passerelle::homeauto {

enum class Outcome {
    ok,        // done
    auth,      // key refused, banned: pause the sink (PL_ERR_AUTH)
    stale,     // unknown equipment or command: a cached mapping is out of date
    permanent, // this request will never succeed (PL_ERR_PERMANENT)
    retry,     // transport, timeout, 5xx: the outbox tries again
};

const char* to_string(Outcome o);

struct Verdict {
    Outcome outcome = Outcome::ok;
    std::string message;        // one line for a human; never holds a secret the caller masked
    int64_t code = 0;           // the box's error code when it gave one
    int64_t retry_after_ms = 0; // retry: the box said when (Retry-After)
};

} // namespace passerelle::homeauto
