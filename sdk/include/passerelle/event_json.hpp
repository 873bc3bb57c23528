// Event <-> JSON with the field names every sink and the API share:
// id, time, received, source, module, type, code, channel, state, attrs, attachment.
// Writing is hand-rolled (it is on the hot path of the file log and the API);
// reading uses nlohmann::json and lives in event_json_read.hpp.
#pragma once

#include <passerelle/civil_time.hpp>
#include <passerelle/event.hpp>

#include <array>
#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace passerelle {

namespace detail {
// How many bytes escaping a byte adds: 1 for \" \\ \n \r \t, 5 for the other
// control characters (\u00XX), 0 for everything else (UTF-8 passes as is).
inline constexpr auto kJsonExtra = [] {
    std::array<uint8_t, 256> t{};
    for (int c = 0; c < 0x20; ++c) t[c] = 5;
    t['"'] = t['\\'] = t['\n'] = t['\r'] = t['\t'] = 1;
    return t;
}();
} // namespace detail

// Appends s as a JSON string, quotes included. On every sink's hot path: one
// pass counts what escaping adds, then the string is either appended whole or
// written escaped into space made once (no append per escaped run).
inline void append_json_string(std::string& out, std::string_view s) {
    size_t extra = 0;
    for (unsigned char c : s) extra += detail::kJsonExtra[c];
    const size_t at = out.size();
    if (extra == 0) {
        out.reserve(at + s.size() + 2);
        out.push_back('"');
        out.append(s);
        out.push_back('"');
        return;
    }
    static constexpr char hex[] = "0123456789abcdef";
    out.resize(at + s.size() + extra + 2);
    char* p = out.data() + at;
    *p++ = '"';
    for (unsigned char c : s) {
        if (detail::kJsonExtra[c] == 0) {
            *p++ = static_cast<char>(c);
            continue;
        }
        *p++ = '\\';
        switch (c) {
        case '"': *p++ = '"'; break;
        case '\\': *p++ = '\\'; break;
        case '\n': *p++ = 'n'; break;
        case '\r': *p++ = 'r'; break;
        case '\t': *p++ = 't'; break;
        default:
            *p++ = 'u';
            *p++ = '0';
            *p++ = '0';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        }
    }
    *p = '"';
}

namespace detail {

inline char* put_digits(char* p, int value, int width) {
    for (int i = width - 1; i >= 0; --i) {
        p[i] = static_cast<char>('0' + value % 10);
        value /= 10;
    }
    return p + width;
}

} // namespace detail

// Appends RFC 3339 UTC with millisecond precision, e.g. 2026-11-23T08:21:35.123Z.
// Arithmetic only (no gmtime_r, no snprintf): it runs for every event a sink writes.
// int64 nanoseconds span the years 1677 to 2262, so the year always has 4 digits.
inline void append_rfc3339(std::string& out, int64_t ns) {
    int64_t secs = ns / 1000000000;
    int64_t rem = ns % 1000000000;
    if (rem < 0) { rem += 1000000000; --secs; }
    const int64_t days = floor_div(secs, 86400);
    const int64_t sod = secs - days * 86400;
    const CivilDate date = civil_from_days(days);
    char buf[24];
    char* p = detail::put_digits(buf, static_cast<int>(date.year), 4);
    *p++ = '-';
    p = detail::put_digits(p, static_cast<int>(date.month), 2);
    *p++ = '-';
    p = detail::put_digits(p, static_cast<int>(date.day), 2);
    *p++ = 'T';
    p = detail::put_digits(p, static_cast<int>(sod / 3600), 2);
    *p++ = ':';
    p = detail::put_digits(p, static_cast<int>(sod / 60 % 60), 2);
    *p++ = ':';
    p = detail::put_digits(p, static_cast<int>(sod % 60), 2);
    *p++ = '.';
    p = detail::put_digits(p, static_cast<int>(rem / 1000000), 3);
    *p++ = 'Z';
    out.append(buf, static_cast<size_t>(p - buf));
}

inline std::string format_rfc3339(int64_t ns) {
    std::string out;
    append_rfc3339(out, ns);
    return out;
}

namespace detail {
template <size_t N>
void append_literal(std::string& out, const char (&text)[N]) {
    out.append(text, N - 1); // no strlen: this runs ~15 times per event written
}

inline void append_integer(std::string& out, std::integral auto value) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, static_cast<size_t>(end - buf));
}

// Bytes of a line besides its strings: names, punctuation, times, numbers.
inline constexpr size_t kJsonFrame = 192;

