// The flat reader of the data JSON (data_flat.hpp) against its reference: every
// event mapped through it must equal the event mapped through nlohmann's DOM
// (map_event_dom), on the captures, on hand-picked corner cases and on random
// documents. fuzz_dahua_data_json checks the same on arbitrary bytes.
#include "data_flat.hpp"
#include "event_mapping.hpp"
#include "event_text.hpp"
#include "fixture_io.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

using namespace passerelle;
using namespace passerelle::dahua;

namespace {

void check_same(const EventText& ev) {
    auto fast = map_event(EventText(ev));
    auto dom = map_event_dom(EventText(ev));
    REQUIRE(fast.has_value() == dom.has_value());
    if (!fast) return;
    CHECK(fast->type == dom->type);
    CHECK(fast->code == dom->code);
    CHECK(fast->module == dom->module);
    CHECK(fast->channel == dom->channel);
    CHECK(fast->state == dom->state);
    CHECK(fast->time_ns == dom->time_ns);
    CHECK(fast->attrs == dom->attrs);
}

// The data text under each code whose mapping reads the data.
void check_data(const std::string& data) {
    INFO("data=" << data);
    for (const char* code : {"VideoMotion", "_DoTalkAction_", "BackKeyLight", "ProfileAlarmTransmit", "DoorStatus",
                             "SmartMotionHuman", "CrossRegionDetection"}) {
        EventText ev;
        ev.code = code;
        ev.action = "Pulse";
        ev.index = 0;
        ev.data = data;
        check_same(ev);
    }
}

const std::vector<std::string> kCorners = {
    "{\n   \"SendNs\" : 1700000000000000000,\n   \"Seq\" : 12\n}", // the daemon benchmark's
    "{}", "[]", "5", "\"text\"", "null", "true", "[1,\"a\",null,true,false,-3]", "[[1],[2,[3]]]",
    "{\"b\":1,\"a\":2}", "{\"dup\":1,\"dup\":{\"x\":2},\"a\":[],\"dup\":[3,4]}",
    "{\"a.b\":1,\"a\":{\"b\":2}}", "{\"a\":{\"b\":2},\"a.b\":1}",
    "{\"UTC\":1601635273}", "{\"UTC\":\"1601635273.5\"}", "{\"UTC\":\"x\"}", "{\"UTC\":-5}", "{\"UTC\":1.5}",
    "{\"UTC\":18446744073709551615}", "{\"UTC\":[1601635273]}", "{\"UTC\":\"1601635273 \"}",
    "{\"Object\":{\"ObjectType\":\"Human\"}}", "{\"Object\":{\"ObjectType\":[\"Vehicle\",\"x\"]}}",
    "{\"Object\":{\"ObjectType\":{\"a\":1}}}", "{\"Object\":[{\"ObjectType\":\"Human\"}]}",
    "{\"Objects\":[{\"ObjectType\":\"MotorVehicle\"},{\"ObjectType\":\"Human\"}]}", "{\"Objects\":[5]}",
    "{\"Objects\":[]}", "{\"Name\":\"rule\",\"RegionName\":\"r\"}", "{\"RegionName\":[\"Region1\"]}",
    "{\"Name\":\"\",\"RuleId\":7}", "{\"RuleID\":true}", "{\"Name\":{\"x\":1}}", "{\"Name\":[{\"x\":1}]}",
    "{\"Name\":[[1,2]]}", "{\"Name\":null,\"RegionName\":false}",
    "{\"Action\":\"Invite\"}", "{\"Action\":[\"Invite\"]}", "{\"State\":1}", "{\"State\":\"2\"}",
    "{\"SenseMethod\":\"PassiveInfrared\"}", "{\"Status\":\"Open\"}", "{\"Status\":\"Close\"}",
    "{\"s\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"}", "{\"k\\\"ey\":1}", "{\"u\":\"\\u00e9\"}", "{\"f\":0.5}",
    "{\"e\":1e3}", "{\"z\":-0}", "{\"big\":123456789012345678901}", "{\"neg\":-9223372036854775808}",
    "{\"neg\":-9223372036854775809}", "{\"lead\":01}", "{\"utf8\":\"caf\xc3\xa9\"}", "{\"broken\" : ",
    "{\"a\":1,}", "[1 2]", "{\"a\":1} x", "  {\"a\" : [ 1 , { \"b\" : [ ] } ] }  ",
};

std::string nested(int depth) {
    std::string s;
    for (int i = 0; i < depth; ++i) s += "{\"k\":[";
    s += "1";
    for (int i = 0; i < depth; ++i) s += "]}";
    return s;
}

// A random document over keys the mapping reads, scalars of every kind, nesting.
std::string random_json(std::mt19937& rng, int depth) {
    static const char* keys[] = {"a", "b", "Name", "UTC", "Object", "Objects", "ObjectType", "State", "RuleId", "a.b", "_"};
    static const char* scalars[] = {"1", "0", "-7", "18446744073709551615", "\"Human\"", "\"1\"", "\"\"", "null",
                                    "true", "false", "\"x\\ny\"", "1601635273", "\"1601635273\"", "2.5"};
    const int pick = static_cast<int>(rng() % (depth > 4 ? 2u : 5u));
    if (pick < 2) return scalars[rng() % std::size(scalars)];
    const int n = static_cast<int>(rng() % 5);
    std::string s(1, pick == 2 ? '[' : '{');
    for (int i = 0; i < n; ++i) {
        if (i) s += ',';
        if (pick != 2) s += std::string("\"") + keys[rng() % std::size(keys)] + "\":";
        s += random_json(rng, depth + 1);
    }
    s += pick == 2 ? ']' : '}';
    return s;
}

} // namespace

