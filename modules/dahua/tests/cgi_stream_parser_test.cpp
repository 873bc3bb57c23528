// The CGI event-stream parser fed every Dahua capture whole, byte by byte and in
// random chunks (always the same items), then hostile input.
// Expected counts come from reading the fixtures (see comments), not from the parser.
#include "cgi_stream_parser.hpp"
#include "fixture_io.hpp"

#include <catch2/catch.hpp>

using namespace passerelle::dahua;
using dahua_test::Chunking;
using dahua_test::http_fixture;
using dahua_test::parse_all;
using Kind = CgiStreamItem::Kind;

namespace {

std::string summary(const CgiStreamItem& it) {
    switch (it.kind) {
    case Kind::heartbeat: return "H";
    case Kind::error: return "E:" + std::string(to_string(it.error));
    case Kind::part: {
        std::string s = "P:";
        for (const auto& [k, v] : it.part.headers) s += k + "=" + v + "|";
        return s + "\n" + it.part.body;
    }
    }
    return "?";
}

std::vector<std::string> summaries(const std::vector<CgiStreamItem>& items) {
    std::vector<std::string> s;
    for (const auto& i : items) s.push_back(summary(i));
    return s;
}

// Parses with every chunking, checks they agree, returns the whole-buffer result.
std::vector<CgiStreamItem> parse_every_way(const std::string& data, CgiStreamParser::Options opt = {}) {
    auto whole = parse_all(data, Chunking::whole, 1, opt);
    auto ref = summaries(whole);
    CHECK(summaries(parse_all(data, Chunking::byte_by_byte, 1, opt)) == ref);
    for (unsigned seed = 1; seed <= 20; ++seed) CHECK(summaries(parse_all(data, Chunking::random, seed, opt)) == ref);
    return whole;
}

std::vector<const CgiPart*> parts(const std::vector<CgiStreamItem>& items) {
    std::vector<const CgiPart*> p;
    for (const auto& i : items)
        if (i.kind == Kind::part) p.push_back(&i.part);
    return p;
}
std::size_t count(const std::vector<CgiStreamItem>& items, Kind k) {
    std::size_t n = 0;
    for (const auto& i : items) n += i.kind == k;
    return n;
}
std::size_t count_error(const std::vector<CgiStreamItem>& items, CgiStreamError e) {
    std::size_t n = 0;
    for (const auto& i : items) n += i.kind == Kind::error && i.error == e;
    return n;
}
bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) { return s.size() >= p.size() && s.substr(s.size() - p.size()) == p; }

} // namespace

TEST_CASE("multipart-stream-rs dahua_style: two pulse parts, CRLF framing, LF JSON") {
    auto items = parse_every_way(http_fixture("multipart-stream-rs_dahua_style.bin"));
    auto p = parts(items);
    REQUIRE(p.size() == 2);
    CHECK(count(items, Kind::heartbeat) == 0);
    CHECK(count(items, Kind::error) == 0);
    CHECK(p[0]->content_length == 135u);
    CHECK(p[0]->header("content-type") == "text/plain");
    CHECK(starts_with(p[0]->body, "Code=TimeChange;action=Pulse;index=0;data={\n"));
    CHECK(ends_with(p[0]->body, "\"ModifiedTime\" : \"2019-02-20 13:49:58\"\n}"));
    CHECK(p[1]->content_length == 137u);
    CHECK(starts_with(p[1]->body, "Code=NTPAdjustTime;action=Pulse;index=0;data={"));
    CHECK(ends_with(p[1]->body, "\"result\" : true\n}"));
}

TEST_CASE("multipart-stream-rs dahua_heartbeat: stream starting with a heartbeat") {
    auto items = parse_every_way(http_fixture("multipart-stream-rs_dahua_heartbeat.bin"));
    REQUIRE(items.size() == 1);
    CHECK(items[0].kind == Kind::heartbeat);
}

