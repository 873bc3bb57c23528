// Event text parsing and the Dahua code -> normalized type mapping, driven by the
// captures where they exist.
#include "event_mapping.hpp"
#include "event_text.hpp"
#include "fixture_io.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sstream>

using namespace passerelle;
using namespace passerelle::dahua;
using dahua_test::http_fixture;

TEST_CASE("event text: plain fields, multi-line data with ';' and '='") {
    auto ev = parse_event_text("Code=CrossLineDetection;action=Start;index=2;data={\n   \"Name\" : \"a;b=c\",\n"
                               "   \"Object\" : { \"ObjectType\" : \"Human\" }\n}\r\n");
    REQUIRE(ev);
    CHECK(ev->code == "CrossLineDetection");
    CHECK(ev->action == "Start");
    CHECK(ev->index == 2);
    CHECK(ev->data == "{\n   \"Name\" : \"a;b=c\",\n   \"Object\" : { \"ObjectType\" : \"Human\" }\n}");

    auto plain = parse_event_text("Code=VideoMotion;action=Stop;index=0");
    REQUIRE(plain);
    CHECK(plain->data.empty());
    CHECK(plain->index == 0);

    CHECK_FALSE(parse_event_text(""));
    CHECK_FALSE(parse_event_text("garbage without fields"));
    CHECK_FALSE(parse_event_text("action=Start;index=0"));
    auto odd = parse_event_text("Code=X;index=notanumber;extra=1;noequals;");
    REQUIRE(odd);
    CHECK_FALSE(odd->index);
    REQUIRE(odd->extra.size() == 1);
    CHECK(odd->extra[0].first == "extra");
}

TEST_CASE("event text: several events in one body") {
    auto evs = parse_event_texts("Code=VideoMotion;action=Start;index=0;data={\n   \"a\" : 1\n}\r\n"
                                 "Code=AlarmLocal;action=Stop;index=3\r\n");
    REQUIRE(evs.size() == 2);
    CHECK(evs[0].data == "{\n   \"a\" : 1\n}");
    CHECK(evs[1].code == "AlarmLocal");
    CHECK(evs[1].index == 3);
}

TEST_CASE("mapping the rroller166 SmartMotionVehicle body (verbatim)") {
    auto events = map_part_body(http_fixture("rroller-166_SmartMotionVehicle_Stop_body.txt"));
    REQUIRE(events.size() == 1);
    const Event& e = events[0];
    CHECK(e.module == "dahua");
    CHECK(e.type == "motion");
    CHECK(e.code == "SmartMotionVehicle");
    CHECK(e.channel == 1);
    CHECK(e.state == State::stop);
    CHECK(e.attr("target") == "vehicle");
    CHECK(e.attr("region") == "Region1");
    CHECK(e.attr("data.RegionName") == "Region1");
    CHECK(e.attr("data.WindowId") == "0");
    CHECK(e.attr("data.object[0].VehicleID") == "114");
    CHECK(e.attr("data.object[0].Rect") == "6448,3720,7856,5600");
    CHECK(e.attr("data").substr(0, 1) == "{");
}

TEST_CASE("mapping the NVR VideoMotion parts: index is 0-based, channel 1-based") {
    auto events = map_part_body("Code=VideoMotion;action=Start;index=7;data={\n   \"SmartMotionEnable\" : false\n}");
    REQUIRE(events.size() == 1);
    CHECK(events[0].channel == 8);
    CHECK(events[0].state == State::start);
    CHECK(events[0].attr("data.SmartMotionEnable") == "false");
    CHECK(events[0].attrs.count("target") == 0);
}

TEST_CASE("VideoMotionInfo state refreshes are not events") {
    CHECK(map_part_body("Code=VideoMotionInfo;action=State;index=0").empty());
}

TEST_CASE("invalid data JSON keeps the raw text") {
    auto events = map_part_body("Code=VideoMotion;action=Start;index=0;data={ \"broken\" : ");
    REQUIRE(events.size() == 1);
    CHECK(events[0].attr("data") == "{ \"broken\" :");
    CHECK(events[0].attr("data_invalid") == "true");
}

TEST_CASE("flattening is bounded") {
    std::string data = "{";
    for (int i = 0; i < 1000; ++i) {
        if (i) data += ',';
        data += "\"k";
        data += std::to_string(i);
        data += "\":{\"v\":1}";
    }
    data += "}";
    auto events = map_part_body("Code=X;action=Pulse;index=0;data=" + data);
    REQUIRE(events.size() == 1);
    CHECK(events[0].attrs.size() <= kMaxFlattenedAttrs + 4);
    std::string deep(5000, '[');
    deep += std::string(5000, ']');
    auto deep_events = map_part_body("Code=X;action=Pulse;data=" + deep);
    REQUIRE(deep_events.size() == 1);
}

