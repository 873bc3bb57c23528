// Which endpoint a method + path names. Pure: no I/O, no auth.
#pragma once

#include <string>
#include <string_view>

namespace passerelle::kernel::api {

enum class Endpoint { healthz, metrics, instances, events, action, not_found };

struct Route {
    Endpoint endpoint = Endpoint::not_found;
    bool method_allowed = false;
    std::string allow;    // the Allow header for a 405, e.g. "GET, POST"
    std::string instance; // action only, percent-decoded
    std::string action;   // action only, percent-decoded
};

// `path` is the target without its query. Methods are case-sensitive (RFC 9110).
Route match_route(std::string_view method, std::string_view path);

} // namespace passerelle::kernel::api