namespace {
// reconstructed_rroller166: 13 boundaries = 4 heartbeats + 6 VideoMotionInfo +
// VideoMotion Start + VideoMotion Stop + SmartMotionVehicle Stop.
void check_rroller166(const std::vector<CgiStreamItem>& items) {
    auto p = parts(items);
    CHECK(count(items, Kind::heartbeat) == 4);
    REQUIRE(p.size() == 9);
    std::size_t info = 0;
    for (auto* part : p) info += part->body == "Code=VideoMotionInfo;action=State;index=0";
    CHECK(info == 6);
    CHECK(items[0].kind == Kind::heartbeat); // the stream opens with a heartbeat
    CHECK(p[1]->content_length == 127u);
    CHECK(starts_with(p[1]->body, "Code=VideoMotion;action=Start;index=0;data={"));
    CHECK(ends_with(p[1]->body, "\"SmartMotionEnable\" : true\n}"));
    CHECK(p[7]->content_length == 126u);
    CHECK(starts_with(p[7]->body, "Code=VideoMotion;action=Stop;index=0;data={"));
    CHECK(p[8]->content_length == 219u);
    // The reconstructed body is the verbatim 219-byte body file minus its final LF.
    std::string body = http_fixture("rroller-166_SmartMotionVehicle_Stop_body.txt");
    REQUIRE(body.size() == 219);
    CHECK(p[8]->body == body.substr(0, 218));
}
} // namespace

TEST_CASE("reconstructed rroller166 wire body: asymmetric CRLFs around heartbeats") {
    auto items = parse_every_way(http_fixture("reconstructed_rroller166_wire_body.bin"));
    CHECK(count(items, Kind::error) == 0);
    check_rroller166(items);
}

TEST_CASE("reconstructed rroller166 with the HTTP response header in front") {
    std::string data = http_fixture("reconstructed_rroller166_wire_with_headers.bin");
    auto items = parse_every_way(data);
    CHECK(count(items, Kind::error) == 0);
    check_rroller166(items);

    // The same header block repeated inside the body (seen on some firmware) is skipped.
    std::string body = http_fixture("reconstructed_rroller166_wire_body.bin");
    std::string head = data.substr(0, data.size() - body.size());
    REQUIRE(starts_with(head, "HTTP/1.1 200 OK\r\n"));
    CgiStreamParser parser;
    std::vector<CgiStreamItem> out;
    parser.feed(data, out);
    parser.feed(head, out);
    parser.feed(body, out);
    parser.finish(out);
    CHECK(count(out, Kind::error) == 0);
    CHECK(count(out, Kind::heartbeat) == 8);
    CHECK(parts(out).size() == 18);
    CHECK(parser.stats().http_header_blocks == 2);
}

TEST_CASE("rroller-dahua-166 curl capture (LF only, cut short)") {
    auto items = parse_every_way(http_fixture("rroller-dahua-166_curl_attach_All_heartbeat5.txt"));
    auto p = parts(items);
    // 12 boundaries: 3 heartbeats, 6 VideoMotionInfo, VideoMotion Start/Stop and a last
    // part whose "Content-Length:" value is missing (the excerpt ends there).
    CHECK(count(items, Kind::heartbeat) == 3);
    CHECK(count_error(items, CgiStreamError::bad_content_length) == 1);
    REQUIRE(p.size() == 9);
    CHECK(starts_with(p[1]->body, "Code=VideoMotion;action=Start;index=0;data={"));
    CHECK(starts_with(p[7]->body, "Code=VideoMotion;action=Stop;index=0;data={"));
    CHECK(ends_with(p[7]->body, "\"SmartMotionEnable\" : true\n}"));
    // Without a length the last body runs to the end of the stream.
    CHECK(p[8]->body == "[... excerpt ends here in the stored issue text ...]");
    // No garbage error for the "$ curl" preamble before the first boundary.
    CHECK(count_error(items, CgiStreamError::garbage) == 0);
}

TEST_CASE("homebridge heartbeat=15 log: heartbeats between log prefixes") {
    auto items = parse_every_way(http_fixture("homebridge-dahua-alerts-14_heartbeat15.txt"));
    CHECK(count(items, Kind::heartbeat) == 2);
    CHECK(parts(items).empty());
    // Two log prefixes after a boundary plus the cut "Co[... excerpt ends ...]" part.
    CHECK(count_error(items, CgiStreamError::garbage) == 3);
    CHECK(count(items, Kind::error) == 3);
}