TEST_CASE("mapping table") {
    struct Row {
        const char* text;
        const char* type;
        State state;
        const char* target;
        const char* region;
    };
    const Row rows[] = {
        {"Code=VideoMotion;action=Start;index=0", "motion", State::start, "", ""},
        {"Code=SmartMotionHuman;action=Start;index=0", "motion", State::start, "human", ""},
        {"Code=SmartMotionVehicle;action=Stop;index=0", "motion", State::stop, "vehicle", ""},
        {"Code=CrossRegionDetection;action=Start;index=0;data={\"Name\":\"Rule1\",\"Object\":{\"ObjectType\":\"Human\"}}",
         "intrusion", State::start, "human", "Rule1"},
        {"Code=CrossLineDetection;action=Pulse;index=0;data={\"Name\":\"Fence\",\"Object\":{\"ObjectType\":\"Vehicle\"}}",
         "line_crossing", State::pulse, "vehicle", "Fence"},
        {"Code=CrossRegionDetection;action=Start;index=0;data={\"RuleId\":3,\"Objects\":[{\"ObjectType\":\"MotorVehicle\"}]}",
         "intrusion", State::start, "vehicle", "3"},
        {"Code=AlarmLocal;action=Start;index=0", "io_alarm", State::start, "", ""},
        {"Code=VideoLoss;action=Start;index=0", "video_loss", State::start, "", ""},
        {"Code=VideoBlind;action=Start;index=0", "tamper", State::start, "", ""},
        {"Code=_DoTalkAction_;action=Pulse;index=0;data={\"Action\":\"Invite\"}", "doorbell", State::pulse, "", ""},
        {"Code=_DoTalkAction_;action=Pulse;index=0;data={\"Action\":\"Hangup\"}", "other", State::pulse, "", ""},
        {"Code=CallNoAnswered;action=Start;index=0", "doorbell", State::start, "", ""},
        {"Code=BackKeyLight;action=Pulse;index=0;data={\"State\":1}", "doorbell", State::pulse, "", ""},
        {"Code=BackKeyLight;action=Pulse;index=0;data={\"State\":2}", "doorbell", State::pulse, "", ""},
        {"Code=BackKeyLight;action=Pulse;index=0;data={\"State\":0}", "other", State::pulse, "", ""},
        {"Code=PhoneCallDetect;action=Start;index=0", "doorbell", State::start, "", ""},
        {"Code=DoorStatus;action=Pulse;index=0;data={\"Status\":\"Open\"}", "door", State::start, "", ""},
        {"Code=DoorStatus;action=Pulse;index=0;data={\"Status\":\"Close\"}", "door", State::stop, "", ""},
        {"Code=AccessControl;action=Pulse;index=0;data={\"Method\":1}", "door", State::pulse, "", ""},
        {"Code=StorageFailure;action=Start;index=0", "storage_error", State::start, "", ""},
        {"Code=StorageLowSpace;action=Start;index=0", "storage_error", State::start, "", ""},
        {"Code=LoginFailure;action=Pulse;index=0", "login_failure", State::pulse, "", ""},
        {"Code=AudioMutation;action=Start;index=0", "audio", State::start, "", ""},
        {"Code=AudioAnomaly;action=Start;index=0", "audio", State::start, "", ""},
        {"Code=SceneChange;action=Pulse;index=0", "scene_change", State::pulse, "", ""},
        {"Code=LeftDetection;action=Start;index=0", "object_left", State::start, "", ""},
        {"Code=TakenAwayDetection;action=Start;index=0", "object_removed", State::start, "", ""},
        {"Code=FaceDetection;action=Start;index=0", "face", State::start, "", ""},
        {"Code=TimeChange;action=Pulse;index=0", "other", State::pulse, "", ""},
        {"Code=SomethingNew;action=Start;index=0", "other", State::start, "", ""},
    };
    for (const auto& r : rows) {
        INFO(r.text);
        auto events = map_part_body(r.text);
        REQUIRE(events.size() == 1);
        CHECK(events[0].type == r.type);
        CHECK(events[0].state == r.state);
        CHECK(events[0].attr("target") == r.target);
        CHECK(events[0].attr("region") == r.region);
        CHECK(events[0].channel == 1);
    }
}

TEST_CASE("doorbell captures (AD110 / AD410 parsed dicts) map to the documented types") {
    // Each capture line is a Python dict; turn it into JSON and then into event text.
    std::istringstream lines(http_fixture("amcrest-ad110-ad410-doorbell_events_parsed.txt"));
    std::vector<std::pair<std::string, State>> got;
    std::vector<Event> events;
    for (std::string line; std::getline(lines, line);) {
        auto brace = line.find('{');
        if (line.empty() || line[0] == '#' || brace == std::string::npos) continue;
        std::string js = line.substr(brace);
        for (char& c : js)
            if (c == '\'') c = '"';
        auto j = nlohmann::json::parse(js, nullptr, false);
        REQUIRE_FALSE(j.is_discarded());
        EventText t;
        t.code = j.value("Code", "");
        t.action = j.contains("action") ? j["action"].get<std::string>() : j.value("Action", "");
        if (j.contains("index")) t.index = std::stol(j["index"].get<std::string>());
        if (j.contains("Index")) t.index = j["Index"].get<long>();
        if (j.contains("data")) t.data = j["data"].dump();
        if (j.contains("Data")) t.data = j["Data"].dump();
        auto e = map_event(t);
        REQUIRE(e);
        events.push_back(*e);
    }
    // Read off the capture: AlarmLocal, VideoMotion, PIR start/stop, talk Invite,
    // CallNoAnswered (AD110); CallNoAnswered, PhoneCallDetect, NewFile (AD410).
    const std::pair<const char*, State> expected[] = {
        {"io_alarm", State::start}, {"motion", State::start},   {"pir", State::start},
        {"pir", State::stop},       {"doorbell", State::pulse}, {"doorbell", State::start},
        {"doorbell", State::start}, {"doorbell", State::start}, {"other", State::pulse},
    };
    REQUIRE(events.size() == std::size(expected));
    for (std::size_t i = 0; i < events.size(); ++i) {
        INFO(events[i].code);
        CHECK(events[i].type == expected[i].first);
        CHECK(events[i].state == expected[i].second);
    }
    CHECK(events[0].channel == 0); // AlarmLocal without index
    CHECK(events[2].channel == 1);
    CHECK(events[2].time_ns == 1601635273LL * 1000000000LL); // data.UTC
    CHECK(events[4].attr("data.CallID") == "20201002104117@838181@192.168.2.25");
    CHECK(events[6].time_ns == 1630272364LL * 1000000000LL);
}
