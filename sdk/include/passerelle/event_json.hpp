// Event <-> JSON with the field names every sink and the API share:
// id, time, received, source, module, type, code, channel, state, attrs, attachment.
// Writing is hand-rolled (it is on the hot path of the file log and the API);
// reading uses nlohmann::json and lives in event_json_read.hpp.
#pragma once

#include <passerelle/civil_time.hpp>
#include <passerelle/event.hpp>

#include <array>
#include <cassert>
#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
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

// True when none of 8 bytes needs escaping: no control byte, no quote, no
// backslash (SWAR tests from "Bit Twiddling Hacks": hasless / haszero). A
// false "needs escaping" would only send the word to the byte table below.
inline bool word_is_plain(uint64_t w) {
    constexpr uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    const auto has_zero_byte = [](uint64_t x) { return (x - ones) & ~x & highs; };
    const uint64_t control = (w - ones * 0x20) & ~w & highs;
    return (control | has_zero_byte(w ^ (ones * '"')) | has_zero_byte(w ^ (ones * '\\'))) == 0;
}

// How many bytes escaping s adds. Text rarely needs escaping, so clean
// 8-byte words are skipped whole; only a word that holds a byte to escape
// goes through the table.
inline size_t json_escape_extra(std::string_view s) {
    const char* d = s.data();
    const size_t n = s.size();
    size_t extra = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        std::memcpy(&w, d + i, 8);
        if (word_is_plain(w)) continue;
        for (size_t k = i; k < i + 8; ++k) extra += kJsonExtra[static_cast<unsigned char>(d[k])];
    }
    for (; i < n; ++i) extra += kJsonExtra[static_cast<unsigned char>(d[i])];
    return extra;
}