TEST_CASE("homebridge NVR log with doubled line ends") {
    auto items = parse_every_way(http_fixture("homebridge-dahua-alerts-1_nvr_smartmotion_false.txt"));
    auto p = parts(items);
    REQUIRE(p.size() == 3);
    CHECK(p[0]->content_length == 78u);
    CHECK(p[0]->body == "Code=VideoMotion;action=Start;index=7;data={\n   \"SmartMotionEnable\" : false\n}");
    CHECK(p[1]->body == "Code=VideoMotion;action=Start;index=5;data={\n   \"SmartMotionEnable\" : false\n}");
    CHECK(p[2]->content_length == 77u);
    CHECK(p[2]->body == "Code=VideoMotion;action=Stop;index=5;data={\n   \"SmartMotionEnable\" : false\n}");
    CHECK(count_error(items, CgiStreamError::garbage) == 2); // the two log prefixes
}

TEST_CASE("python-amcrest old firmware: '-- myboundary', no blank line before body") {
    auto items = parse_every_way(http_fixture("python-amcrest-22_old_fw_videomotion.txt"));
    auto p = parts(items);
    REQUIRE(p.size() == 4);
    CHECK(count(items, Kind::error) == 0);
    const char* expected[] = {"Code=VideoMotion;action=Start;index=0", "Code=VideoMotion;action=Stop;index=0",
                              "Code=VideoMotion;action=Start;index=0", "Code=VideoMotion;action=Stop;index=0"};
    for (int i = 0; i < 4; ++i) {
        CHECK(p[i]->body == expected[i]);
        CHECK(p[i]->content_length == std::string_view(expected[i]).size());
    }
}

TEST_CASE("parsed-dict doorbell log is not a stream: no parts, no crash") {
    auto items = parse_every_way(http_fixture("amcrest-ad110-ad410-doorbell_events_parsed.txt"));
    CHECK(parts(items).empty());
    CHECK(count(items, Kind::heartbeat) == 0);
}

TEST_CASE("the bare SmartMotionVehicle body has no boundary: nothing comes out") {
    auto items = parse_every_way(http_fixture("rroller-166_SmartMotionVehicle_Stop_body.txt"));
    CHECK(items.empty());
}

TEST_CASE("everything concatenated still parses every part") {
    std::string all;
    for (const char* f : {"multipart-stream-rs_dahua_style.bin", "reconstructed_rroller166_wire_body.bin",
                          "python-amcrest-22_old_fw_videomotion.txt", "multipart-stream-rs_dahua_heartbeat.bin"})
        all += http_fixture(f);
    auto items = parse_every_way(all);
    CHECK(parts(items).size() == 2 + 9 + 4);
    CHECK(count(items, Kind::heartbeat) == 4 + 1);
}

// ---- hostile input ---------------------------------------------------------

namespace {
std::string part(std::string_view body, std::string_view length = {}) {
    std::string s = "--myboundary\r\nContent-Type: text/plain\r\nContent-Length: ";
    s += length.empty() ? std::to_string(body.size()) : std::string(length);
    s += "\r\n\r\n";
    s += body;
    s += "\r\n\r\n";
    return s;
}
const std::string kMotion = "Code=VideoMotion;action=Start;index=0";
} // namespace

TEST_CASE("truncated stream: a part cut short is reported, not yielded") {
    std::string data = part(kMotion) + part("Code=VideoMotion;action=Stop;index=0");
    data.resize(data.size() - 20);
    auto items = parse_every_way(data);
    CHECK(parts(items).size() == 1);
    CHECK(count_error(items, CgiStreamError::truncated) == 1);
    // Cut inside the headers too.
    auto items2 = parse_every_way(part(kMotion) + "--myboundary\r\nContent-Type: text/pl");
    CHECK(parts(items2).size() == 1);
    CHECK(count_error(items2, CgiStreamError::truncated) == 1);
}

