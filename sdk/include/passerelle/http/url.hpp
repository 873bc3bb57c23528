// http:// and https:// URLs split into what a connection needs, and the
// percent-encoding of the values a module puts into one. Pure; modules use it
// to validate a `url` config key before any connection is tried.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace passerelle::http {

struct Url {
    bool tls = false;        // https
    std::string host;        // "cam.local", "192.168.1.64", "::1" (no brackets)
    uint16_t port = 0;       // explicit or 80/443
    std::string target;      // path + query, at least "/"; the fragment is dropped

    std::string scheme() const { return tls ? "https" : "http"; }
    // "host" or "host:port" when the port is not the scheme's default (Host header).
    std::string host_header() const;
    // "https://host:443": the connection pool and auth cache key.
    std::string origin() const;
};

// nullopt when the URL is not http(s)://host[:port][/target] (userinfo in the
// URL is refused: credentials go in Request::credentials, never in a URL).
std::optional<Url> parse_url(std::string_view text);

// Resolves a redirect Location against the URL it came from (absolute URL,
// "/absolute-path" or "//authority/path"); nullopt when unusable.
std::optional<Url> resolve_location(const Url& base, std::string_view location);

// RFC 3986 percent-encoding of everything but the unreserved characters
// (A-Z a-z 0-9 - _ . ~): safe for a query value or a path segment. UTF-8 stays
// UTF-8 (each byte encoded), a space is %20, never '+'.
std::string url_encode(std::string_view text);
void append_url_encoded(std::string& out, std::string_view text);

} // namespace passerelle::http
