// Multipart framing: the quirk fixtures (verbatim device captures) and hostile input.
#include "test_support.hpp"

#include <catch2/catch.hpp>

using namespace passerelle::hikvision;
using namespace hiktest;

namespace {

const std::string kHeartbeat = strip_comment_lines(fixture("hikvision-isapi-guide_heartbeat_example.xml"));

std::string part(const std::string& body, const std::string& type = "application/xml; charset=\"UTF-8\"") {
    return "--boundary\r\nContent-Type: " + type + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
           body;
}

} // namespace

TEST_CASE("boundary_from_content_type handles quotes, spaces and case", "[hikvision][multipart]") {
    CHECK(boundary_from_content_type("multipart/mixed; boundary=boundary") == "boundary");
    CHECK(boundary_from_content_type("multipart/mixed;boundary=myboundary") == "myboundary");
    CHECK(boundary_from_content_type("multipart/mixed; boundary=\"MIME_boundary\"") == "MIME_boundary");
    CHECK(boundary_from_content_type("multipart/mixed; Boundary = 'x y' ") == "x y");
    CHECK(boundary_from_content_type("multipart/mixed; charset=utf-8; boundary= hikboundary ;x=1") == "hikboundary");
    CHECK(boundary_from_content_type("multipart/mixed") == "");
    CHECK(boundary_from_content_type("multipart/mixed; xboundary=a") == "");
}