TEST_CASE("garbage is skipped and the parser resynchronizes on the next boundary") {
    std::mt19937 rng(42);
    std::string junk;
    for (int i = 0; i < 5000; ++i) junk.push_back(static_cast<char>(rng() & 0xff));
    auto items = parse_every_way(part(kMotion) + junk + part(kMotion) + "\x01\x02 garbage" + part(kMotion));
    CHECK(parts(items).size() == 3);
    CHECK(count_error(items, CgiStreamError::garbage) == 2);
    for (auto* p : parts(items)) CHECK(p->body == kMotion);

    // Pure noise: no part, bounded buffer.
    CgiStreamParser parser;
    std::vector<CgiStreamItem> out;
    for (int i = 0; i < 200; ++i) parser.feed(junk, out);
    CHECK(parts(out).empty());
    CHECK(parser.buffered() < 64);
}

TEST_CASE("huge part headers are capped and reported") {
    std::string huge = "--myboundary\r\nContent-Type: text/plain\r\nX-Junk: " + std::string(100000, 'a') + "\r\n" +
                       "Content-Length: 5\r\n\r\nhello\r\n\r\n";
    auto items = parse_every_way(huge + part(kMotion));
    CHECK(count_error(items, CgiStreamError::headers_too_large) == 1);
    REQUIRE(parts(items).size() == 1);
    CHECK(parts(items)[0]->body == kMotion);
    // Many small header lines also hit the cap.
    std::string many = "--myboundary\r\n";
    for (int i = 0; i < 5000; ++i) many += "X-A: b\r\n";
    auto items2 = parse_every_way(many + part(kMotion));
    CHECK(count_error(items2, CgiStreamError::headers_too_large) == 1);
    CHECK(parts(items2).size() == 1);
}

TEST_CASE("oversize parts are reported and skipped, with or without Content-Length") {
    std::string big(200000, 'x');
    auto items = parse_every_way(part(big) + part(kMotion));
    CHECK(count_error(items, CgiStreamError::part_too_large) == 1);
    REQUIRE(parts(items).size() == 1);
    CHECK(parts(items)[0]->body == kMotion);
    CHECK(count_error(items, CgiStreamError::garbage) == 0);

    std::string no_length = "--myboundary\r\nContent-Type: text/plain\r\n\r\n" + big + "\r\n";
    auto items2 = parse_every_way(no_length + part(kMotion));
    CHECK(count_error(items2, CgiStreamError::part_too_large) == 1);
    CHECK(parts(items2).size() == 1);

    // Memory stays bounded while a lying part streams in.
    CgiStreamParser parser;
    std::vector<CgiStreamItem> out;
    parser.feed("--myboundary\r\nContent-Type: text/plain\r\n\r\n", out);
    for (int i = 0; i < 100; ++i) parser.feed(std::string(10000, 'y'), out);
    CHECK(parser.buffered() < 64 * 1024 + 64);
}

TEST_CASE("missing boundary: a body without one is never yielded") {
    auto items = parse_every_way("Content-Type: text/plain\r\nContent-Length: 37\r\n\r\n" + kMotion + "\r\n");
    CHECK(parts(items).empty());
    // A different boundary than configured.
    auto items2 = parse_every_way(part(kMotion), CgiStreamParser::Options{.boundary = "otherboundary"});
    CHECK(parts(items2).empty());
    // Configured boundary is honoured.
    std::string other = part(kMotion);
    other.replace(2, 10, "otherboundary");
    auto items3 = parse_every_way(other, CgiStreamParser::Options{.boundary = "otherboundary"});
    CHECK(parts(items3).size() == 1);
}

