#include <passerelle/http/url.hpp>

#include <charconv>

namespace passerelle::http {

namespace {

bool iequals_prefix(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != prefix[i]) return false;
    }
    return true;
}

bool valid_host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_';
}

// Parses "host[:port]" or "[v6][:port]" into url; false when malformed.
bool parse_authority(std::string_view auth, Url& url) {
    if (auth.empty() || auth.find('@') != std::string_view::npos) return false;
    std::string_view host, port;
    if (auth.front() == '[') {
        size_t close = auth.find(']');
        if (close == std::string_view::npos) return false;
        host = auth.substr(1, close - 1);
        std::string_view rest = auth.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return false;
            port = rest.substr(1);
        }
        if (host.empty()) return false;
        for (char c : host)
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.'))
                return false;
    } else {
        size_t colon = auth.rfind(':');
        host = auth.substr(0, colon);
        if (colon != std::string_view::npos) port = auth.substr(colon + 1);
        if (host.empty()) return false;
        for (char c : host)
            if (!valid_host_char(c)) return false;
    }
    url.host = std::string(host);
    url.port = url.tls ? 443 : 80;
    if (!port.empty()) {
        unsigned value = 0;
        auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc() || ptr != port.data() + port.size() || value == 0 || value > 65535) return false;
        url.port = static_cast<uint16_t>(value);
    }
    return true;
}

std::string_view strip_fragment(std::string_view s) {
    size_t hash = s.find('#');
    return hash == std::string_view::npos ? s : s.substr(0, hash);
}

bool valid_target(std::string_view t) {
    for (char c : t)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false; // no spaces, CR/LF, controls
    return true;
}

} // namespace

std::string Url::host_header() const {
    std::string h = host.find(':') != std::string::npos ? std::string("[") + host + "]" : host;
    if (port != (tls ? 443 : 80)) {
        h += ':';
        h += std::to_string(port);
    }
    return h;
}

std::string Url::origin() const {
    std::string h = host.find(':') != std::string::npos ? std::string("[") + host + "]" : host;
    return scheme() + "://" + h + ":" + std::to_string(port);
}

std::optional<Url> parse_url(std::string_view text) {
    Url url;
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    if (iequals_prefix(text, "https://")) {
        url.tls = true;
        text.remove_prefix(8);
    } else if (iequals_prefix(text, "http://")) {
        text.remove_prefix(7);
    } else {
        return std::nullopt;
    }
    text = strip_fragment(text);
    size_t slash = text.find_first_of("/?");
    std::string_view auth = text.substr(0, slash);
    if (!parse_authority(auth, url)) return std::nullopt;
    std::string_view target = slash == std::string_view::npos ? std::string_view{} : text.substr(slash);
    if (!valid_target(target)) return std::nullopt;
    url.target = target.empty() ? "/" : (target.front() == '?' ? std::string("/").append(target) : std::string(target));
    return url;
}

std::optional<Url> resolve_location(const Url& base, std::string_view location) {
    while (!location.empty() && location.front() == ' ') location.remove_prefix(1);
    if (location.empty()) return std::nullopt;
    if (iequals_prefix(location, "http://") || iequals_prefix(location, "https://")) return parse_url(location);
    if (location.substr(0, 2) == "//") return parse_url(base.scheme() + ":" + std::string(location));
    location = strip_fragment(location);
    if (!valid_target(location)) return std::nullopt;
    Url out = base;
    if (location.front() == '/') {
        out.target = std::string(location);
    } else {
        // Relative path: replace the last segment of the base path.
        std::string path = base.target.substr(0, base.target.find('?'));
        path = path.substr(0, path.rfind('/') + 1);
        out.target = path + std::string(location);
    }
    return out;
}

} // namespace passerelle::http
