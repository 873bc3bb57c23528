#include "caller_match.hpp"

#include "sip_message.hpp"
#include "sip_uri.hpp"

#include <cctype>

namespace sip {

std::string caller_number(std::string_view from, std::string_view pai) {
    if (!pai.empty()) {
        auto parts = split_commas(pai);
        if (!parts.empty())
            if (auto na = parse_name_addr(parts[0]); na && !na->uri.user.empty()) return na->uri.user;
    }
    if (auto na = parse_name_addr(from)) return na->uri.user;
    return {};
}

std::string normalize_number(std::string_view n) {
    std::string digits;
    for (char c : n)
        if (std::isdigit(static_cast<unsigned char>(c)) || c == '+') digits += c;
    if (digits.rfind("+33", 0) == 0) return "0" + digits.substr(3);
    if (digits.rfind("0033", 0) == 0) return "0" + digits.substr(4);
    return digits;
}

std::optional<std::string> match_caller(const std::map<std::string, std::string>& table, std::string_view number) {
    if (!number.empty()) {
        if (table.count(std::string(number))) return std::string(number);
        const std::string norm = normalize_number(number);
        if (!norm.empty())
            for (const auto& [k, v] : table)
                if (k != "*" && normalize_number(k) == norm) return k;
    }
    if (table.count("*")) return std::string("*");
    return std::nullopt;
}

} // namespace sip
