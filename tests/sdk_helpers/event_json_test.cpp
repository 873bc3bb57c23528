// passerelle/event_json.hpp: the JSON string escaper and the RFC 3339 writer
// every sink uses, checked against straightforward references (libc's gmtime_r
// and snprintf; a character-by-character escaper) on edge and random values.
#include <passerelle/event_json.hpp>

#include <catch2/catch.hpp>

#include <cstdio>
#include <ctime>
#include <random>

namespace {

std::string reference_rfc3339(int64_t ns) {
    int64_t secs = ns / 1000000000;
    int64_t rem = ns % 1000000000;
    if (rem < 0) { rem += 1000000000; --secs; }
    std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(rem / 1000000));
    return buf;
}

std::string reference_escape(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        char buf[8];
        if (c == '"') out += "\\\"";
        else if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\t') out += "\\t";
        else if (c < 0x20) { std::snprintf(buf, sizeof buf, "\\u%04x", c); out += buf; }
        else out.push_back(static_cast<char>(c));
    }
    return out + "\"";
}

// The line event_to_json must give, built piece by piece from the references.
std::string reference_line(const passerelle::Event& e) {
    std::string out = "{\"id\":" + std::to_string(e.id) + ",\"time\":\"" + reference_rfc3339(e.time_ns) +
                      "\",\"received\":\"" + reference_rfc3339(e.received_ns) + "\",\"source\":" +
                      reference_escape(e.source) + ",\"module\":" + reference_escape(e.module) +
                      ",\"type\":" + reference_escape(e.type) + ",\"code\":" + reference_escape(e.code) +
                      ",\"channel\":" + std::to_string(e.channel) + ",\"state\":\"" +
                      std::string(passerelle::to_string(e.state)) + "\",\"attrs\":{";
    bool first = true;
    for (const auto& [k, v] : e.attrs) {
        if (!first) out += ",";
        first = false;
        out += reference_escape(k) + ":" + reference_escape(v);
    }
    out += "}";
    if (!e.attachment_path.empty())
        out += ",\"attachment\":{\"mime\":" + reference_escape(e.attachment_mime) +
               ",\"path\":" + reference_escape(e.attachment_path) + "}";
    return out + "}";
}

} // namespace

