#include "event_text.hpp"

#include <cctype>

namespace passerelle::dahua {

namespace {

std::string_view trim(std::string_view s) {
    auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && ws(s.front())) s.remove_prefix(1);
    while (!s.empty() && ws(s.back())) s.remove_suffix(1);
    return s;
}

// ASCII only, no locale: field names are ASCII, and std::tolower is a libc
// call per character on the per-event path.
constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}

std::optional<long> parse_index(std::string_view v) {
    v = trim(v);
    if (v.empty() || v.size() > 9) return std::nullopt;
    long n = 0;
    for (char c : v) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + (c - '0');
    }
    return n;
}

} // namespace

std::optional<EventText> parse_event_text(std::string_view text) {
    text = trim(text);
    EventText ev;
    bool has_code = false;
    while (!text.empty()) {
        // The first '=' or ';', in one scan (two finds would each run through the data JSON).
        std::size_t eq = 0;
        while (eq < text.size() && text[eq] != '=' && text[eq] != ';') ++eq;
        if (eq == text.size()) break; // neither: nothing left to read
        if (text[eq] == ';') {
            // A field without '=': ignore it up to the ';'.
            text.remove_prefix(eq + 1);
            continue;
        }
        std::string_view key = trim(text.substr(0, eq));
        text.remove_prefix(eq + 1);
        if (iequals(key, "data")) {
            ev.data = std::string(trim(text));
            break;
        }
        // Plain fields end at ';' or at a line end.
        std::size_t end = 0;
        while (end < text.size() && text[end] != ';' && text[end] != '\r' && text[end] != '\n') ++end;
        if (end == text.size()) end = std::string_view::npos;
        std::string_view value = trim(text.substr(0, end));
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        if (iequals(key, "Code")) {
            ev.code = std::string(value);
            has_code = !value.empty();
        } else if (iequals(key, "action")) {
            ev.action = std::string(value);
        } else if (iequals(key, "index")) {
            ev.index = parse_index(value);
        } else if (!key.empty()) {
            ev.extra.emplace_back(std::string(key), std::string(value));
        }
    }
    if (!has_code) return std::nullopt;
    return ev;
}

std::size_t next_event_start(std::string_view body, std::size_t from) {
    for (std::size_t nl = body.find('\n', from); nl != std::string_view::npos; nl = body.find('\n', nl + 1))
        if (body.substr(nl + 1, 5) == "Code=") return nl + 1;
    return std::string_view::npos;
}

std::vector<EventText> parse_event_texts(std::string_view body) {
    std::vector<EventText> out;
    for_each_event_text(body, [&](EventText&& ev) { out.push_back(std::move(ev)); });
    return out;
}

} // namespace passerelle::dahua
