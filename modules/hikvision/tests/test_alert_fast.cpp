// The alert fast path (xml::scan_flat, taken by decode_xml for the usual flat
// alert) is differential-tested against the Scanner path it shortcuts, which
// stays the reference: every fixture part, corner cases, and thousands of
// generated and damaged documents must decode identically -- events, attrs,
// errors -- whichever path reads them (flat_check.hpp).
#include "flat_check.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

using namespace passerelle::hikvision;
using hiktest::fast_path_mismatch;

namespace {

// Every text body of every fixture: the captures' parts, the single documents,
// the parts of the stream fixtures.
std::vector<std::string> fixture_bodies() {
    namespace fs = std::filesystem;
    std::vector<std::string> bodies;
    for (const auto& entry : fs::recursive_directory_iterator(hiktest::fixture_path(""))) {
        if (!entry.is_regular_file()) continue;
        const std::string name = entry.path().filename().string();
        if (name.rfind("hiksink_samples_", 0) == 0) {
            for (auto& b : hiktest::load_samples(name)) bodies.push_back(std::move(b));
            continue;
        }
        const std::string text = hiktest::read_file(entry.path().string());
        bodies.push_back(text);
        for (auto& p : hiktest::parse_whole(text, "boundary").parts)
            if (!p.is_binary()) bodies.push_back(std::move(p.body));
    }
    return bodies;
}

// Counts documents and those the fast path took; records the first mismatches.
struct Tally {
    size_t checked = 0, accepted = 0, failures = 0;
    void check(std::string_view body) {
        bool took = false;
        const std::string m = fast_path_mismatch(body, &took);
        ++checked;
        accepted += took;
        if (!m.empty()) {
            ++failures;
            if (failures <= 5) {
                INFO("document: " << body);
                INFO(m);
                CHECK(m.empty());
            }
        }
    }
};

const std::string kPlain = "<EventNotificationAlert version=\"1.0\" xmlns=\"http://www.hikvision.com/ver20/XMLSchema\">\n"
                           "<ipAddress>127.0.0.1</ipAddress>\n<portNo>80</portNo>\n<protocol>HTTP</protocol>\n"
                           "<macAddress>ff:ff:ff:ff:ff:ff</macAddress>\n<dynChannelID>7</dynChannelID>\n"
                           "<dateTime>2021-07-02T15:30:56+10:00</dateTime>\n<activePostCount>1</activePostCount>\n"
                           "<eventType>VMD</eventType>\n<eventState>active</eventState>\n"
                           "<eventDescription>Motion alarm</eventDescription>\n</EventNotificationAlert>\n";

// A random alert-like document: mostly what devices send, with every kind of
// oddity the fast path must decline (or read exactly as the Scanner does) mixed in.
// Half of them are tame (the first few choices of each list only, no odd
// form): those the fast path mostly takes.
std::string random_alert(std::mt19937& rng) {
    const bool tame = rng() % 2 == 0;
    // The first `safe` entries of a list are what a tame document uses.
    auto pick = [&](const std::vector<std::string>& v, size_t safe) -> const std::string& {
        return v[rng() % (tame ? safe : v.size())];
    };
    auto chance = [&](unsigned percent) { return tame ? percent >= 50 : rng() % 100 < percent; };
    static const std::vector<std::string> kLead = {"", "", "", "\n", "  \r\n", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
                                                   "<?xml version='1.0'?>", "<?1x?>", "<?xml", "<!-- c -->",
                                                   "\xEF\xBB\xBF", "junk", "<?a?><?b?>\n"};
    static const std::vector<std::string> kRoot = {"EventNotificationAlert", "EventNotificationAlert",
                                                   "hik:EventNotificationAlert", "a:b:EventNotificationAlert",
                                                   "EventNotificationAlerts", "Other", "eventnotificationalert"};
    static const std::vector<std::string> kAttrs = {"", " version=\"1.0\"",
                                                    " version=\"2.0\" xmlns=\"http://www.isapi.org/ver20/XMLSchema\"",
                                                    " a='x'", " a = \"x&amp;y\"", " a=\"1\"b=\"2\"", " a=b", " a=\"x",
                                                    " =\"x\"", "\t\na=\"<>\"\n", " a=\"x\"/", " a=\"\r\""};
    static const std::vector<std::string> kNames = {"eventType", "eventState", "channelID", "dynChannelID",
                                                    "inputIOPortID", "dateTime", "macAddress", "channelName",
                                                    "activePostCount", "eventDescription", "targetType",
                                                    "detectionPicturesNumber", "detectionPictureTransType",
                                                    "ipAddress", "hik:eventType", "x:y:channelID", "DetectionRegionList",
                                                    "DurationList", "VMD", "a-b.c", "\xC3\xA9t\xC3\xA9", "_", "Z9"};
    static const std::vector<std::string> kValues = {"VMD", "vmd", "active", "inactive", " Active ", "7", " 12 ",
                                                     "0", "99999999999", "2021-07-02T15:30:56+10:00",
                                                     "2024-01-02T03:04:05Z", "bad time", "", "  ", "\r\n", "\t",
                                                     "\r\nVMD\r\n", "x\r", "videoloss", "heartbeat", "doorbell",
                                                     "fielddetection", "binary", "3", "ff:ff:ff:ff:ff:ff", "human",
                                                     "a>b", "quote\"s", "\xC3\xA9", std::string(40, 'x'),
                                                     // values that need decoding, or end the document
                                                     "a&amp;b", "a&b", "&#65;", "x\ry", std::string("nul\0byte", 8)};
    static const std::vector<std::string> kSep = {"\n", "\n", "\r\n", "", " \t", "junk", "\n<!-- c -->\n", "\0"};
    std::string doc = pick(kLead, 6);
    const std::string root = pick(kRoot, 4);
    doc += "<" + root + pick(kAttrs, 5) + (chance(3) ? "/>" : ">");
    const size_t children = rng() % (chance(5) ? 40 : 14);
    for (size_t i = 0; i < children; ++i) {
        doc += chance(90) ? "\n" : pick(kSep, 5);
        const std::string name = pick(kNames, kNames.size());
        const std::string value = pick(kValues, kValues.size() - 5);
        switch (chance(85) ? 0 : rng() % 9) {
        case 0: doc += "<" + name + ">" + value + "</" + name + ">"; break;
        case 1: doc += "<" + name + "/>"; break;
        case 2: doc += "<" + name + " a=\"1\">" + value + "</" + name + ">"; break;
        case 3: doc += "<" + name + ">" + value + "</" + name + " >"; break;
        case 4: doc += "<" + name + ">" + value + "</" + name + "x>"; break;
        case 5: doc += "<" + name + "><![CDATA[" + value + "]]></" + name + ">"; break;
        case 6: doc += "<DetectionRegionList><DetectionRegionEntry><regionID>" + value +
                       "</regionID><detectionTarget>human</detectionTarget></DetectionRegionEntry></DetectionRegionList>";
                break;
        case 7: doc += "<DurationList><Duration><relationEvent>" + value + "</relationEvent></Duration></DurationList>"; break;
        default: doc += "<" + name + ">" + value + "<!-- c --></" + name + ">"; break;
        }
    }
    doc += chance(90) ? "\n" : pick(kSep, 5);
    if (!chance(3)) doc += "</" + (chance(97) ? root : std::string("Other")) + (chance(5) ? " \n>" : ">");
    static const std::vector<std::string> kTrail = {"\n", "\n", "", "\r\n", "  ", "junk", "<x/>", "<!-- c -->",
                                                    std::string("\0tail", 5), "<"};
    doc += pick(kTrail, 5);
    return doc;
}

// One to three edits with the bytes XML cares about: replace, insert, delete.
std::string damage(std::string doc, std::mt19937& rng) {
    static const std::string kBytes = std::string("<>/&;#x!?[]-\"'= \r\n\t:aA0") + '\0';
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int j = 0; j < edits && !doc.empty(); ++j) {
        const size_t at = rng() % doc.size();
        const char c = kBytes[rng() % kBytes.size()];
        switch (rng() % 3) {
        case 0: doc[at] = c; break;
        case 1: doc.insert(doc.begin() + static_cast<std::ptrdiff_t>(at), c); break;
        default: doc.erase(at, 1); break;
        }
    }
    return doc;
}

} // namespace

