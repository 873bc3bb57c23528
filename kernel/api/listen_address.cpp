#include "api/listen_address.hpp"

#include <charconv>
#include <stdexcept>

namespace passerelle::kernel::api {

ListenAddress parse_listen_address(std::string_view text) {
    auto fail = [&](const char* why) {
        return std::runtime_error("invalid API listen address '" + std::string(text) + "': " + why +
                                  " (expected HOST:PORT, e.g. 127.0.0.1:8640 or [::1]:8640)");
    };
    ListenAddress out;
    std::string_view port;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos) throw fail("unclosed '['");
        out.host = std::string(text.substr(1, close - 1));
        if (close + 1 >= text.size() || text[close + 1] != ':') throw fail("missing ':PORT'");
        port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) throw fail("missing ':PORT'");
        if (text.substr(0, colon).find(':') != std::string_view::npos) throw fail("IPv6 addresses go in brackets");
        out.host = std::string(text.substr(0, colon));
        port = text.substr(colon + 1);
    }
    if (out.host.empty()) throw fail("missing host");
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535)
        throw fail("the port must be a number from 0 to 65535");
    out.port = static_cast<uint16_t>(value);
    return out;
}

std::string format_endpoint(std::string_view host, uint16_t port) {
    // Appends rather than `"[" + std::string(host)`: GCC 12 -Wrestrict false positive.
    bool v6 = host.find(':') != std::string_view::npos;
    std::string out;
    if (v6) out.push_back('[');
    out.append(host);
    if (v6) out.push_back(']');
    out.push_back(':');
    out.append(std::to_string(port));
    return out;
}

} // namespace passerelle::kernel::api
