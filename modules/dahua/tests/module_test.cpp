// The dahua module (dahua.so) through the harness, against dahua_sim.py on
// 127.0.0.1. Every wait is bounded; nothing asserts on speed.
#include "module_test_support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <thread>

using namespace std::chrono_literals;
using namespace dahua_test;
using nlohmann::json;
using passerelle::testing::ModuleHarness;
using passerelle::testing::module_path;

TEST_CASE("digest stream: events with the right fields, device info and channel names") {
    auto script = script_file(json::array({
        {{"at", 1.0}, {"code", "VideoMotion"}, {"action", "Start"}, {"index", 0}},
        {{"at", 1.1}, {"code", "CrossLineDetection"}, {"action", "Start"}, {"index", 1},
         {"data", {{"Name", "Rule1"}, {"Object", {{"ObjectType", "Human"}}}, {"UTC", 1700000000}}}},
        {{"at", 1.2}, {"code", "VideoMotionInfo"}, {"action", "State"}, {"index", 0}},
        {{"at", 1.3}, {"code", "VideoMotion"}, {"action", "Stop"}, {"index", 0}},
    }));
    SimProcess sim({"--script", script});
    ModuleHarness h(module_path("dahua"));
    REQUIRE(h.create(config(sim, {{"channels", {{"2", "Garage"}}}})).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_events(3, 10s));
    auto ev = h.events();
    REQUIRE(ev.size() >= 3);
    CHECK(ev[0].type == "motion");
    CHECK(ev[0].code == "VideoMotion");
    CHECK(ev[0].channel == 1);
    CHECK(ev[0].state == passerelle::State::start);
    CHECK(ev[0].attr("channel_name") == "Camera 1"); // the device's title
    CHECK(ev[0].received_ns > 0);
    CHECK(ev[1].type == "line_crossing");
    CHECK(ev[1].channel == 2);
    CHECK(ev[1].attr("channel_name") == "Garage"); // the config overrides the device
    CHECK(ev[1].attr("target") == "human");
    CHECK(ev[1].attr("region") == "Rule1");
    CHECK(ev[1].time_ns == 1700000000LL * 1000000000LL);
    CHECK(ev[2].state == passerelle::State::stop); // the State refresh was no event
    CHECK(count_code(h, "VideoMotionInfo") == 0);
    CHECK(h.health().state == "connected");
    CHECK(wait_until([&] { return h.health().info_json.find("4H01D66PAJ2FA64") != std::string::npos; }, 5s));
    auto info = json::parse(h.health().info_json);
    CHECK(info["model"] == "IPC-HDW5231R-ZE");
    CHECK(info.dump().find("secret") == std::string::npos);
    // The stream asked for every code, with the heartbeat (the simulator logs a
    // stream when it ends: here its first, challenged, request); digest answered.
    auto streams = sim.requests_to("/cgi-bin/eventManager.cgi");
    REQUIRE_FALSE(streams.empty());
    CHECK(streams.front()["query"]["codes"] == "[All]");
    CHECK(streams.front()["query"]["heartbeat"] == "1");
    CHECK(sim.requests_to("/cgi-bin/magicBox.cgi").back()["auth"] == "digest-ok");
    std::filesystem::remove(script);
}

TEST_CASE("codes are filtered client-side") {
    SimProcess sim({"--events", "VideoMotion:Start:0,AlarmLocal:Start:0,VideoMotion:Stop:0,AlarmLocal:Stop:0"});
    ModuleHarness h(module_path("dahua"));
    REQUIRE(h.create(config(sim, {{"codes", {"AlarmLocal"}}})).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_events(2, 10s));
    std::this_thread::sleep_for(300ms);
    for (auto& e : h.events()) CHECK(e.code == "AlarmLocal");
    CHECK(h.events()[0].type == "io_alarm");
}