TEST_CASE("flat data reader: the fast path accepts the plain subset, declines the rest") {
    FlatJson fj;
    CHECK(fj.parse("{\n   \"SendNs\" : 1700000000000000000,\n   \"Seq\" : 12\n}"));
    CHECK(fj.parse("{\"b\":[1,\"x\",null],\"a\":{\"c\":true}}"));
    CHECK(fj.member(FlatJson::root, "a") != FlatJson::npos);
    CHECK(*fj.scalar_text(fj.node(fj.member(FlatJson::root, "b")).first) == "1");
    CHECK_FALSE(fj.parse("{\"k\\\"ey\":1}")); // escaped key
    CHECK_FALSE(fj.parse("{\"f\":0.5}"));
    CHECK_FALSE(fj.parse("{\"u\":\"\\u00e9\"}"));
    CHECK_FALSE(fj.parse("{\"a\":1"));
    CHECK_FALSE(fj.parse(nested(40)));
}

TEST_CASE("flat data reader: same events as nlohmann's DOM on corner cases") {
    for (const auto& d : kCorners) check_data(d);
    for (int depth : {7, 8, 9, 20, 33}) check_data(nested(depth));
    std::string wide = "{";
    for (int i = 0; i < 200; ++i) wide += (i ? ",\"k" : "\"k") + std::to_string(199 - i) + "\":[" + std::to_string(i) + "]";
    check_data(wide + "}");
    std::string objs = "[";
    for (int i = 0; i < 150; ++i) objs += (i ? ",{\"v\":" : "{\"v\":") + std::to_string(i) + "}";
    check_data(objs + "]");
    // More nodes than the reader keeps between events (release_if_large), then a usual document.
    std::string big = "[";
    for (int i = 0; i < 6000; ++i) big += i ? ",[1]" : "[1]";
    check_data(big + "]");
    check_data(kCorners.front());
}

TEST_CASE("flat data reader: same events as nlohmann's DOM on the captures") {
    int events = 0;
    for (const auto& f : std::filesystem::directory_iterator(std::string(PASSERELLE_SHARED_DIR) + "/fixtures/dahua-http")) {
        const std::string wire = dahua_test::read_file(f.path().string());
        for (const auto& item : dahua_test::parse_all(wire, dahua_test::Chunking::whole)) {
            if (item.kind != CgiStreamItem::Kind::part) continue;
            for_each_event_text(item.part.body, [&](EventText&& ev) {
                INFO(f.path().filename().string() << ": " << item.part.body);
                check_same(ev);
                ++events;
            });
        }
    }
    CHECK(events > 10);
    for (const auto& f : std::filesystem::directory_iterator(std::string(DAHUA_FUZZ_DATA_JSON_DIR)))
        check_data(dahua_test::read_file(f.path().string()));
}

TEST_CASE("flat data reader: same events as nlohmann's DOM on random documents") {
    std::mt19937 rng(5);
    for (int i = 0; i < 3000; ++i) {
        std::string d = random_json(rng, 0);
        check_data(d);
        // and a damaged copy: a byte dropped or changed
        if (!d.empty()) {
            std::string bad = d;
            const std::size_t at = rng() % bad.size();
            if (rng() % 2) bad.erase(at, 1);
            else bad[at] = "{}[]\",:\\ -0a"[rng() % 13];
            check_data(bad);
        }
    }
}