TEST_CASE("alert fast path: every fixture part decodes as with the Scanner alone", "[hikvision][xml][fast]") {
    Tally t;
    for (const auto& b : fixture_bodies()) t.check(b);
    CHECK(t.failures == 0);
    // The NVR capture alone is 5,581 flat parts: the fast path must take them.
    CHECK(t.accepted >= hiktest::load_samples("hiksink_samples_nvr.txt").size());
    CHECK(t.accepted < t.checked); // and decline the others (extensions, region lists, JSON...)
}

TEST_CASE("alert fast path: corner cases decode as with the Scanner alone", "[hikvision][xml][fast]") {
    auto nul = [](std::string a, const std::string& b) { return a + '\0' + b; };
    const std::string root_end = "</EventNotificationAlert>";
    const std::vector<std::string> docs = {
        kPlain,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n" + kPlain,
        "<hik:EventNotificationAlert xmlns:hik=\"x\"><hik:eventType>VMD</hik:eventType></hik:EventNotificationAlert>",
        "<EventNotificationAlert><a:b:eventType>VMD</a:b:eventType></EventNotificationAlert>",
        "<EventNotificationAlert><eventType> VMD \r\n</eventType></EventNotificationAlert>",
        "<EventNotificationAlert><eventType>V\rMD</eventType></EventNotificationAlert>",
        "<EventNotificationAlert><eventType>VMD</eventType><channelName>a&amp;b</channelName></EventNotificationAlert>",
        "<EventNotificationAlert><eventType>VMD</eventType><channelName>a&b</channelName></EventNotificationAlert>",
        "<EventNotificationAlert a=\"&amp;\r\"><eventType>VMD</eventType></EventNotificationAlert>",
        "<EventNotificationAlert><eventType>VMD</eventType><channelName/></EventNotificationAlert>",
        "<EventNotificationAlert><eventType>VMD</eventType><channelName></channelName></EventNotificationAlert>",
        "<EventNotificationAlert><eventType>VMD</eventType><channelName>  </channelName></EventNotificationAlert>",
        "<EventNotificationAlert><eventType>VMD</eventType ></EventNotificationAlert>",
        "<EventNotificationAlert><eventType>VMD</eventTypes></EventNotificationAlert>",
        "<EventNotificationAlert><eventType>VMD</eventType></EventNotificationAlert >\n",
        "<EventNotificationAlert><eventType>VMD</eventType></EventNotificationAlert>trailing text",
        "<EventNotificationAlert><eventType>VMD</eventType></EventNotificationAlert><!-- c -->",
        "<EventNotificationAlert><eventType>VMD</eventType></EventNotificationAlert><second/>",
        "<EventNotificationAlert><eventType>VMD</eventType></EventNotificationAlert",
        "<EventNotificationAlert><eventType>VMD</eventType>",
        "<EventNotificationAlert/>",
        "<EventNotificationAlert></EventNotificationAlert>",
        "<EventNotificationAlert>text<eventType>VMD</eventType></EventNotificationAlert>",
        "<EventNotificationAlert><eventType><![CDATA[VMD]]></eventType></EventNotificationAlert>",
        "<EventNotificationAlert><eventType>VMD<!-- c --></eventType></EventNotificationAlert>",
        "<EventNotificationAlert><eventType a=\"1\">VMD</eventType></EventNotificationAlert>",
        "<EventNotificationAlert><VMD><x>1</x></VMD><eventType>VMD</eventType></EventNotificationAlert>",
        "<EventNotificationAlert><eventType>VMD</eventType><eventType>PIR</eventType></EventNotificationAlert>",
        "<Other><eventType>VMD</eventType></Other>",
        // Decoded lean first, then whole again (a pulse kind, a heartbeat): the same path both times.
        "<EventNotificationAlert><channelID>1</channelID><eventType>doorbell</eventType>"
        "<eventState>inactive</eventState><macAddress>aa</macAddress></EventNotificationAlert>",
        "<EventNotificationAlert><eventType>heartbeat</eventType><eventState>inactive</eventState>"
        "<channelName>x</channelName></EventNotificationAlert>",
        "<EventNotificationAlerts><eventType>VMD</eventType></EventNotificationAlerts>",
        "\xEF\xBB\xBF" + kPlain,
        "<!DOCTYPE x>" + kPlain,
        "<?xml?>" + kPlain,
        "<?1?>" + kPlain,
        "<?xml " + kPlain,
        nul("<EventNotificationAlert><eventType>VMD", "</eventType></EventNotificationAlert>"),
        nul("<EventNotificationAlert a=\"", "\"><eventType>VMD</eventType></EventNotificationAlert>"),
        nul("<?xml ", "?><EventNotificationAlert><eventType>VMD</eventType></EventNotificationAlert>"),
        nul("<EventNotificationAlert><eventType>VMD</eventType></EventNotificationAlert>", "junk"),
        nul("<EventNotificationAlert>", "<eventType>VMD</eventType></EventNotificationAlert>"),
        nul("<EventNotificationAlert><eventType>VMD</eventType>", "</EventNotificationAlert>"),
        "<EventNotificationAlert a=\"1\"b=\"2\"><eventType>VMD</eventType></EventNotificationAlert>",
        "<EventNotificationAlert a=1><eventType>VMD</eventType></EventNotificationAlert>",
        "<EventNotificationAlert\n\ta\n=\n'1'\n><eventType>VMD</eventType></EventNotificationAlert>",
    };
    Tally t;
    for (const auto& d : docs) {
        t.check(d);
        // Every prefix too: truncation anywhere.
        for (size_t n = 0; n < d.size(); ++n) t.check(std::string_view(d).substr(0, n));
    }
    // More children than the fast path's array: the Scanner reads them.
    std::string many = "<EventNotificationAlert>";
    for (int i = 0; i < 40; ++i) many += "<f" + std::to_string(i) + ">v</f" + std::to_string(i) + ">";
    t.check(many + "<eventType>VMD</eventType>" + root_end);
    CHECK(t.failures == 0);
    CHECK(t.accepted > 20);
}