TEST_CASE("multipart-stream-rs hikvision_style: two heartbeats, body directly followed by the boundary",
          "[hikvision][multipart]") {
    auto wire = fixture("multipart-stream-rs_hikvision_style.bin");
    for (size_t chunk : {size_t(1), size_t(3), size_t(64), wire.size()}) {
        auto c = parse(wire, chunk);
        REQUIRE(c.errors.empty());
        REQUIRE(c.parts.size() == 2);
        for (const auto& p : c.parts) {
            CHECK(p.body.size() == 480);
            CHECK(p.media_type == "application/xml");
            CHECK(p.header("content-length") == "480");
            auto d = decode_part(p);
            REQUIRE(d.notifications.size() == 1);
            CHECK(d.notifications[0].heartbeat);
            // "-8:00": one-digit zone hour
            CHECK(d.notifications[0].event.time_ns == (1550704954LL) * 1'000'000'000);
        }
    }
}

TEST_CASE("pyhik-10 NVR: HTTP/1.0, declared myboundary, parts use --boundary", "[hikvision][multipart][quirks]") {
    auto text = strip_comment_lines(fixture("pyhik-10_DS-7608NI-E2_nvr_boundary_mismatch.txt"));
    // Verbatim (cut inside the body): nothing emitted, a clean error at the end.
    auto cut = parse_whole(before_excerpt_end(text), "myboundary");
    CHECK(cut.parts.empty());
    REQUIRE(cut.errors.size() == 1);
    // The verbatim response head followed by complete parts.
    std::string head = text.substr(0, text.find("--boundary"));
    CHECK(head.find("HTTP/1.0 200 OK") != std::string::npos);
    std::string body = fixture("hikvision_next_fixtures/ipc_thermometry_motiondetection.xml");
    std::string wire = head + part(body) + part(kHeartbeat);
    for (size_t chunk : {size_t(1), size_t(0)}) {
        auto c = parse(wire, chunk, 3, "myboundary");
        REQUIRE(c.errors.empty());
        REQUIRE(c.parts.size() == 2);
        CHECK(c.parts[0].body == body);
        CHECK(c.parts[1].body == kHeartbeat);
    }
    // Without the caller declaring anything, the head's Content-Type line is read.
    auto c = parse_whole(wire);
    CHECK(c.parts.size() == 2);
}

TEST_CASE("node-red-83 DVR: HTTP/1.0, dynChannelID, date without zone (Content-Length matches)",
          "[hikvision][multipart][quirks]") {
    auto text = strip_comment_lines(fixture("node-red-hikvision-ultimate-83_dvr_http10_vmd.txt"));
    // The cut body completes to exactly the announced 458 bytes with ">\n</EventNotificationAlert>\n".
    std::string wire = before_excerpt_end(text) + ">\n</EventNotificationAlert>\n" + part(kHeartbeat);
    for (size_t chunk : {size_t(1), size_t(0)}) {
        auto c = parse(wire, chunk, 5);
        REQUIRE(c.errors.empty());
        REQUIRE(c.parts.size() == 2);
        CHECK(c.parts[0].body.size() == 458);
        auto d = decode_part(c.parts[0]);
        REQUIRE(d.error.empty());
        REQUIRE(d.notifications.size() == 1);
        const auto& n = d.notifications[0];
        CHECK(n.event.type == "motion");
        CHECK(n.event.code == "VMD");
        CHECK(n.event.channel == 12);
        CHECK(n.activity == Activity::active);
        CHECK(n.event.attr("device_time") == "2025-04-06T14:16:04");
        CHECK(n.event.time_ns == *parse_device_time("2025-04-06T14:16:04Z"));
        CHECK(n.event.attr("active_post_count") == "1");
        CHECK(n.event.attr("description") == "Motion alarm");
    }
}

TEST_CASE("ha-core-82767 NVR: isapi.org namespace, empty channelID and dynChannelID", "[hikvision][multipart][quirks]") {
    auto text = strip_comment_lines(fixture("ha-core-82767_nvr_isapi_org_empty_channel.txt"));
    auto verbatim = before_excerpt_end(text);
    auto cut = parse_whole(verbatim);
    CHECK(cut.parts.empty());
    CHECK(cut.errors.size() == 1); // stream ended inside a part
    // Constructed completion (the real tail is unknown): recomputed Content-Length.
    auto start = verbatim.find("<EventNotificationAlert");
    std::string body = verbatim.substr(start) +
                       "eventType>\n<eventState>active</eventState>\n<eventDescription>videoloss "
                       "alarm</eventDescription>\n</EventNotificationAlert>\n";
    auto c = parse_whole(part(body));
    REQUIRE(c.parts.size() == 1);
    auto d = decode_part(c.parts[0]);
    REQUIRE(d.error.empty());
    REQUIRE(d.notifications.size() == 1);
    CHECK(d.notifications[0].event.channel == 0);
    CHECK(d.notifications[0].event.type == "video_loss");
    CHECK_FALSE(d.notifications[0].heartbeat);
    CHECK(d.notifications[0].event.attr("active_post_count") == "0");
    CHECK(d.notifications[0].event.time_ns == *parse_device_time("2022-12-11T06:00:20Z")); // +09:30
}

TEST_CASE("toxuin-15: boundary=hikboundary learned from the response head", "[hikvision][multipart][quirks]") {
    auto text = strip_comment_lines(fixture("toxuin-alarmserver-15_headers_hikboundary.txt"));
    std::string head = text.substr(0, text.find("--hikboundary"));
    std::string wire = head + "--hikboundary\r\nContent-Type: application/xml; charset=\"UTF-8\"\r\nContent-Length:" +
                       std::to_string(kHeartbeat.size()) + "\r\n\r\n" + kHeartbeat + "\r\n--hikboundary\r\n" +
                       "Content-Type: application/xml\r\n\r\n" + kHeartbeat + "\r\n--hikboundary--\r\n";
    for (size_t chunk : {size_t(1), size_t(0)}) {
        auto c = parse(wire, chunk, 9);
        REQUIRE(c.errors.empty());
        REQUIRE(c.parts.size() == 2);
        CHECK(c.parts[0].body == kHeartbeat);
        CHECK(c.parts[1].body == kHeartbeat); // no length: up to the CRLF before the delimiter
    }
}

TEST_CASE("pyhik-77 intercom: stray header before --MIME_boundary, tab-indented JSON", "[hikvision][multipart][quirks]") {
    auto text = strip_comment_lines(fixture("pyhik-77_DS-KD8003_intercom_json_parts.txt"));
    auto verbatim = before_excerpt_end(text);
    CHECK(parse_whole(verbatim).parts.empty());
    // Constructed JSON in the same tab style (the real body is cut).
    std::string json = "{\n\t\"ipAddress\":\t\"192.168.0.70\",\n\t\"portNo\":\t80,\n\t\"protocol\":\t\"HTTP\",\n"
                       "\t\"dateTime\":\t\"2021-03-02T10:00:00+01:00\",\n\t\"activePostCount\":\t1,\n"
                       "\t\"eventType\":\t\"VideoIntercomEvent\",\n\t\"eventState\":\t\"active\",\n"
                       "\t\"eventDescription\":\t\"Video Intercom Event\"\n}";
    std::string head = verbatim.substr(0, verbatim.find("--MIME_boundary"));
    CHECK(head.find("Content-Length: 314") != std::string::npos);
    std::string wire = head + "--MIME_boundary\nContent-Type: application/json; charset=\"UTF-8\"\nContent-Length: " +
                       std::to_string(json.size()) + "\n\n" + json + "\n--MIME_boundary\n";
    auto c = parse_whole(wire);
    REQUIRE(c.errors.empty());
    REQUIRE(c.parts.size() == 1);
    CHECK(c.parts[0].is_json());
    auto d = decode_part(c.parts[0]);
    REQUIRE(d.notifications.size() == 1);
    CHECK(d.notifications[0].event.type == "doorbell");
    CHECK(d.notifications[0].activity == Activity::none);
}

TEST_CASE("unifi-cam-proxy-145: std-cgi OEM body, LF framing, no Content-Length", "[hikvision][multipart][quirks]") {
    auto text = strip_comment_lines(fixture("unifi-cam-proxy-145_std-cgi_oem_vmd_inactive.txt"));
    std::string body = text.substr(0, text.find("--boundary"));
    body = body.substr(body.find("<EventNotificationAlert"));
    std::string wire = "--boundary\nContent-Type: application/xml\n\n" + body + "--boundary\n" +
                       "Content-Type: application/xml\n\n" + body + "--boundary--\n";
    auto c = parse(wire, 1);
    REQUIRE(c.errors.empty());
    REQUIRE(c.parts.size() == 2);
    auto d = decode_part(c.parts[1]);
    REQUIRE(d.notifications.size() == 1);
    CHECK(d.notifications[0].event.code == "VMD");
    CHECK(d.notifications[0].activity == Activity::inactive);
    CHECK(d.notifications[0].event.attr("channel_name") == "Camera 01");
    CHECK(d.notifications[0].event.attr("active_post_count") == "283");
    // And the verbatim stream (its last part is announced but cut): one clean error.
    auto v = parse_whole("--boundary\r\nContent-Type: application/xml\r\n\r\n" + text);
    CHECK(v.parts.size() == 1);
    CHECK(v.errors.size() == 1);
}

TEST_CASE("node-red-4: a stream joined mid-part resyncs on the next boundary", "[hikvision][multipart][quirks]") {
    auto verbatim = before_excerpt_end(fixture("node-red-hikvision-ultimate-4_DS-2CD2T85FWD_videoloss_extensions.txt"));
    auto cut = verbatim.substr(0, verbatim.find("--boundary"));
    auto c = parse(cut + part(kHeartbeat) + part(kHeartbeat), 0, 21);
    REQUIRE(c.parts.size() == 2);
    CHECK(c.parts[0].body == kHeartbeat);
    auto whole = parse_whole(verbatim);
    CHECK(whole.parts.empty());
    CHECK(whole.errors.size() == 1);
}

TEST_CASE("framing variants: duplicate boundaries, no space in Content-Length, blank lines, closing",
          "[hikvision][multipart]") {
    std::string wire = "\r\n--boundary\r\n--boundary\r\nContent-Type: application/xml\r\nContent-Length:" +
                       std::to_string(kHeartbeat.size()) + "\r\n\r\n" + kHeartbeat + "\r\n\r\n--boundary \r\n" +
                       "content-type: APPLICATION/XML; charset=UTF-8\r\ncontent-length:   " +
                       std::to_string(kHeartbeat.size()) + "  \r\n\r\n" + kHeartbeat + "--boundary--\r\ntrailing junk\r\n";
    for (size_t chunk : {size_t(1), size_t(2), size_t(0)}) {
        auto c = parse(wire, chunk, 77);
        CHECK(c.errors.empty());
        REQUIRE(c.parts.size() == 2);
        CHECK(c.parts[1].media_type == "application/xml");
        CHECK(c.parts[1].body == kHeartbeat);
    }
}

TEST_CASE("binary parts: JPEG with Content-Length may contain the boundary bytes", "[hikvision][multipart]") {
    std::string jpeg = "\xFF\xD8\xFF\xE0";
    jpeg += std::string("\0\x10JFIF\0", 8);
    jpeg += "\r\n--boundary\r\nContent-Type: application/xml\r\n\r\n<x/>"; // looks like a part, is pixels
    jpeg += std::string(3000, '\x7F');
    jpeg += "\xFF\xD9";
    std::string wire = part(kHeartbeat) + part(jpeg, "image/jpeg") + part(kHeartbeat);
    for (size_t chunk : {size_t(1), size_t(0)}) {
        auto c = parse(wire, chunk, 31);
        REQUIRE(c.errors.empty());
        REQUIRE(c.parts.size() == 3);
        CHECK(c.parts[1].is_binary());
        CHECK(c.parts[1].body == jpeg);
        CHECK(decode_part(c.parts[1]).notifications.empty());
        CHECK(decode_part(c.parts[1]).error.empty());
    }
    // Without Content-Length the image runs to the next delimiter.
    std::string png = "\x89PNG\r\n\x1a\n" + std::string(100, '\0') + "IEND";
    auto c = parse_whole("--boundary\r\nContent-Type: image/png\r\n\r\n" + png + "\r\n" + part(kHeartbeat));
    REQUIRE(c.parts.size() == 2);
    CHECK(c.parts[0].body == png);
    CHECK(c.parts[0].media_type == "image/png");
}

TEST_CASE("wrong Content-Length: too long is cut at the delimiter, too short resyncs", "[hikvision][multipart][hostile]") {
    std::string too_long = "--boundary\r\nContent-Type: application/xml\r\nContent-Length: " +
                           std::to_string(kHeartbeat.size() + 40) + "\r\n\r\n" + kHeartbeat + part(kHeartbeat);
    auto a = parse(too_long, 1);
    REQUIRE(a.parts.size() == 2);
    CHECK(a.parts[0].body == kHeartbeat.substr(0, kHeartbeat.size() - 1));
    CHECK(a.parts[1].body == kHeartbeat);

    std::string too_short = "--boundary\r\nContent-Type: application/xml\r\nContent-Length: 100\r\n\r\n" + kHeartbeat +
                            part(kHeartbeat);
    auto b = parse(too_short, 0, 3);
    REQUIRE(b.parts.size() == 2);
    CHECK(b.parts[0].body.size() == 100);
    CHECK_FALSE(decode_part(b.parts[0]).error.empty()); // truncated XML: skipped with an error
    CHECK(b.parts[1].body == kHeartbeat);
    CHECK(b.errors.size() == 1);
}

TEST_CASE("hostile: every truncation point of a stream is handled", "[hikvision][multipart][hostile]") {
    std::string body = fixture("hikvision_next_fixtures/fielddetection_human.xml");
    std::string wire = part(kHeartbeat) + part(body) + part(kHeartbeat);
    for (size_t cut = 0; cut <= wire.size(); ++cut) {
        auto c = parse(wire.substr(0, cut), 0, static_cast<unsigned>(cut), {}, 64);
        REQUIRE(c.parts.size() <= 3);
        if (!c.parts.empty()) CHECK(c.parts[0].body == kHeartbeat);
        if (c.parts.size() >= 2) CHECK(c.parts[1].body == body);
    }
}

TEST_CASE("hostile: garbage, huge header lines, too many headers, oversize parts", "[hikvision][multipart][hostile]") {
    std::mt19937 rng(2024);
    std::string garbage(1 << 20, '\0');
    for (auto& ch : garbage) ch = static_cast<char>(rng());
    SECTION("random bytes then valid parts") {
        MultipartParser p;
        std::vector<Part> parts;
        p.set_handlers([&](const PartView& x) { parts.emplace_back(x); }, [](std::string_view) {});
        for (size_t i = 0; i < garbage.size(); i += 4096) {
            p.feed(std::string_view(garbage).substr(i, 4096));
            REQUIRE(p.buffered() <= 64 * 1024); // never accumulates garbage
        }
        p.feed("\r\n" + part(kHeartbeat) + part(kHeartbeat));
        p.finish();
        REQUIRE(parts.size() >= 2);
        CHECK(parts[parts.size() - 2].body == kHeartbeat);
        CHECK(parts.back().body == kHeartbeat);
    }
    SECTION("a 100 KiB header line") {
        std::string wire = "--boundary\r\nX-Junk: " + std::string(100 * 1024, 'a') + "\r\n\r\n" + part(kHeartbeat);
        auto c = parse(wire, 0, 5, {}, 5000);
        REQUIRE(c.parts.size() == 1);
        CHECK(c.parts[0].body == kHeartbeat);
        CHECK(c.errors.size() == 1);
        // In one read with the parts after it (and in the preamble too): only
        // the line is dropped, not the parts that follow it in the same read.
        for (const std::string& w : {wire, std::string(100 * 1024, 'b') + "\r\n" + part(kHeartbeat) + part(kHeartbeat)}) {
            auto whole = parse_whole(w);
            REQUIRE(whole.parts.size() == (w == wire ? 1u : 2u));
            CHECK(whole.parts.back().body == kHeartbeat);
        }
    }
    SECTION("too many headers") {
        std::string hdrs;
        for (int i = 0; i < 100; ++i) hdrs += "X-H" + std::to_string(i) + ": v\r\n";
        auto c = parse_whole("--boundary\r\n" + hdrs + "\r\n" + kHeartbeat + part(kHeartbeat));
        REQUIRE(c.parts.size() == 1);
        CHECK(c.errors.size() == 1);
    }
    SECTION("oversize text part with Content-Length is skipped byte-exactly") {
        std::string big(300 * 1024, 'x');
        big += "\r\n--boundary\r\n"; // inside the skipped bytes: must not start a part
        auto c = parse(part(big) + part(kHeartbeat), 0, 8, {}, 10000);
        REQUIRE(c.parts.size() == 1);
        CHECK(c.parts[0].body == kHeartbeat);
        CHECK(c.errors.size() == 1);
    }
    SECTION("absurd Content-Length is not trusted: rescan") {
        std::string wire = "--boundary\r\nContent-Type: image/jpeg\r\nContent-Length: 999999999999\r\n\r\nxxxx\r\n" +
                           part(kHeartbeat);
        auto c = parse_whole(wire);
        REQUIRE(c.parts.size() == 1);
        CHECK(c.parts[0].body == kHeartbeat);
    }
    SECTION("oversize part without Content-Length") {
        MultipartLimits lim;
        lim.max_text_part = 4096;
        std::string wire = "--boundary\r\nContent-Type: application/xml\r\n\r\n<a>" + std::string(20000, 'y') +
                           "</a>\r\n" + part(kHeartbeat);
        auto c = parse(wire, 0, 4, {}, 700, lim);
        REQUIRE(c.parts.size() == 1);
        CHECK(c.parts[0].body == kHeartbeat);
        CHECK(c.errors.size() == 1);
    }
    SECTION("part with no headers at all") {
        auto c = parse_whole("--boundary\r\n" + kHeartbeat + "\r\n--boundary\r\n");
        REQUIRE(c.parts.size() == 1);
        CHECK(c.parts[0].media_type == "application/xml"); // sniffed
    }
}