// Writes s as a JSON string, quotes included, at p (room made by the caller:
// s.size() + 2 + json_escape_extra(s)); returns the end. escape = false only
// when s is known to need none: it is then copied whole.
inline char* write_json_string(char* p, std::string_view s, bool escape) {
    *p++ = '"';
    if (!escape) {
        if (!s.empty()) std::memcpy(p, s.data(), s.size());
        p += s.size();
        *p++ = '"';
        return p;
    }
    static constexpr char hex[] = "0123456789abcdef";
    for (unsigned char c : s) {
        if (kJsonExtra[c] == 0) {
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
    *p++ = '"';
    return p;
}
} // namespace detail

// Appends s as a JSON string, quotes included. On every sink's hot path: one
// pass counts what escaping adds, then the string is written into space made
// once (copied whole when nothing needs escaping).
inline void append_json_string(std::string& out, std::string_view s) {
    const size_t extra = detail::json_escape_extra(s);
    const size_t at = out.size();
    out.resize(at + s.size() + 2 + extra);
    detail::write_json_string(out.data() + at, s, extra != 0);
}

namespace detail {

inline char* put_digits(char* p, int value, int width) {
    for (int i = width - 1; i >= 0; --i) {
        p[i] = static_cast<char>('0' + value % 10);
        value /= 10;
    }
    return p + width;
}

// Length of an RFC 3339 instant as written below.
inline constexpr size_t kRfc3339Size = 24;

// "YYYY-MM-DDTHH:MM:SS" of a second since the epoch, at p (19 bytes).
inline void write_rfc3339_second(char* p, int64_t secs) {
    const int64_t days = floor_div(secs, 86400);
    const int64_t sod = secs - days * 86400;
    const CivilDate date = civil_from_days(days);
    p = put_digits(p, static_cast<int>(date.year), 4);
    *p++ = '-';
    p = put_digits(p, static_cast<int>(date.month), 2);
    *p++ = '-';
    p = put_digits(p, static_cast<int>(date.day), 2);
    *p++ = 'T';
    p = put_digits(p, static_cast<int>(sod / 3600), 2);
    *p++ = ':';
    p = put_digits(p, static_cast<int>(sod / 60 % 60), 2);
    *p++ = ':';
    put_digits(p, static_cast<int>(sod % 60), 2);
}

// Writes RFC 3339 UTC with millisecond precision at p (kRfc3339Size bytes), e.g.
// 2026-11-23T08:21:35.123Z. Arithmetic only (no gmtime_r, no snprintf): it runs
// twice for every event a sink writes. int64 nanoseconds span the years 1677 to
// 2262, so the year always has 4 digits. The text of the last two seconds seen
// is kept per thread: an event's two times (device, received) are mostly two
// seconds that thousands of events share.
inline char* write_rfc3339(char* p, int64_t ns) {
    int64_t secs = ns / 1000000000;
    int64_t rem = ns % 1000000000;
    if (rem < 0) { rem += 1000000000; --secs; }
    struct Second {
        int64_t secs = INT64_MIN; // INT64_MIN ns is in 1677: never this second
        char text[19];
    };
    thread_local Second seen[2];
    thread_local unsigned next = 0;
    Second* hit = seen[0].secs == secs ? &seen[0] : seen[1].secs == secs ? &seen[1] : nullptr;
    if (!hit) {
        hit = &seen[next];
        next ^= 1u;
        write_rfc3339_second(hit->text, secs);
        hit->secs = secs;
    }
    std::memcpy(p, hit->text, sizeof hit->text);
    p += sizeof hit->text;
    *p++ = '.';
    p = put_digits(p, static_cast<int>(rem / 1000000), 3);
    *p++ = 'Z';
    return p;
}

} // namespace detail

inline void append_rfc3339(std::string& out, int64_t ns) {
    char buf[detail::kRfc3339Size];
    out.append(buf, static_cast<size_t>(detail::write_rfc3339(buf, ns) - buf));
}

inline std::string format_rfc3339(int64_t ns) {
    std::string out;
    append_rfc3339(out, ns);
    return out;
}

namespace detail {
template <size_t N>
char* put_literal(char* p, const char (&text)[N]) {
    std::memcpy(p, text, N - 1); // no strlen: this runs ~15 times per event written
    return p + N - 1;
}

// An integer formatted once, measured before the line is sized, copied after.
struct Digits {
    char text[24];
    size_t size;
    explicit Digits(std::integral auto value)
        : size(static_cast<size_t>(std::to_chars(text, text + sizeof text, value).ptr - text)) {}
    char* put(char* p) const {
        std::memcpy(p, text, size);
        return p + size;
    }
};

// The one writer behind both overloads below: for_each_attr(emit) calls
// emit(key, value) for each attribute, in order. Two passes: the first
// measures the line exactly (escapes included), the second writes it into
// space made once, by pointer. A per-piece append would check capacity some
// thirty times a line; this is on the hot path of the file log and the API.
template <class ForEachAttr>
void append_event_json_parts(std::string& out, uint64_t id, int64_t time_ns, int64_t received_ns,
                             std::string_view source, std::string_view module, std::string_view type,
                             std::string_view code, int32_t channel, State state, ForEachAttr&& for_each_attr,
                             std::string_view attachment_mime, std::string_view attachment_path) {
    const Digits id_text(id), channel_text(channel);
    const std::string_view state_text = to_string(state);
    const bool has_attachment = !attachment_path.empty();

    size_t size = 0, extra = 0, attrs = 0;
    const auto measure = [&](std::string_view s) {
        size += s.size() + 2;
        extra += json_escape_extra(s);
    };
    measure(source);
    measure(module);
    measure(type);
    measure(code);
    for_each_attr([&](std::string_view k, std::string_view v) {
        measure(k);
        measure(v);
        ++attrs;
    });
    if (has_attachment) {
        measure(attachment_mime);
        measure(attachment_path);
    }
    constexpr std::string_view kFrame = "{\"id\":,\"time\":\"\",\"received\":\"\",\"source\":,\"module\":,\"type\":,"
                                        "\"code\":,\"channel\":,\"state\":\"\",\"attrs\":{}}";
    constexpr std::string_view kAttachmentFrame = ",\"attachment\":{\"mime\":,\"path\":}";
    size += extra + kFrame.size() + id_text.size + 2 * kRfc3339Size + channel_text.size + state_text.size() +
            attrs /* ':' per attribute */ + (attrs > 0 ? attrs - 1 : 0) /* ',' between them */ +
            (has_attachment ? kAttachmentFrame.size() : 0);

    const size_t at = out.size();
    out.resize(at + size);
    char* p = out.data() + at;
    const bool escape = extra != 0; // else every string is copied whole
    p = put_literal(p, "{\"id\":");
    p = id_text.put(p);
    p = put_literal(p, ",\"time\":\"");
    p = write_rfc3339(p, time_ns);
    p = put_literal(p, "\",\"received\":\"");
    p = write_rfc3339(p, received_ns);
    p = put_literal(p, "\",\"source\":");
    p = write_json_string(p, source, escape);
    p = put_literal(p, ",\"module\":");
    p = write_json_string(p, module, escape);
    p = put_literal(p, ",\"type\":");
    p = write_json_string(p, type, escape);
    p = put_literal(p, ",\"code\":");
    p = write_json_string(p, code, escape);
    p = put_literal(p, ",\"channel\":");
    p = channel_text.put(p);
    p = put_literal(p, ",\"state\":\"");
    std::memcpy(p, state_text.data(), state_text.size());
    p += state_text.size();
    p = put_literal(p, "\",\"attrs\":{");
    bool first = true;
    for_each_attr([&](std::string_view k, std::string_view v) {
        if (!first) *p++ = ',';
        first = false;
        p = write_json_string(p, k, escape);
        *p++ = ':';
        p = write_json_string(p, v, escape);
    });
    *p++ = '}';
    if (has_attachment) {
        p = put_literal(p, ",\"attachment\":{\"mime\":");
        p = write_json_string(p, attachment_mime, escape);
        p = put_literal(p, ",\"path\":");
        p = write_json_string(p, attachment_path, escape);
        *p++ = '}';
    }
    *p++ = '}';
    assert(p == out.data() + out.size()); // the measure above and the writes agree
}
} // namespace detail

// One event as a compact JSON object (no trailing newline). The attachment
// appears only when the event has been given a path (bytes never go in JSON).
inline void append_event_json(std::string& out, const Event& e) {
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
