// Event <-> JSON with the field names every sink and the API share:
// id, time, received, source, module, type, code, channel, state, attrs, attachment.
// Writing is hand-rolled (it is on the hot path of the file log and the API);
// reading uses nlohmann::json and lives in event_json_read.hpp.
#pragma once

#include <passerelle/civil_time.hpp>
#include <passerelle/event.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace passerelle {

// Appends s as a JSON string, quotes included. Runs of characters that need no
// escape are copied in one append: this is on every sink's hot path.
inline void append_json_string(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out.push_back('"');
    const char* run = s.data();
    const char* const end = run + s.size();
    for (const char* p = run; p != end;) {
        const auto c = static_cast<unsigned char>(*p++);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(run, static_cast<size_t>(p - 1 - run));
        run = p;
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default: {
            const char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            out.append(u, sizeof u);
        }
        }
    }
    out.append(run, static_cast<size_t>(end - run));
    out.push_back('"');
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

// One event as a compact JSON object (no trailing newline). The attachment
// appears only when the event has been given a path (bytes never go in JSON).
inline void append_event_json(std::string& out, const Event& e) {
    out += "{\"id\":";
    out += std::to_string(e.id);
    out += ",\"time\":\"";
    append_rfc3339(out, e.time_ns);
    out += "\",\"received\":\"";
    append_rfc3339(out, e.received_ns);
    out += "\",\"source\":";
    append_json_string(out, e.source);
    out += ",\"module\":";
    append_json_string(out, e.module);
    out += ",\"type\":";
    append_json_string(out, e.type);
    out += ",\"code\":";
    append_json_string(out, e.code);
    out += ",\"channel\":";
    out += std::to_string(e.channel);
    out += ",\"state\":\"";
    out += to_string(e.state);
    out += "\",\"attrs\":{";
    bool first = true;
    for (const auto& [k, v] : e.attrs) {
        if (!first) out.push_back(',');
        first = false;
        append_json_string(out, k);
        out.push_back(':');
        append_json_string(out, v);
    }
    out.push_back('}');
    if (!e.attachment_path.empty()) {
        out += ",\"attachment\":{\"mime\":";
        append_json_string(out, e.attachment_mime);
        out += ",\"path\":";
        append_json_string(out, e.attachment_path);
        out.push_back('}');
    }
    out.push_back('}');
}

inline std::string event_to_json(const Event& e) {
    std::string out;
    out.reserve(256);
    append_event_json(out, e);
    return out;
}

} // namespace passerelle
