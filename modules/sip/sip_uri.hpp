// SIP URIs and name-addr values (From, To, Contact, Route), the pure part.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sip {

struct Uri {
    std::string scheme = "sip";   // sip, sips, tel
    std::string user;             // may be empty
    std::string host;             // IPv6 without brackets
    uint16_t port = 0;            // 0 = not given
    std::vector<std::pair<std::string, std::string>> params;  // ;lr, ;transport=udp (lower-case names)

    bool has_param(std::string_view name) const;
    std::string str() const;      // sip:user@host:port;params
    uint16_t port_or_default() const { return port ? port : 5060; }
};

// "sip:100@192.168.1.10:5060;transport=udp". Headers (?...) are dropped.
std::optional<Uri> parse_uri(std::string_view text);

struct NameAddr {
    std::string display;   // unquoted
    Uri uri;
    std::vector<std::pair<std::string, std::string>> params;  // after '>' (tag, expires...)
    std::optional<std::string> param(std::string_view name) const;
};

// '"Alice" <sip:a@h>;tag=x', '<sip:a@h>', 'sip:a@h;tag=x' (params then belong to the header).
std::optional<NameAddr> parse_name_addr(std::string_view text);

} // namespace sip