TEST_CASE("basic auth when that is what the device offers") {
    SimProcess sim({"--basic", "--events", "VideoMotion:Start:0"});
    ModuleHarness h(module_path("dahua"));
    REQUIRE(h.create(config(sim)).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_events(1, 10s));
    CHECK(h.events()[0].type == "motion");
    REQUIRE(wait_until([&] { return !sim.requests_to("/cgi-bin/magicBox.cgi").empty(); }, 5s));
    CHECK(sim.requests_to("/cgi-bin/magicBox.cgi").back()["auth"] == "basic-ok");
}

TEST_CASE("wrong password: auth_failed and no tight loop") {
    SimProcess sim({"--fault", "wrong_password"});
    ModuleHarness h(module_path("dahua"));
    REQUIRE(h.create(config(sim, {{"password", "Pa55-not-right"}})).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("auth_failed", 10s));
    std::this_thread::sleep_for(3s);
    // One challenge + one answer, then the slow backoff (>= 30 s): nothing more.
    auto n = sim.requests_to("/cgi-bin/eventManager.cgi").size();
    CHECK(n >= 1);
    CHECK(n <= 3);
    CHECK(h.counter("auth_failures") == 1);
    CHECK(h.health().detail.find("Pa55-not-right") == std::string::npos); // never the password
    for (auto& l : h.logs()) CHECK(l.message.find("Pa55-not-right") == std::string::npos);
}

TEST_CASE("a silent device is reconnected after 3 heartbeats + 2 s") {
    SimProcess sim({"--fault", "silent"});
    ModuleHarness h(module_path("dahua"));
    REQUIRE(h.create(config(sim)).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 10s));
    REQUIRE(h.wait_for_health("reconnecting", 12s));
    CHECK(h.health().detail.find("heartbeat") != std::string::npos);
    CHECK(wait_until([&] { return h.counter("reconnects") >= 1; }, 2s));
    // ...and the stream comes back (and goes silent again).
    REQUIRE(wait_until([&] {
        size_t connected = 0;
        for (auto& hh : h.health_history()) connected += hh.state == "connected";
        return connected >= 2;
    }, 10s));
}

TEST_CASE("heartbeats keep a quiet stream alive") {
    SimProcess sim({});
    ModuleHarness h(module_path("dahua"));
    REQUIRE(h.create(config(sim)).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 10s));
    std::this_thread::sleep_for(7s); // longer than the 5 s idle timeout
    CHECK(h.health().state == "connected");
    CHECK(h.counter("reconnects") == 0);
}

TEST_CASE("connection dropped mid-part: no broken event, reconnect, events again") {
    SimProcess sim({"--fault", "drop_mid_part", "--events", "VideoMotion:Start:0,VideoMotion:Stop:0"});
    ModuleHarness h(module_path("dahua"));
    REQUIRE(h.create(config(sim)).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_events(2, 15s)); // the first part of two streams
    CHECK(wait_until([&] { return h.counter("reconnects") >= 1; }, 2s));
    for (auto& e : h.events()) {
        CHECK(e.code == "VideoMotion");
        CHECK(e.state == passerelle::State::start); // the half Stop part was never published
    }
}

TEST_CASE("slow trickle, garbage and giant headers still give the events") {
    SECTION("trickle") {
        SimProcess sim({"--fault", "trickle", "--events", "VideoMotion:Start:0,VideoMotion:Stop:0"});
        ModuleHarness h(module_path("dahua"));
        REQUIRE(h.create(config(sim)).ok());
        REQUIRE(h.start() == PL_OK);
        REQUIRE(h.wait_for_events(2, 15s));
        CHECK(h.events()[1].state == passerelle::State::stop);
    }
    SECTION("garbage") {
        SimProcess sim({"--fault", "garbage", "--events", "VideoMotion:Start:0,VideoMotion:Stop:0"});
        ModuleHarness h(module_path("dahua"));
        REQUIRE(h.create(config(sim)).ok());
        REQUIRE(h.start() == PL_OK);
        REQUIRE(h.wait_for_events(2, 15s));
        CHECK(wait_until([&] { return h.counter("parse_errors") >= 1; }, 2s));
        CHECK(h.wait_for_log("event stream:", 2s));
    }
    SECTION("giant headers") {
        SimProcess sim({"--fault", "giant_headers", "--events", "VideoMotion:Start:0,VideoMotion:Stop:0"});
        ModuleHarness h(module_path("dahua"));
        REQUIRE(h.create(config(sim)).ok());
        REQUIRE(h.start() == PL_OK);
        REQUIRE(h.wait_for_events(2, 15s));
        CHECK(wait_until([&] { return h.counter("parse_errors") >= 1; }, 2s));
        CHECK(h.wait_for_log("headers_too_large", 2s));
    }
}

