// The XML scanner (xml_scan.hpp) and the decoder built on it: unit tests for
// hostile and unusual input, and equivalence with the pugixml DOM decoder it
// replaced on every part of every fixture, their truncations and mutations.
#include "decoded_text.hpp"
#include "event_state.hpp"
#include "notification.hpp"
#include "reference_dom_decoder.hpp"
#include "test_support.hpp"
#include "xml_scan.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <random>
#include <set>

using namespace passerelle::hikvision;
using hiktest::decoded_text;
using hiktest::reference_decode_xml;

namespace {

// Every token, as text: "<name", ">name", "t:raw", "c:raw", "end", "error".
std::vector<std::string> tokens(std::string_view doc) {
    std::vector<std::string> out;
    xml::Scanner sc(doc);
    // (appended, not "<" + std::string(...): GCC 12 sees a false -Wrestrict there)
    auto add = [&](std::string_view tag, std::string_view what) {
        std::string s(tag);
        s.append(what);
        out.push_back(std::move(s));
    };
    for (;;) {
        switch (sc.next()) {
        case xml::Token::open: add("<", sc.name()); break;
        case xml::Token::close: add(">", sc.name()); break;
        case xml::Token::text: add("t:", sc.raw()); break;
        case xml::Token::cdata: add("c:", sc.raw()); break;
        case xml::Token::end: out.push_back("end"); return out;
        case xml::Token::error: out.push_back("error"); return out;
        }
    }
}

bool well_formed(std::string_view doc) { return tokens(doc).back() == "end"; }

std::string value(std::string_view raw, bool cdata = false) {
    std::string scratch;
    return std::string(xml::text_value(raw, cdata, scratch));
}

const char* kAlert = "<EventNotificationAlert version=\"2.0\" xmlns=\"http://www.isapi.org/ver20/XMLSchema\">\n"
                     "<channelID>3</channelID>\n<dateTime>2024-01-02T03:04:05+01:00</dateTime>\n"
                     "<eventType>VMD</eventType>\n<eventState>active</eventState>\n"
                     "<eventDescription>Motion alarm</eventDescription>\n</EventNotificationAlert>\n";

// The old path escaped every stray '&' of the document before parsing, CDATA
// included, which turned "a&b" inside CDATA into "a&amp;b": the one place the
// scanner deliberately differs (it keeps CDATA verbatim).
bool reference_mangles(std::string_view body) {
    return body.find("<![CDATA[") != std::string_view::npos && has_stray_ampersand(body);
}

void check_same(std::string_view body) {
    if (reference_mangles(body)) return;
    const std::string got = decoded_text(decode_xml(body));
    const std::string want = decoded_text(reference_decode_xml(body));
    if (got != want) {
        INFO("part: " << body);
        CHECK(got == want);
    }
}

} // namespace

