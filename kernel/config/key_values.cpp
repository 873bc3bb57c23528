#include "config/key_values.hpp"

#include <passerelle/duration.hpp>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

namespace passerelle::kernel {

namespace {
std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

// Splits on `seps`, trims, drops empty parts.
template <class F>
void for_each_part(std::string_view s, std::string_view seps, F&& f) {
    while (true) {
        size_t cut = s.find_first_of(seps);
        std::string_view part = trim(s.substr(0, cut));
        if (!part.empty()) f(part);
        if (cut == std::string_view::npos) break;
        s.remove_prefix(cut + 1);
    }
}
} // namespace

std::optional<nlohmann::json> key_value_from_text(int32_t type, std::string_view text) {
    switch (type) {
    case PL_KEY_STRING:
    case PL_KEY_PATH: return nlohmann::json(std::string(text));
    case PL_KEY_INT: {
        std::string_view t = trim(text);
        if (!t.empty() && t.front() == '+') t.remove_prefix(1);
        int64_t v = 0;
        auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
        if (t.empty() || ec != std::errc() || end != t.data() + t.size()) return std::nullopt;
        return nlohmann::json(v);
    }
    case PL_KEY_BOOL: {
        std::string_view t = trim(text);
        if (t == "true" || t == "yes" || t == "on" || t == "1") return nlohmann::json(true);
        if (t == "false" || t == "no" || t == "off" || t == "0") return nlohmann::json(false);
        return std::nullopt;
    }
    case PL_KEY_FLOAT: {
        std::string t(trim(text));
        if (t.empty()) return std::nullopt;
        char* end = nullptr;
        double v = std::strtod(t.c_str(), &end);
        if (end != t.c_str() + t.size() || !std::isfinite(v)) return std::nullopt;
        return nlohmann::json(v);
    }
    case PL_KEY_DURATION:
        if (auto ms = parse_duration_ms(text)) return nlohmann::json(*ms);
        return std::nullopt;
    case PL_KEY_SIZE:
        if (auto b = parse_size_bytes(text)) return nlohmann::json(*b);
        return std::nullopt;
    case PL_KEY_STRING_LIST: {
        auto list = nlohmann::json::array();
        for_each_part(text, ",\n", [&](std::string_view p) { list.push_back(std::string(p)); });
        return list;
    }
    case PL_KEY_TABLE: {
        auto table = nlohmann::json::object();
        bool ok = true;
        for_each_part(text, ",\n", [&](std::string_view p) {
            size_t eq = p.find('=');
            if (eq == std::string_view::npos || trim(p.substr(0, eq)).empty()) {
                ok = false;
                return;
            }
            table[std::string(trim(p.substr(0, eq)))] = std::string(trim(p.substr(eq + 1)));
        });
        if (!ok) return std::nullopt;
        return table;
    }
    default: return std::nullopt;
    }
}

const char* key_type_expectation(int32_t type) {
    switch (type) {
    case PL_KEY_STRING: return "a string";
    case PL_KEY_PATH: return "a path (a string)";
    case PL_KEY_INT: return "an integer";
    case PL_KEY_BOOL: return "true or false";
    case PL_KEY_FLOAT: return "a number";
    case PL_KEY_DURATION: return "a duration such as \"5s\"";
    case PL_KEY_SIZE: return "a size such as \"10MiB\" or 1048576";
    case PL_KEY_STRING_LIST: return "a list of strings such as [\"a\", \"b\"]";
    case PL_KEY_TABLE: return "a table of strings such as { a = \"x\" }";
    default: return "a value of an unknown type";
    }
}

} // namespace passerelle::kernel