TEST_CASE("snapshots attached to the events listed in snapshot_on") {
    SimProcess sim({"--events", "AlarmLocal:Start:0,VideoMotion:Start:1"});
    ModuleHarness h(module_path("dahua"));
    REQUIRE(h.create(config(sim, {{"snapshot_on", {"motion"}}})).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_events(2, 10s));
    for (auto& e : h.events()) {
        if (e.type == "motion") {
            CHECK(e.attachment_mime == "image/jpeg");
            REQUIRE(e.attachment.size() > 4);
            CHECK(e.attachment[0] == 0xFF);
            CHECK(e.attachment[1] == 0xD8);
        } else {
            CHECK(e.attachment.empty());
        }
    }
    // The simulator logs a request after answering it.
    REQUIRE(wait_until([&] { return !sim.requests_to("/cgi-bin/snapshot.cgi").empty(); }, 5s));
    auto snaps = sim.requests_to("/cgi-bin/snapshot.cgi");
    REQUIRE(snaps.size() == 1);
    CHECK(snaps[0]["query"]["channel"] == "2"); // index 1 -> channel 2
}

TEST_CASE("actions hit the right endpoints") {
    SimProcess sim({});
    ModuleHarness h(module_path("dahua"));
    REQUIRE(h.create(config(sim)).ok());
    REQUIRE(h.start() == PL_OK);

    auto snap = h.invoke("snapshot", R"({"channel": 2})");
    REQUIRE(snap.ok());
    auto s = json::parse(snap.result);
    CHECK(s["size"].get<size_t>() > 4);
    CHECK(std::filesystem::file_size(s["path"].get<std::string>()) == s["size"].get<size_t>());
    CHECK(logged(sim, "/cgi-bin/snapshot.cgi", "channel", "2"));

    REQUIRE(h.invoke("open_door", R"({"channel": 1})").ok());
    REQUIRE(logged(sim, "/cgi-bin/accessControl.cgi", "action", "openDoor"));
    auto door = sim.requests_to("/cgi-bin/accessControl.cgi").back()["query"];
    CHECK(door["channel"] == "1");
    CHECK(door["UserID"] == "101");
    CHECK(door["Type"] == "Remote");

    REQUIRE(h.invoke("set_motion_detection", R"({"channel": 2, "enabled": false})").ok());
    CHECK(logged(sim, "/cgi-bin/configManager.cgi", "MotionDetect[1].Enable", "false"));

    REQUIRE(h.invoke("disarm", R"({"channel": 1})").ok());
    CHECK(logged(sim, "/cgi-bin/configManager.cgi", "DisableLinkage[0].Enable", "true"));
    CHECK(wait_until([&] { return h.health().info_json.find("\"armed\":{\"1\":false}") != std::string::npos; }, 5s));
    REQUIRE(h.invoke("arm", R"({"channel": 1})").ok());
    CHECK(logged(sim, "/cgi-bin/configManager.cgi", "DisableLinkage[0].Enable", "false"));
    CHECK(std::filesystem::exists(h.state_dir() / "armed.json"));

    CHECK(h.invoke("snapshot", R"({"channel": 99})").status == PL_ERR_PERMANENT); // the device says 400
    CHECK(h.invoke("set_motion_detection", R"({"channel": 1})").status == PL_ERR_INVALID);
    CHECK(h.invoke("open_door", R"({"user_id": "1&x=2"})").status == PL_ERR_INVALID);
    CHECK(h.invoke("nope").status == PL_ERR_UNKNOWN_ACTION);
}

