// The webhook's settings (read once from the instance config) and the HTTP
// request they make for one event and one route's params. Pure: no I/O.
#pragma once

#include "event_template.hpp"

#include <passerelle/http/types.hpp>
#include <passerelle/module.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace webhook {

enum class Auth { none, basic, bearer, digest };

struct Settings {
    EventTemplate url;
    std::string method = "POST";
    passerelle::http::Headers headers;  // from the `headers` table
    Auth auth = Auth::none;
    std::string user;
    std::string password;               // secret
    std::string token;                  // secret
    std::optional<EventTemplate> body;  // none = the event as JSON
    std::string content_type = "application/json";
    std::chrono::milliseconds timeout{10'000};
    bool verify_tls = true;
    std::string ca_file;
};

// Reads and checks the instance config; throws passerelle::ConfigError at the key at fault.
Settings read_settings(const passerelle::Fields& config);

// A delivery the endpoint can never take (a route's url that does not parse).
struct RequestError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The request for one event. A route's params `url`, `body` and `method`
// (already rendered by the kernel) replace the instance's. Throws RequestError.
passerelle::http::Request build_request(const Settings& s, const passerelle::Event& e, const passerelle::Fields& params);

// "https://host:port" of a URL, or "(invalid url)": what logs and replies show,
// never the path or query (a Jeedom apikey often travels in the query).
std::string safe_origin(std::string_view url);

} // namespace webhook