TEST_CASE("Content-Length lies") {
    SECTION("too long: the next boundary ends the part") {
        auto items = parse_every_way(part(kMotion, "500") + part("Code=VideoMotion;action=Stop;index=0"));
        auto p = parts(items);
        REQUIRE(p.size() == 2);
        CHECK(p[0]->body == kMotion);
        CHECK(p[1]->body == "Code=VideoMotion;action=Stop;index=0");
        CHECK(count_error(items, CgiStreamError::length_mismatch) == 1);
    }
    SECTION("too long by the trailing CRLF (old firmware): trimmed, no error") {
        auto items = parse_every_way(part(kMotion, std::to_string(kMotion.size() + 2)) + part(kMotion));
        auto p = parts(items);
        REQUIRE(p.size() == 2);
        CHECK(p[0]->body == kMotion);
        CHECK(count(items, Kind::error) == 0);
    }
    SECTION("too short: the rest is skipped as garbage, the next part is intact") {
        auto items = parse_every_way(part(kMotion, "30") + part(kMotion));
        auto p = parts(items);
        REQUIRE(p.size() == 2);
        CHECK(p[0]->body == kMotion.substr(0, 30));
        CHECK(p[1]->body == kMotion);
        CHECK(count_error(items, CgiStreamError::garbage) == 1);
    }
    SECTION("not a number") {
        auto items = parse_every_way(part(kMotion, "abc") + part(kMotion));
        CHECK(count_error(items, CgiStreamError::bad_content_length) == 1);
        CHECK(parts(items).size() == 2);
        CHECK(parts(items)[0]->body == kMotion);
    }
    SECTION("absurdly large") {
        auto items = parse_every_way(part(kMotion, "99999999999999999999") + part(kMotion));
        CHECK(parts(items).size() >= 1);
        CHECK(count(items, Kind::error) >= 1);
    }
}

TEST_CASE("Content-Length without a space, LF-only and the closing boundary") {
    std::string s = "--myboundary\nContent-Type: text/plain\nContent-Length:37\n\n" + kMotion +
                    "\n\n--myboundary--\n";
    auto items = parse_every_way(s);
    REQUIRE(parts(items).size() == 1);
    CHECK(parts(items)[0]->body == kMotion);
    CHECK(count(items, Kind::error) == 0);
}

TEST_CASE("several events in one part body are kept together") {
    std::string body = kMotion + "\r\nCode=AlarmLocal;action=Start;index=1";
    auto items = parse_every_way(part(body));
    REQUIRE(parts(items).size() == 1);
    CHECK(parts(items)[0]->body == body);
}

TEST_CASE("reset forgets a half part") {
    CgiStreamParser parser;
    std::vector<CgiStreamItem> out;
    parser.feed(part(kMotion).substr(0, 50), out);
    parser.reset();
    parser.feed(part(kMotion), out);
    parser.finish(out);
    CHECK(parts(out).size() == 1);
    CHECK(count(out, Kind::error) == 0);
}

TEST_CASE("a boundary straddling the end of the announced body decides the same in every chunking") {
    // Found by fuzz_cgi_stream: Content-Length ends in the middle of the next "--myboundary".
    const std::string next = part("Code=VideoMotion;action=Stop;index=0");
    for (std::size_t into = 1; into < 14; ++into) {
        INFO(into);
        std::string body = kMotion + "\r\n\r\n";
        std::string data = "--myboundary\r\nContent-Type: text/plain\r\nContent-Length:" + std::to_string(body.size() + into) +
               "\r\n\r\n" + body + next;
        auto items = parse_every_way(data);
        CHECK(parts(items).size() >= 1);
    }
}

TEST_CASE("fuzz regressions: chunked and whole parsing agree") {
    // Inputs saved by fuzz_cgi_stream (first byte = chunk size selector, as in the target).
    for (const char* name :
         {"cgi_boundary_straddles_length", "cgi_header_cap_on_partial_line", "cgi_oversize_without_length",
          "cgi_undecided_boundary_with_blanks"}) {
        INFO(name);
        std::string data = dahua_test::read_file(std::string(PASSERELLE_SOURCE_DIR) +
                                                 "/modules/dahua/tests/fuzz_regressions/" + name);
        REQUIRE(data.size() > 1);
        CgiStreamParser::Options opt;
        opt.max_part_size = 1024;
        opt.max_header_size = 256;
        parse_every_way(data.substr(1), opt);
    }
}
