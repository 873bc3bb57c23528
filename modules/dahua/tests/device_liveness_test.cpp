// Liveness (health `unreachable`) and the missed-rings trigger with the default
// missed_rings = "auto", through dahua.so against dahua_sim.py.
#include "module_test_support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <thread>

using namespace std::chrono_literals;
using namespace dahua_test;
using nlohmann::json;
using passerelle::testing::ModuleHarness;
using passerelle::testing::free_loopback_port;
using passerelle::testing::module_path;

namespace {

std::string closed_port_config(int http_port, json extra) {
    json c = {{"url", "http://127.0.0.1:" + std::to_string(http_port)}, {"user", "admin"}, {"password", "secret"},
              {"heartbeat", "1s"}, {"reconnect_max", "1s"}};
    for (auto it = extra.begin(); it != extra.end(); ++it) c[it.key()] = it.value();
    return c.dump();
}

// Nothing listens: reconnecting first, unreachable after 3 failed attempts in a
// row, and connected again once the device is back on that port.
void check_unreachable_then_back(ModuleHarness& h, const std::vector<std::string>& sim_args) {
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("unreachable", 20s));
    auto history = h.health_history();
    REQUIRE_FALSE(history.empty());
    CHECK(history.front().state == "reconnecting"); // not unreachable at the first failure
    size_t reconnecting = 0;
    for (auto& hh : history) {
        if (hh.state == "unreachable") break;
        reconnecting += hh.state == "reconnecting";
    }
    CHECK(reconnecting == 2); // failures 1 and 2; the 3rd says unreachable
    CHECK(h.health().detail.find("retry in") != std::string::npos);
    CHECK(health_reports(h, "connected") == 0);
    CHECK(wait_until([&] { return h.counter("reconnects") >= 3; }, 2s)); // counted right after the report
    // The device comes back on the same port: the retries (capped at 1 s) find it.
    SimProcess sim(sim_args);
    REQUIRE(h.wait_for_health("connected", 15s));
}

} // namespace

TEST_CASE("CGI: a device that does not answer becomes unreachable, then connected when it is back") {
    int port = free_loopback_port();
    ModuleHarness h(module_path("dahua"));
    REQUIRE(h.create(closed_port_config(port, json::object())).ok());
    check_unreachable_then_back(h, {"--port", std::to_string(port)});
}

TEST_CASE("DHIP: a VTO that does not answer becomes unreachable, then connected when it is back") {
    int http_port = free_loopback_port();
    int dhip_port = free_loopback_port();
    ModuleHarness h(module_path("dahua"));
    REQUIRE(h.create(closed_port_config(http_port, {{"protocol", "dhip"}, {"dhip_port", dhip_port},
                                                    {"missed_rings", "false"}})).ok());
    check_unreachable_then_back(h, {"--port", std::to_string(http_port), "--dhip-port", std::to_string(dhip_port)});
}

TEST_CASE("missed rings, default auto: a VTO (CGI) replays the ring missed while it was away, once") {
    // Each stream lasts 1 s; a missed ring is logged 1.5 s after the start.
    SimProcess sim({"--device-type", "VTO2000A", "--stream-duration", "1", "--call-log", "1.5:Missed,1.6:Received"});
    ModuleHarness h(module_path("dahua"));
    REQUIRE(h.create(config(sim, {{"reconnect_max", "1s"}})).ok()); // missed_rings unset
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_events(1, 15s));
    auto ev = h.events()[0];
    CHECK(ev.type == "doorbell");
    CHECK(ev.code == "VideoTalkLog");
    CHECK(ev.attr("replayed") == "true");
    CHECK(ev.attr("end_state") == "Missed");
    CHECK(h.health().info_json.find("VTO2000A") != std::string::npos);
    REQUIRE(wait_until([&] { return sim.requests_to("/cgi-bin/recordFinder.cgi").size() >= 4; }, 15s));
    CHECK(h.event_count() == 1);
    CHECK(h.counter("missed_rings_replayed") == 1);
}

TEST_CASE("missed rings, default auto: an IPC camera never asks for a call log") {
    SimProcess sim({"--stream-duration", "1", "--call-log", "1.5:Missed"});
    ModuleHarness h(module_path("dahua"));
    REQUIRE(h.create(config(sim, {{"reconnect_max", "1s"}})).ok()); // missed_rings unset
    REQUIRE(h.start() == PL_OK);
    // Three connections, each reading the model and then the channel titles
    // (the call log would come right after the titles).
    REQUIRE(wait_until([&] { return count_status(sim, "/cgi-bin/configManager.cgi", 200) >= 3; }, 20s));
    std::this_thread::sleep_for(500ms);
    CHECK(h.health().info_json.find("IPC-HDW5231R-ZE") != std::string::npos);
    CHECK(sim.requests_to("/cgi-bin/recordFinder.cgi").empty());
    CHECK(h.event_count() == 0);
}

TEST_CASE("missed rings, default auto: a DHIP VTO replays the ring missed while it was away") {
    // Each DHIP connection lasts 1.5 s; a missed ring is logged 2 s after the start.
    SimProcess sim({"--dhip-port", "0", "--stream-duration", "1.5", "--call-log", "2:Missed"});
    ModuleHarness h(module_path("dahua"));
    REQUIRE(h.create(config(sim, {{"protocol", "dhip"}, {"dhip_port", sim.dhip_port()}, {"reconnect_max", "1s"}})).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_events(1, 20s));
    auto ev = h.events()[0];
    CHECK(ev.code == "VideoTalkLog");
    CHECK(ev.attr("replayed") == "true");
    CHECK(ev.attr("end_state") == "Missed");
    CHECK(sim.requests_to("global.login").size() >= 4); // two sessions, two steps each
    REQUIRE(wait_until([&] { return sim.requests_to("/cgi-bin/recordFinder.cgi").size() >= 3; }, 15s));
    CHECK(h.event_count() == 1);
}