TEST_CASE("alert fast path: generated and damaged documents decode as with the Scanner alone",
          "[hikvision][xml][fast]") {
    std::mt19937 rng(20261124);
    Tally t;
    for (int i = 0; i < 20'000; ++i) {
        const std::string doc = random_alert(rng);
        t.check(doc);
        t.check(damage(doc, rng));
    }
    // Damaged real parts: the distinct fixture bodies, a few edits each.
    const auto bodies = fixture_bodies();
    for (size_t i = 0; i < bodies.size(); i += 7)
        for (int k = 0; k < 4; ++k) t.check(damage(bodies[i], rng));
    CHECK(t.failures == 0);
    CHECK(t.checked > 40'000);
    // Both paths are exercised: the fast path takes many, declines many.
    CHECK(t.accepted > t.checked / 10);
    CHECK(t.accepted < t.checked * 4 / 5);
}

TEST_CASE("alert fast path: it takes the usual alert, with the fields mapped", "[hikvision][xml][fast]") {
    xml::Leaf leaves[32];
    const size_t n = xml::scan_flat(kPlain, "EventNotificationAlert", leaves, std::size(leaves));
    REQUIRE(n == 10);
    CHECK(leaves[0].name() == "ipAddress");
    CHECK(leaves[0].text() == "127.0.0.1");
    CHECK(leaves[9].name() == "eventDescription");
    CHECK(leaves[9].text() == "Motion alarm");
    CHECK(xml::scan_flat(kPlain, "EventNotificationAlert", leaves, 9) == xml::kNotFlat);
    const Decoded d = decode_xml(kPlain);
    REQUIRE(d.notifications.size() == 1);
    CHECK(d.notifications[0].event.code == "VMD");
    CHECK(d.notifications[0].event.channel == 7);
    CHECK(d.notifications[0].event.attr("description") == "Motion alarm");
}
