// demo.so through the module harness: config checks, the emit action, the
// timed story (with a short interval, bounded waits) and stopping.
#include "module_harness.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

using passerelle::Event;
using passerelle::State;
using passerelle::testing::ModuleHarness;
using passerelle::testing::module_path;
using namespace std::chrono_literals;

TEST_CASE("demo declares itself", "[demo]") {
    ModuleHarness h(module_path("demo"));
    CHECK(std::string(h.descriptor().name) == "demo");
    REQUIRE(h.find_key("interval"));
    CHECK(h.find_key("interval")->type == PL_KEY_DURATION);
    CHECK(std::string(h.find_key("interval")->default_value) == "5s");
    REQUIRE(h.find_key("channels"));
    CHECK(std::string(h.find_key("channels")->default_value) == "2");
    REQUIRE(h.find_key("sequence"));
    CHECK(h.find_key("sequence")->type == PL_KEY_STRING_LIST);
    CHECK(h.find_action("emit"));
}

TEST_CASE("demo refuses bad configs with the key at fault", "[demo]") {
    struct Case {
        const char* config;
        const char* key;
    };
    const Case cases[] = {
        {R"({"interval": "0s"})", "interval"},
        {R"({"interval": "soon"})", "interval"},
        {R"({"channels": 0})", "channels"},
        {R"({"channels": 1000})", "channels"},
        {R"({"sequence": ["motion", "smoke"]})", "sequence"},
        {R"({"colour": "red"})", "colour"},
    };
    for (const auto& c : cases) {
        ModuleHarness h(module_path("demo"));
        auto created = h.create(c.config);
        INFO(c.config << " -> " << created.error_key << ": " << created.error_message);
        CHECK(created.status == PL_ERR_INVALID);
        CHECK(created.error_key == c.key);
    }
}

TEST_CASE("emit publishes the event described by the params", "[demo]") {
    ModuleHarness h(module_path("demo"));
    REQUIRE(h.create(R"({"interval": "1h"})", {.instance_name = "front_door"}).ok());
    REQUIRE(h.start() == PL_OK);

    const int64_t before =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    auto r = h.invoke("emit", R"({"type": "doorbell", "code": "BackKeyLight", "channel": 1, "state": "start",
                                  "caller": "Porte avant", "floor": 2, "urgent": true})");
    INFO(r.result);
    REQUIRE(r.status == PL_OK);
    CHECK(r.result == R"({"published":true})");
    REQUIRE(h.wait_for_events(1, 2s));

    const Event e = h.events().at(0);
    CHECK(e.source == "front_door");
    CHECK(e.module == "demo");
    CHECK(e.type == "doorbell");
    CHECK(e.code == "BackKeyLight");
    CHECK(e.channel == 1);
    CHECK(e.state == State::start);
    CHECK(e.attrs.size() == 3);
    CHECK(e.attr("caller") == "Porte avant");
    CHECK(e.attr("floor") == "2");
    CHECK(e.attr("urgent") == "true");
    CHECK(e.time_ns >= before);
    CHECK(h.counter("events_published") == 1);

    // Only the type is required: pulse on channel 1 with code "Demo".
    REQUIRE(h.invoke("emit", R"({"type": "motion"})").status == PL_OK);
    REQUIRE(h.wait_for_events(2, 2s));
    const Event m = h.events().at(1);
    CHECK(m.type == "motion");
    CHECK(m.code == "Demo");
    CHECK(m.channel == 1);
    CHECK(m.state == State::pulse);
    CHECK(m.attrs.empty());
}

TEST_CASE("emit refuses bad params and publishes nothing", "[demo]") {
    ModuleHarness h(module_path("demo"));
    REQUIRE(h.create(R"({"interval": "1h", "channels": 2})").ok());
    REQUIRE(h.start() == PL_OK);
    const char* bad[] = {
        R"({})",                                  // no type
        R"({"type": ""})",                        // empty type
        R"({"type": "Bad Type"})",                // not a word
        R"({"type": "motion", "state": "maybe"})", // unknown state
        R"({"type": "motion", "channel": 3})",    // beyond `channels`
        R"({"type": "motion", "channel": -1})",
        R"({"type": "motion", "channel": "one"})",
        R"({"type": "motion", "zone": {"x": 1}})", // attrs are strings
        R"({"type": "motion", "zone": [1, 2]})",
        R"(["type", "motion"])",                   // not an object: no type
        R"({"type": "motion")",                    // truncated JSON
    };
    for (const char* params : bad) {
        auto r = h.invoke("emit", params);
        INFO(params << " -> " << r.result);
        CHECK(r.status == PL_ERR_INVALID);
        CHECK_FALSE(r.result.empty());
    }
    CHECK(h.invoke("dance").status == PL_ERR_UNKNOWN_ACTION);
    CHECK(h.event_count() == 0);
}

TEST_CASE("every interval the next step of the story is published", "[demo]") {
    ModuleHarness h(module_path("demo"));
    REQUIRE(h.create(R"({"interval": "20ms"})").ok());
    REQUIRE(h.start() == PL_OK);
    CHECK(h.health().state == "ok");
    REQUIRE(h.wait_for_events(12, 10s));
    h.stop();
    const auto events = h.events();

    struct Expect {
        const char* type;
        State state;
        int channel;
    };
    const Expect story[] = {
        {"motion", State::start, 1},        {"motion", State::stop, 1},
        {"doorbell", State::pulse, 1},      {"line_crossing", State::pulse, 2},
        {"intrusion", State::start, 2},     {"intrusion", State::stop, 2},
        {"io_alarm", State::start, 1},      {"io_alarm", State::stop, 1},
        {"tamper", State::start, 2},        {"tamper", State::stop, 2},
    };
    for (size_t i = 0; i < 12; ++i) {
        const Expect& x = story[i % std::size(story)]; // it cycles
        INFO("event " << i);
        CHECK(events[i].type == x.type);
        CHECK(events[i].state == x.state);
        CHECK(events[i].channel == x.channel);
        CHECK_FALSE(events[i].code.empty());
        CHECK(events[i].source == "test");
    }
    CHECK(events[0].code == "VideoMotion");
    CHECK(events[0].attr("target") == "human");
    CHECK(events[0].attr("region") == "1");
    CHECK(events[3].attr("target") == "vehicle");
}

TEST_CASE("sequence and channels shape the story", "[demo]") {
    ModuleHarness h(module_path("demo"));
    REQUIRE(h.create(R"({"interval": "20ms", "channels": 1, "sequence": ["doorbell", "tamper"]})").ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_events(6, 10s));
    h.stop();
    const auto events = h.events();
    const std::pair<const char*, State> expected[] = {
        {"doorbell", State::pulse}, {"tamper", State::start}, {"tamper", State::stop}};
    for (size_t i = 0; i < 6; ++i) {
        INFO("event " << i);
        CHECK(events[i].type == expected[i % 3].first);
        CHECK(events[i].state == expected[i % 3].second);
        CHECK(events[i].channel == 1); // folded into the one channel
    }
}

TEST_CASE("after stop nothing more is published", "[demo]") {
    ModuleHarness h(module_path("demo"));
    REQUIRE(h.create(R"({"interval": "10ms"})").ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_events(3, 10s));
    h.stop();
    CHECK(h.pending_timers() == 0);
    const size_t count = h.event_count();
    std::this_thread::sleep_for(100ms); // ten intervals
    CHECK(h.event_count() == count);
}
