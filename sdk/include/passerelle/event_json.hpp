// Event <-> JSON with the field names every sink and the API share:
// id, time, received, source, module, type, code, channel, state, attrs, attachment.
// Writing is hand-rolled (it is on the hot path of the file log and the API);
// reading uses nlohmann::json and lives in event_json_read.hpp.
#pragma once

#include <passerelle/event.hpp>

#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>

namespace passerelle {

inline void append_json_string(std::string& out, std::string_view s) {
    static const char* hex = "0123456789abcdef";
    out.push_back('"');
    for (unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) {
                out += "\\u00";
                out.push_back(hex[c >> 4]);
                out.push_back(hex[c & 15]);
            } else {
                out.push_back(static_cast<char>(c));
            }
        }
    }
    out.push_back('"');
}

// RFC 3339 UTC with millisecond precision, e.g. 2026-11-23T08:21:35.123Z.
inline std::string format_rfc3339(int64_t ns) {
    int64_t secs = ns / 1000000000;
    int64_t rem = ns % 1000000000;
    if (rem < 0) { rem += 1000000000; --secs; }
    std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(rem / 1000000));
    return buf;
}

// One event as a compact JSON object (no trailing newline). The attachment
// appears only when the event has been given a path (bytes never go in JSON).
inline void append_event_json(std::string& out, const Event& e) {
    out += "{\"id\":";
    out += std::to_string(e.id);
    out += ",\"time\":\"";
    out += format_rfc3339(e.time_ns);
    out += "\",\"received\":\"";
    out += format_rfc3339(e.received_ns);
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