// The one writer behind both overloads below: for_each_attr(emit) calls
// emit(key, value) for each attribute, in order.
template <class ForEachAttr>
void append_event_json_parts(std::string& out, uint64_t id, int64_t time_ns, int64_t received_ns,
                             std::string_view source, std::string_view module, std::string_view type,
                             std::string_view code, int32_t channel, State state, ForEachAttr&& for_each_attr,
                             std::string_view attachment_mime, std::string_view attachment_path) {
    append_literal(out, "{\"id\":");
    append_integer(out, id);
    append_literal(out, ",\"time\":\"");
    append_rfc3339(out, time_ns);
    append_literal(out, "\",\"received\":\"");
    append_rfc3339(out, received_ns);
    append_literal(out, "\",\"source\":");
    append_json_string(out, source);
    append_literal(out, ",\"module\":");
    append_json_string(out, module);
    append_literal(out, ",\"type\":");
    append_json_string(out, type);
    append_literal(out, ",\"code\":");
    append_json_string(out, code);
    append_literal(out, ",\"channel\":");
    append_integer(out, channel);
    append_literal(out, ",\"state\":\"");
    out += to_string(state);
    append_literal(out, "\",\"attrs\":{");
    bool first = true;
    for_each_attr([&](std::string_view k, std::string_view v) {
        if (!first) out.push_back(',');
        first = false;
        append_json_string(out, k);
        out.push_back(':');
        append_json_string(out, v);
    });
    out.push_back('}');
    if (!attachment_path.empty()) {
        append_literal(out, ",\"attachment\":{\"mime\":");
        append_json_string(out, attachment_mime);
        append_literal(out, ",\"path\":");
        append_json_string(out, attachment_path);
        out.push_back('}');
    }
    out.push_back('}');
}
} // namespace detail

// One event as a compact JSON object (no trailing newline). The attachment
// appears only when the event has been given a path (bytes never go in JSON).
inline void append_event_json(std::string& out, const Event& e) {
    size_t text = e.source.size() + e.module.size() + e.type.size() + e.code.size() + e.attachment_path.size();
    for (const auto& [k, v] : e.attrs) text += k.size() + v.size() + 6;
    out.reserve(out.size() + detail::kJsonFrame + text + text / 8); // one allocation for the line, escapes included
    detail::append_event_json_parts(
        out, e.id, e.time_ns, e.received_ns, e.source, e.module, e.type, e.code, e.channel, e.state,
        [&](auto&& emit) {
            for (const auto& [k, v] : e.attrs) emit(k, v);
        },
        e.attachment_mime, e.attachment_path);
}

// The same line written straight from a host's event view, without copying
// it into an Event first (a sink's take_event_view). The line is the one
// from_pl(e) would give, so this declines (false, out untouched) when that
// copy would reorder the attributes: keys not strictly increasing.
inline bool append_event_json(std::string& out, const pl_event& e) {
    for (size_t i = 1; e.attrs && i < e.attrs_count; ++i)
        if (!(from_pl(e.attrs[i - 1].key) < from_pl(e.attrs[i].key))) return false;
    const bool has_attachment_fields = e.struct_size >= offsetof(pl_event, attachment_path) + sizeof(pl_str);
    size_t text = e.source.size + e.module.size + e.type.size + e.code.size +
                  (has_attachment_fields ? e.attachment_path.size : 0);
    for (size_t i = 0; e.attrs && i < e.attrs_count; ++i) text += e.attrs[i].key.size + e.attrs[i].value.size + 6;
    out.reserve(out.size() + detail::kJsonFrame + text + text / 8);
    const State state =
        (e.state == PL_STATE_START || e.state == PL_STATE_STOP) ? static_cast<State>(e.state) : State::pulse;
    detail::append_event_json_parts(
        out, e.id, e.time_ns, e.received_ns, from_pl(e.source), from_pl(e.module), from_pl(e.type), from_pl(e.code),
        e.channel, state,
        [&](auto&& emit) {
            for (size_t i = 0; e.attrs && i < e.attrs_count; ++i)
                emit(from_pl(e.attrs[i].key), from_pl(e.attrs[i].value));
        },
        has_attachment_fields ? from_pl(e.attachment_mime) : std::string_view(),
        has_attachment_fields ? from_pl(e.attachment_path) : std::string_view());
    return true;
}

inline std::string event_to_json(const Event& e) {
    std::string out;
    out.reserve(256);
    append_event_json(out, e);
    return out;
}

} // namespace passerelle