TEST_CASE("xml scanner: tokens of a well-formed alert, attributes and the declaration skipped", "[hikvision][xml]") {
    auto t = tokens(std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n") + kAlert);
    REQUIRE(t.size() == 18); // root, 5 children x (open, text, close), root close, end
    CHECK(t[0] == "<EventNotificationAlert");
    CHECK(t[1] == "<channelID");
    CHECK(t[2] == "t:3");
    CHECK(t[3] == ">channelID");
    CHECK(t[16] == ">EventNotificationAlert");
    CHECK(t[17] == "end");
}

TEST_CASE("xml scanner: self-closing tags, comments, PIs, CDATA; a DOCTYPE is refused", "[hikvision][xml]") {
    CHECK(tokens("<a><b/><c x='1' y=\"2\" /></a>") ==
          std::vector<std::string>{"<a", "<b", ">b", "<c", ">c", ">a", "end"});
    CHECK(tokens("<!-- c --><a><?pi x?>v<!-- - -- --></a><!--t-->") ==
          std::vector<std::string>{"<a", "t:v", ">a", "end"});
    CHECK_FALSE(well_formed("<!DOCTYPE a [<!ENTITY x '>'>]><a>&x;</a>"));
    CHECK_FALSE(well_formed("<!DOCTYPE a><a/>"));
    CHECK(tokens("<a>  <![CDATA[ <x>&amp; ]]> z</a>") ==
          std::vector<std::string>{"<a", "c: <x>&amp; ", "t: z", ">a", "end"});
    CHECK(tokens("<a><![CDATA[]]></a>") == std::vector<std::string>{"<a", "c:", ">a", "end"});
    // Whitespace-only text is not a token (pugixml makes no node of it).
    CHECK(tokens("<a>\r\n\t <b/>\n</a>") == std::vector<std::string>{"<a", "<b", ">b", ">a", "end"});
}

TEST_CASE("xml scanner: namespaces and prefixes are part of the name; local_name strips them",
          "[hikvision][xml]") {
    auto t = tokens("<ns:EventNotificationAlert xmlns:ns='urn:psialliance-org'><ns:eventType>VMD</ns:eventType>"
                    "</ns:EventNotificationAlert>");
    REQUIRE(t.back() == "end");
    CHECK(t[1] == "<ns:eventType");
    CHECK(xml::local_name("ns:eventType") == "eventType");
    CHECK(xml::local_name("a:b:c") == "c");
    CHECK(xml::local_name("eventType") == "eventType");
    CHECK_FALSE(well_formed("<ns:a>x</ns:b>"));
    CHECK_FALSE(well_formed("<ns:a>x</a>")); // the end tag repeats the prefix
}

TEST_CASE("xml scanner: malformed documents are rejected with a message and an offset", "[hikvision][xml]") {
    for (const char* bad :
         {"", "   ", "no markup at all", "<a>x", "<a><b></a>", "<a>x</b>", "<a>x</a></b>", "< a>x</a>", "<a>x</ a>",
          "<a>1<2</a>", "<1a/>", "<a b=1>x</a>", "<a b>x</a>", "<a b=\"x\"c=\"y\">x</a>", "<a b=\"x>", "<a/ >",
          "<a><![CDATA[x]]y</a>", "<a>x<!DOCTYPE b></a>", "<a><!---></a>", "<a><!-- x -- ></a>", "<a>x</a><",
          "<? ?><a/>", "<a>x</a><?pi", "<!DOCTYPE a [<a/>", "<a", "<a>x</a", "<a>\0x</a>", "<a><!x></a>"}) {
        INFO(bad);
        xml::Scanner sc(bad);
        xml::Token t;
        while ((t = sc.next()) != xml::Token::end && t != xml::Token::error) {
        }
        CHECK(t == xml::Token::error);
        CHECK(sc.error() != nullptr);
        CHECK(sc.offset() <= std::string_view(bad).size());
        CHECK(sc.next() == xml::Token::error); // stays failed
    }
}

TEST_CASE("xml scanner: text around the root is ignored; a NUL byte ends the document", "[hikvision][xml]") {
    CHECK(well_formed("garbage<a>x</a>garbage"));
    CHECK(well_formed("\xef\xbb\xbf<a>x</a>"));
    CHECK(well_formed("<a>x</a><b/>")); // a second top-level element (pugixml keeps the first as the root)
    CHECK(well_formed(std::string_view("<a>x</a>\0<", 10)));
}

TEST_CASE("xml scanner: truncating a real alert anywhere gives an error, never a crash", "[hikvision][xml]") {
    const std::string doc = kAlert;
    size_t errors = 0;
    for (size_t n = 0; n + 1 < doc.size(); ++n) {
        // The only complete prefix is the whole document (the final "\n" is optional).
        if (!well_formed(std::string_view(doc).substr(0, n))) ++errors;
        CHECK_FALSE(decode_xml(std::string_view(doc).substr(0, n)).error.empty());
    }
    CHECK(errors == doc.size() - 1);
}

TEST_CASE("xml scanner: huge and deeply nested input", "[hikvision][xml]") {
    // 4 MiB of text in one element: one token, no copy.
    std::string big = "<a>" + std::string(4 << 20, 'x') + "</a>";
    auto t = tokens(big);
    REQUIRE(t.size() == 4);
    CHECK(t[1].size() == 2 + (4u << 20));
    // Nesting is capped (pugixml has no cap; no device nests deeper than 6).
    std::string deep;
    for (size_t i = 0; i < xml::Scanner::kMaxDepth; ++i) deep += "<d>";
    for (size_t i = 0; i < xml::Scanner::kMaxDepth; ++i) deep += "</d>";
    CHECK(well_formed(deep));
    std::string deeper = "<e>" + deep + "</e>";
    xml::Scanner sc(deeper);
    xml::Token tok;
    while ((tok = sc.next()) != xml::Token::end && tok != xml::Token::error) {
    }
    CHECK(tok == xml::Token::error);
    CHECK(std::string(sc.error()).find("deep") != std::string::npos);
    // Many attributes, many siblings.
    std::string wide = "<a";
    for (int i = 0; i < 10000; ++i) wide += " k" + std::to_string(i) + "='v'";
    wide += ">";
    for (int i = 0; i < 10000; ++i) wide += "<b>" + std::to_string(i) + "</b>";
    wide += "</a>";
    CHECK(well_formed(wide));
}

TEST_CASE("xml text values: entities, stray '&', line ends, NUL", "[hikvision][xml]") {
    CHECK(value("plain") == "plain");
    CHECK(value("&lt;&amp;&gt;&quot;&apos;") == "<&>\"'");
    CHECK(value("&#65;&#x42;&#X43;") == "ABC");
    CHECK(value("&#233;&#x20AC;&#x1F600;") == "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    CHECK(value("Front & Back") == "Front & Back");    // stray '&' kept (old escape pass)
    CHECK(value("&bogus; &amp &#65 &#; &#123456789;") == "&bogus; &amp &#65 &#; &#123456789;");
    CHECK(value("a\r\nb\rc\n") == "a\nb\nc\n");
    CHECK(value("&#13;&#10;") == "\r\n"); // decoded CR is not a line end to normalize
    CHECK(value("ab&#0;cd") == "ab");     // pugixml values end at a NUL
    CHECK(value("x &amp; y", true) == "x &amp; y"); // CDATA: no entities
    CHECK(value("x\r\ny", true) == "x\ny");         // ... but line ends are normalized
}

TEST_CASE("decode_xml on the scanner: prefixes, CDATA, entities, stray '&'", "[hikvision][xml]") {
    auto d = decode_xml("<hik:EventNotificationAlert xmlns:hik='http://www.hikvision.com/ver20/XMLSchema'>"
                        "<hik:channelID> 7 </hik:channelID><hik:eventType><![CDATA[VMD]]></hik:eventType>"
                        "<hik:eventState>active</hik:eventState>"
                        "<hik:channelName>Front &amp; Back &#x263A; & co</hik:channelName>"
                        "<hik:eventDescription><![CDATA[a & b <c>]]></hik:eventDescription>"
                        "</hik:EventNotificationAlert>");
    REQUIRE(d.error.empty());
    REQUIRE(d.notifications.size() == 1);
    const auto& e = d.notifications[0].event;
    CHECK(e.code == "VMD");
    CHECK(e.type == "motion");
    CHECK(e.channel == 7);
    CHECK(e.attr("channel_name") == "Front & Back \xe2\x98\xba & co");
    CHECK(e.attr("description") == "a & b <c>"); // the DOM path made this "a &amp; b <c>"
    CHECK(d.notifications[0].activity == Activity::active);

    auto bad = decode_xml("<EventNotificationAlert><eventType>VMD</eventType>");
    CHECK(bad.error.find("invalid XML") == 0);
    CHECK(bad.notifications.empty());
    auto other = decode_xml("<ResponseStatus><statusCode>1</statusCode></ResponseStatus>");
    CHECK(other.error.find("not an EventNotificationAlert") == 0);
}

TEST_CASE("decode_xml equals the pugixml DOM decoder on every part of every fixture", "[hikvision][xml]") {
    namespace fs = std::filesystem;
    std::vector<std::string> bodies;
    for (const auto& entry : fs::recursive_directory_iterator(hiktest::fixture_path(""))) {
        if (!entry.is_regular_file()) continue;
        const std::string name = entry.path().filename().string();
        const std::string text = hiktest::read_file(entry.path().string());
        if (name.rfind("hiksink_samples_", 0) == 0) {
            for (auto& b : hiktest::load_samples(name)) bodies.push_back(std::move(b));
            continue;
        }
        bodies.push_back(text);
        const std::string stripped = hiktest::strip_comment_lines(text);
        bodies.push_back(stripped);
        for (const std::string* stream : {&text, &stripped})
            for (auto& p : hiktest::parse_whole(*stream, "boundary").parts)
                if (!p.is_binary()) bodies.push_back(std::move(p.body));
    }
    size_t xml_parts = 0;
    for (const auto& b : bodies) {
        check_same(b);
        xml_parts += decode_xml(b).error.empty();
    }
    // The three hiksink captures alone hold 7,867 real parts.
    CHECK(xml_parts >= hiktest::load_samples("hiksink_samples_nvr.txt").size() +
                           hiktest::load_samples("hiksink_samples_cam.txt").size() +
                           hiktest::load_samples("hiksink_samples_ptz.txt").size());

    // Hostile variants of the distinct parts: every truncation of some, and
    // random mutations with the characters XML cares about.
    std::set<std::string> distinct(bodies.begin(), bodies.end());
    std::mt19937 rng(20261123);
    const std::string alphabet = "<>/&;#x!?[]-\"'= \r\n\t:aA0\0";
    size_t truncated = 0, mutated = 0;
    for (const auto& b : distinct) {
        if (b.size() > 16 * 1024) continue;
        if (truncated < 60'000) {
            for (size_t n = 0; n < b.size(); n += 1 + b.size() / 300, ++truncated) check_same(std::string_view(b).substr(0, n));
        }
        for (int k = 0; k < 12; ++k, ++mutated) {
            std::string m = b;
            const int edits = 1 + static_cast<int>(rng() % 3);
            for (int j = 0; j < edits && !m.empty(); ++j)
                m[rng() % m.size()] = alphabet[rng() % alphabet.size()];
            check_same(m);
        }
    }
    CHECK(truncated > 1000);
    CHECK(mutated > 1000);
}

TEST_CASE("DecodeScope::for_event_state: EventState emits the same events as with everything decoded",
          "[hikvision][xml]") {
    size_t lean_parts = 0, folded_lean = 0;
    for (const char* capture : {"hiksink_samples_nvr.txt", "hiksink_samples_cam.txt", "hiksink_samples_ptz.txt"}) {
        INFO(capture);
        auto bodies = hiktest::load_samples(capture);
        // Plus a doorbell that says "inactive" (a pulse kind: published whole) and an
        // inactive with a region, to stop the region's start only.
        bodies.push_back("<EventNotificationAlert><channelID>1</channelID><eventType>doorbell</eventType>"
                         "<eventState>inactive</eventState><macAddress>aa</macAddress></EventNotificationAlert>");
        EventStateOptions o;
        o.inactive_timeout_ns = 3'000'000'000;
        EventState full(o), lean(o);
        std::vector<passerelle::Event> a, b;
        int64_t now = 1'700'000'000'000'000'000;
        for (const auto& body : bodies) {
            now += 700'000'000;
            auto da = decode_xml(body);
            // The lean side asks its EventState which keys it folds, as alert_stream.cpp does.
            auto db = decode_xml(body, DecodeScope::for_event_state, &lean);
            REQUIRE(da.error.empty() == db.error.empty());
            REQUIRE(da.notifications.size() == db.notifications.size());
            for (size_t i = 0; i < da.notifications.size(); ++i) {
                lean_parts += da.notifications[i].event.attrs.size() != db.notifications[i].event.attrs.size();
                folded_lean += da.notifications[i].activity == Activity::active &&
                               da.notifications[i].event.attrs.size() != db.notifications[i].event.attrs.size();
                full.on_notification(std::move(da.notifications[i]), now, a);
                lean.on_notification(std::move(db.notifications[i]), now, b);
            }
            full.poll(now, a);
            lean.poll(now, b);
        }
        full.flush(now, a);
        lean.flush(now, b);
        REQUIRE(a.size() == b.size());
        for (size_t i = 0; i < a.size(); ++i) {
            CHECK(a[i].type == b[i].type);
            CHECK(a[i].code == b[i].code);
            CHECK(a[i].channel == b[i].channel);
            CHECK(a[i].state == b[i].state);
            CHECK(a[i].time_ns == b[i].time_ns);
            CHECK(a[i].attrs == b[i].attrs);
        }
    }
    CHECK(lean_parts > 0); // the camera captures hold inactive parts (videoloss heartbeats at least)
    CHECK(folded_lean > 0); // and repeated actives (the NVR's ongoing motion and video loss)
}

TEST_CASE("xml scanner: an end tag cut by a NUL is malformed, whatever the buffer's last byte", "[hikvision][xml]") {
    // Found by fuzz_hikvision_xml_scan: pugixml took the buffer's final '>' as
    // the end of a tag that the NUL had cut. The document is what precedes the NUL.
    std::string body = "<EventNotificationAlert><eventType>VMD</eventType></EventNotificationAlert";
    body += std::string(12, '\0');
    body += '>';
    auto got = passerelle::hikvision::decode_xml(body);
    CHECK_FALSE(got.error.empty());
    auto cut = body.substr(0, body.find('\0'));
    CHECK(hiktest::decoded_text(passerelle::hikvision::decode_xml(cut)) == hiktest::decoded_text(got));
    CHECK(hiktest::decoded_text(hiktest::reference_decode_xml(cut)) == hiktest::decoded_text(got));
}

TEST_CASE("xml scanner: every byte value ends a name, or not, as pugixml's name characters say", "[hikvision][xml]") {
    // Names are scanned 16 bytes at a time (SSE2) and then byte by byte: put
    // each byte value at every offset of both, and after the end of a 16-byte step.
    auto name_char = [](unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == ':' ||
               c == '-' || c == '.' || c >= 0x80;
    };
    size_t checked = 0;
    for (int c = 0; c < 256; ++c) {
        for (size_t len = 1; len <= 40; ++len) {
            std::string doc(1, '<'); // (not "<" + std::string(...): GCC 12's false -Wrestrict)
            doc.append(len, 'n');
            doc += static_cast<char>(c);
            doc += "x/>";
            xml::Scanner sc(doc);
            const xml::Token t = sc.next();
            INFO("byte " << c << " after " << len << " name bytes");
            if (c == 0) {
                CHECK(t == xml::Token::error); // the document ends at the NUL: an unterminated start tag
            } else if (name_char(static_cast<unsigned char>(c))) {
                REQUIRE(t == xml::Token::open);
                CHECK(sc.name().size() == len + 2);
            } else if (c == '>') {
                REQUIRE(t == xml::Token::open); // "<nnn>" then text
                CHECK(sc.name().size() == len);
            } else {
                CHECK(t == xml::Token::error); // the name ends here and what follows is no attribute
            }
            ++checked;
        }
    }
    CHECK(checked == 256 * 40);
}

TEST_CASE("FoldQuery: a repeat EventState folds is decoded without attrs; the stop keeps the start's",
          "[hikvision][xml]") {
    auto part = [](const char* type, const char* state, const char* mac) {
        return std::string("<EventNotificationAlert><channelID>3</channelID><eventType>") + type +
               "</eventType><eventState>" + state + "</eventState><macAddress>" + mac +
               "</macAddress><targetType>human</targetType></EventNotificationAlert>";
    };
    EventState st;
    std::vector<passerelle::Event> out;
    int64_t now = 1'700'000'000'000'000'000;
    auto feed = [&](const std::string& body) {
        Decoded d = decode_xml(body, DecodeScope::for_event_state, &st);
        REQUIRE(d.notifications.size() == 1);
        const size_t attrs = d.notifications[0].event.attrs.size();
        st.on_notification(std::move(d.notifications[0]), now += 1'000'000, out);
        return attrs;
    };
    CHECK(feed(part("VMD", "active", "aa")) == 2);  // a start: mac, target
    CHECK(feed(part("VMD", "active", "bb")) == 1);  // folded: only the key's target
    CHECK(feed(part("VMD", "inactive", "cc")) == 1); // lean inactive
    // A pulse kind saying "active" is published whole, active key or not.
    CHECK(feed(part("doorbell", "active", "dd")) == 2);
    CHECK(feed(part("doorbell", "active", "ee")) == 2);
    REQUIRE(out.size() == 4);
    CHECK(out[0].state == passerelle::State::start);
    CHECK(out[1].state == passerelle::State::stop);
    CHECK(out[1].attr("mac") == "aa");
    CHECK(out[1].attr("repeats") == "1");
    CHECK(out[2].attr("mac") == "dd");
    CHECK(out[3].attr("mac") == "ee");
}

TEST_CASE("decode_part into a reused Decoded gives what a fresh one does, part after part", "[hikvision][xml]") {
    std::vector<Part> parts;
    for (auto& body : hiktest::load_samples("hiksink_samples_cam.txt")) {
        Part p;
        p.media_type = "application/xml";
        p.body = std::move(body);
        parts.push_back(std::move(p));
    }
    // Between them: an error, a JSON event, an image, an unknown type, a region list.
    auto add = [&](const char* type, std::string body) {
        Part p;
        p.media_type = type;
        p.body = std::move(body);
        parts.insert(parts.begin() + static_cast<std::ptrdiff_t>(parts.size() / 2), std::move(p));
    };
    add("application/xml", "<EventNotificationAlert><eventType>VMD</eventType>");
    add("application/json", R"({"eventType":"doorbell","dateTime":"2024-01-01T00:00:00Z"})");
    add("image/jpeg", "\xff\xd8 not really");
    add("text/plain", "hello");
    add("application/xml", "<EventNotificationAlert><channelID>2</channelID><eventType>regionEntrance</eventType>"
                           "<DetectionRegionList><DetectionRegionEntry><regionID>1</regionID></DetectionRegionEntry>"
                           "<DetectionRegionEntry><regionID>2</regionID></DetectionRegionEntry>"
                           "</DetectionRegionList></EventNotificationAlert>");
    Decoded reused;
    for (const auto& p : parts) {
        decode_part(p, DecodeScope::for_event_state, nullptr, reused);
        const Decoded fresh = decode_part(p, DecodeScope::for_event_state);
        REQUIRE(reused.error == fresh.error);
        REQUIRE(decoded_text(reused) == decoded_text(fresh));
    }
}
