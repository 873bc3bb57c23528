#include "api/api_routes.hpp"

#include "api/query_string.hpp"

#include <vector>

namespace passerelle::kernel::api {

static std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> parts;
    if (path.empty() || path.front() != '/') return parts;
    path.remove_prefix(1);
    while (true) {
        auto slash = path.find('/');
        parts.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
    return parts;
}

Route match_route(std::string_view method, std::string_view path) {
    Route r;
    auto get_only = [&](Endpoint e) {
        r.endpoint = e;
        r.allow = "GET";
        r.method_allowed = method == "GET";
        return r;
    };
    if (path == "/healthz") return get_only(Endpoint::healthz);
    if (path == "/metrics") return get_only(Endpoint::metrics);
    if (path == "/api/v1/instances") return get_only(Endpoint::instances);
    if (path == "/api/v1/events") return get_only(Endpoint::events);

    // /api/v1/instances/{name}/actions/{action}
    auto parts = split_path(path);
    if (parts.size() == 6 && parts[0] == "api" && parts[1] == "v1" && parts[2] == "instances" &&
        parts[4] == "actions" && !parts[3].empty() && !parts[5].empty()) {
        r.endpoint = Endpoint::action;
        r.allow = "GET, POST";
        r.method_allowed = method == "GET" || method == "POST";
        r.instance = percent_decode(parts[3], false);
        r.action = percent_decode(parts[5], false);
        return r;
    }
    return r;
}

} // namespace passerelle::kernel::api
