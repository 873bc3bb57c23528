// One AMI packet: the banner line, a Response, an Event, or a parse error the
// parser reports in-band so the session can log it and go on. Fields keep
// their order and every repeated key (ChanVariable, Output, Variable...).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace passerelle::asterisk {

// ASCII case-insensitive equality: AMI keys are case-insensitive
// (UniqueID on 11, Uniqueid from 12; Accountcode vs AccountCode).
inline bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

// An action to send: key/value lines in order (keys may repeat: Variable).
using Fields = std::vector<std::pair<std::string, std::string>>;

struct AmiPacket {
    enum class Kind { banner, response, event, other, error };
    Kind kind = Kind::other;
    std::vector<std::pair<std::string, std::string>> fields;
    std::string text; // banner line, or the error text for Kind::error

    // First value of `key` (case-insensitive), empty when absent.
    std::string_view get(std::string_view key) const {
        for (const auto& [k, v] : fields)
            if (iequals(k, key)) return v;
        return {};
    }
    bool has(std::string_view key) const {
        for (const auto& [k, v] : fields)
            if (iequals(k, key)) return true;
        return false;
    }
    // Every value of `key`, in order.
    std::vector<std::string_view> all(std::string_view key) const {
        std::vector<std::string_view> out;
        for (const auto& [k, v] : fields)
            if (iequals(k, key)) out.push_back(v);
        return out;
    }
    std::string_view event() const { return kind == Kind::event ? get("Event") : std::string_view{}; }
    std::string_view response() const { return kind == Kind::response ? get("Response") : std::string_view{}; }
    std::string_view action_id() const { return get("ActionID"); }
    bool is_event(std::string_view name) const { return kind == Kind::event && iequals(get("Event"), name); }
};

// "<unknown>", "<null>" and "" all mean "no value" in AMI.
inline std::string_view ami_value(std::string_view v) {
    if (v == "<unknown>" || v == "<null>" || v == "<none>") return {};
    return v;
}

} // namespace passerelle::asterisk