TEST_CASE("append_rfc3339 matches gmtime_r on edges and random instants") {
    const int64_t edges[] = {0, -1, 1, 999'999'999, -999'999'999, -1'000'000'000, 951'782'400'000'000'000 /* 2000-02-29 */,
                             951'868'799'999'999'999, 4'107'542'400'000'000'000 /* 2100-03-01 */, -2'208'988'800'000'000'000,
                             INT64_MAX, INT64_MIN + 1'000'000'000};
    for (int64_t ns : edges) {
        INFO(ns);
        CHECK(passerelle::format_rfc3339(ns) == reference_rfc3339(ns));
    }
    std::mt19937_64 rng(42);
    std::uniform_int_distribution<int64_t> any(INT64_MIN + 1'000'000'000, INT64_MAX);
    for (int i = 0; i < 100000; ++i) {
        const int64_t ns = any(rng);
        if (passerelle::format_rfc3339(ns) != reference_rfc3339(ns)) FAIL(ns);
    }
    std::string out = "x";
    passerelle::append_rfc3339(out, 1'795'490'123'203'175'102);
    CHECK(out == "x2026-11-24T03:15:23.203Z");
}

// write_rfc3339 keeps the text of the last two seconds it wrote: instants of
// three seconds and of two days, interleaved, each read back right.
TEST_CASE("append_rfc3339: instants of a few seconds interleaved are each written right (the seconds kept)") {
    const int64_t base = 1'795'490'123'000'000'000;
    const int64_t offsets_ms[] = {0, 1, 999, 1000, 0, 86'400'000, 1000, 2000, 999, 86'400'999, -1, 0, 2000, 1, -1};
    for (int64_t round = 0; round < 3; ++round)
        for (int64_t ms : offsets_ms) {
            const int64_t ns = base + ms * 1'000'000 + round * 7;
            INFO(ns);
            CHECK(passerelle::format_rfc3339(ns) == reference_rfc3339(ns));
        }
}

TEST_CASE("append_json_string escapes exactly what JSON needs, in runs or alone") {
    const std::string samples[] = {"", "plain", "\"", "\\", "a\"b\\c", "\n\r\t", std::string("\0\x01\x1f", 3),
                                   "{\n   \"SendNs\" : 1795490123203175102\n}", "caf\xc3\xa9 \xe2\x82\xac", "end\\"};
    for (const auto& s : samples) {
        std::string out = "prefix";
        passerelle::append_json_string(out, s);
        CHECK(out == "prefix" + reference_escape(s));
    }
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> byte(0, 255), len(0, 64);
    for (int i = 0; i < 20000; ++i) {
        std::string s(static_cast<size_t>(len(rng)), '\0');
        for (auto& c : s) c = static_cast<char>(byte(rng));
        std::string out;
        passerelle::append_json_string(out, s);
        if (out != reference_escape(s)) FAIL(i);
    }
    // Mostly plain text (ASCII and UTF-8 bytes) with a rare byte to escape at any
    // offset: the 8-bytes-at-a-time path must stop exactly there.
    const char specials[] = {'"', '\\', '\n', '\x01', '\x1f', '\0', ' ', '\x7f', '\x80', '\xff', '!', '#', '[', ']'};
    std::uniform_int_distribution<int> pick(0, sizeof specials - 1), plain(0x20, 0xff), odds(0, 40);
    for (int i = 0; i < 20000; ++i) {
        std::string s(static_cast<size_t>(len(rng)), '\0');
        for (auto& c : s) {
            c = static_cast<char>(plain(rng));
            if (c == '"' || c == '\\' || odds(rng) == 0) c = specials[pick(rng)];
        }
        std::string out;
        passerelle::append_json_string(out, s);
        if (out != reference_escape(s)) FAIL(i);
    }
}

TEST_CASE("an event line is its fields, escaped and in order, whatever the text", "[sdk][event_json]") {
    using passerelle::Event;
    std::mt19937_64 rng(7);
    // Mostly plain text (the common case: copied whole) with, in some events,
    // a byte to escape anywhere in any string (every string then escaped).
    const std::string plain = "abcXYZ019 .:/-_\xC3\xA9";
    const std::string special = "\"\\\n\r\t\x01\x1f\x7f";
    for (int round = 0; round < 2000; ++round) {
        const bool with_specials = round % 3 == 0;
        auto text = [&](size_t max_len) {
            std::string s(rng() % (max_len + 1), ' ');
            for (auto& c : s)
                c = with_specials && rng() % 16 == 0 ? special[rng() % special.size()] : plain[rng() % plain.size()];
            return s;
        };
        Event e;
        e.id = rng() >> (rng() % 64);
        e.time_ns = static_cast<int64_t>(rng() % 9'000'000'000'000'000'000ULL) - 1'000'000'000'000'000'000LL;
        e.received_ns = static_cast<int64_t>(rng() % 4'000'000'000'000'000'000ULL);
        e.source = text(40);
        e.module = text(10);
        e.type = text(12);
        e.code = text(30);
        e.channel = static_cast<int32_t>(rng());
        e.state = static_cast<passerelle::State>(rng() % 3);
        for (int k = static_cast<int>(rng() % 8); k > 0; --k) e.attrs[text(20)] = text(70);
        if (rng() % 3 == 0) {
            e.attachment_mime = text(12);
            e.attachment_path = text(40) + "x";
        }
        const std::string expected = reference_line(e);
        std::string out = "prefix";
        passerelle::append_event_json(out, e);
        if (out != "prefix" + expected) {
            INFO("expected " << expected);
            INFO("got      " << out.substr(6));
            FAIL(round);
        }
    }
}

TEST_CASE("an event view is written exactly as its copy would be, or declined", "[sdk][event_json]") {
    using passerelle::Event;
    std::mt19937_64 rng(42);
    const std::string alphabet = std::string("az\"\\\n\t\x01\x1f ") + "\xC3\xA9";
    auto random_text = [&](size_t max_len) {
        std::string s(rng() % (max_len + 1), ' ');
        for (auto& c : s) c = alphabet[rng() % alphabet.size()];
        return s;
    };
    for (int round = 0; round < 500; ++round) {
        Event e;
        e.id = rng();
        e.time_ns = static_cast<int64_t>(rng() % 4'000'000'000'000'000'000ULL);
        e.received_ns = e.time_ns + static_cast<int64_t>(rng() % 1'000'000'000);
        e.source = random_text(12);
        e.module = "dahua";
        e.type = random_text(8);
        e.code = random_text(20);
        e.channel = static_cast<int32_t>(rng() % 64) - 1;
        e.state = static_cast<passerelle::State>(rng() % 3);
        for (int k = static_cast<int>(rng() % 6); k > 0; --k) e.attrs[random_text(6)] = random_text(40);
        if (rng() % 4 == 0) {
            e.attachment_mime = "image/jpeg";
            e.attachment_path = random_text(30);
        }
        passerelle::EventView view(e);
        std::string from_view = "prefix:";
        REQUIRE(passerelle::append_event_json(from_view, *view.get()));
        CHECK(from_view == "prefix:" + passerelle::event_to_json(e));
    }

    // Attributes a copy would reorder or merge: declined, nothing written.
    pl_kv unsorted[] = {{{"b", 1}, {"1", 1}}, {{"a", 1}, {"2", 1}}};
    pl_kv twice[] = {{{"a", 1}, {"1", 1}}, {{"a", 1}, {"2", 1}}};
    for (pl_kv* attrs : {unsorted, twice}) {
        pl_event raw{};
        raw.struct_size = sizeof raw;
        raw.attrs = attrs;
        raw.attrs_count = 2;
        std::string out = "untouched";
        CHECK_FALSE(passerelle::append_event_json(out, raw));
        CHECK(out == "untouched");
    }

    // A view from an older host, without the attachment fields, and a state
    // number no version defines: written as from_pl reads them.
    Event e;
    e.id = 7;
    e.attrs = {{"k", "v"}};
    e.attachment_path = "ignored";
    passerelle::EventView view(e);
    pl_event old = *view.get();
    old.struct_size = offsetof(pl_event, attrs_count) + sizeof(size_t);
    old.state = 99;
    std::string out;
    REQUIRE(passerelle::append_event_json(out, old));
    CHECK(out == passerelle::event_to_json(passerelle::from_pl(old)));
    CHECK(out.find("attachment") == std::string::npos);
    CHECK(out.find("\"state\":\"pulse\"") != std::string::npos);
}