TEST_CASE("bad config is refused at the key") {
    ModuleHarness h(module_path("dahua"));
    auto r = h.create(R"({"url": "ftp://x", "password": "p"})");
    CHECK_FALSE(r.ok());
    CHECK(r.error_key == "url");
    auto p = h.create(R"({"url": "http://127.0.0.1", "protocol": "onvif"})");
    CHECK_FALSE(p.ok());
    CHECK(p.error_key == "protocol");
}

TEST_CASE("DHIP: login, events, keepAlive, open_door") {
    SimProcess sim({"--dhip-port", "0", "--keepalive", "2", "--events", "_DoTalkAction_:Pulse:0,VideoMotion:Start:0"});
    ModuleHarness h(module_path("dahua"));
    REQUIRE(h.create(config(sim, {{"protocol", "dhip"}, {"dhip_port", sim.dhip_port()}, {"missed_rings", "false"}})).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 10s));
    REQUIRE(h.wait_for_events(2, 10s));
    CHECK(count_code(h, "VideoMotion") == 1);
    CHECK(sim.requests_to("global.login").size() == 2);
    CHECK(sim.requests_to("eventManager.attach").size() == 1);
    auto r = h.invoke("open_door", R"({"channel": 1})");
    REQUIRE(r.ok());
    CHECK(json::parse(r.result)["via"] == "dhip");
    CHECK(wait_until([&] { return sim.requests_to("accessControl.openDoor").size() == 1; }, 3s));
    CHECK(wait_until([&] { return sim.requests_to("accessControl.destroy").size() == 1; }, 3s));
    REQUIRE(wait_until([&] { return sim.requests_to("global.keepAlive").size() >= 1; }, 6s));
    CHECK(h.health().state == "connected");
}

TEST_CASE("DHIP wrong password: auth_failed, slow") {
    SimProcess sim({"--dhip-port", "0", "--fault", "wrong_password"});
    ModuleHarness h(module_path("dahua"));
    REQUIRE(h.create(config(sim, {{"protocol", "dhip"}, {"dhip_port", sim.dhip_port()}, {"password", "bad"}})).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("auth_failed", 10s));
    std::this_thread::sleep_for(2s);
    CHECK(sim.requests_to("global.login").size() == 2);
}

TEST_CASE("missed rings are replayed once after a reconnect, never after a restart") {
    // Each stream lasts 1 s; a missed ring is logged 1.5 s after the start.
    SimProcess sim({"--stream-duration", "1", "--call-log", "1.5:Missed,1.6:Received"});
    ModuleHarness h(module_path("dahua"));
    auto cfg = config(sim, {{"missed_rings", "true"}, {"reconnect_max", "1s"}});
    REQUIRE(h.create(cfg).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_events(1, 15s));
    auto ev = h.events()[0];
    CHECK(ev.type == "doorbell");
    CHECK(ev.attr("replayed") == "true");
    CHECK(ev.attr("end_state") == "Missed");
    CHECK(ev.time_ns % 1000000000LL == 0); // the call log's own time
    // More reconnects: still once.
    REQUIRE(wait_until([&] { return sim.requests_to("/cgi-bin/recordFinder.cgi").size() >= 4; }, 15s));
    CHECK(h.event_count() == 1);
    // A restart (same state_dir): never again.
    h.destroy();
    h.clear_events();
    size_t before = sim.requests_to("/cgi-bin/recordFinder.cgi").size();
    REQUIRE(h.create(cfg).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(wait_until([&] { return sim.requests_to("/cgi-bin/recordFinder.cgi").size() >= before + 2; }, 15s));
    CHECK(h.event_count() == 0);
}
