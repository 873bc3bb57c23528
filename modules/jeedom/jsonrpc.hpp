// Jeedom's JSON-RPC 2.0 API (POST /core/api/jeeApi.php): request bodies and
// the classification of replies. Jeedom always answers HTTP 200; errors carry
// a positive code and a French message, so replies are classified by code,
// never by message:
//   1 missing key / bad request, 2 wrong key      -> pause the sink (auth)
//   602 unknown equipment, 701/702 unknown command -> stale (re-resolve a mapping, then give up)
//   500 unknown method, -32000 uncoded, the rest   -> give up this event
// A body that is not a JSON-RPC reply (a PHP warning page, a proxy's HTML) is
// retried: it is the box's trouble, not the event's. Pure.
#pragma once

#include "verdict.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace passerelle::jeedom {

// {"jsonrpc":"2.0","id":id,"method":method,"params":{...params,"apikey":apikey}}
// (plus "plugin" when not empty). `params` must be an object (or null).
std::string build_request(uint64_t id, std::string_view method, const nlohmann::json& params,
                          std::string_view apikey, std::string_view plugin = {});

struct RpcReply {
    Verdict verdict;
    nlohmann::json result; // "result" on ok
};

// A 200 body. `method` names the call in messages.
RpcReply classify_reply(std::string_view body, std::string_view method);

// The verdict an error code means, without a message (exposed for tests and
// documentation).
Verdict verdict_of_code(int64_t code);

} // namespace passerelle::jeedom
