// A real capture end to end: dahua_sim.py --replay sends the fixture's bytes as
// the event stream, dahua.so parses and maps them, the harness records the events.
#include "module_test_support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <thread>

using namespace std::chrono_literals;
using namespace dahua_test;
using nlohmann::json;
using passerelle::testing::ModuleHarness;
using passerelle::testing::module_path;

TEST_CASE("the rroller166 capture through the module: three events, State refreshes dropped") {
    // 13 parts on the wire: 4 heartbeats, 6 VideoMotionInfo State refreshes,
    // VideoMotion Start/Stop and SmartMotionVehicle Stop (fixtures README).
    const std::string fixture = std::string(PASSERELLE_SHARED_DIR) + "/fixtures/dahua-http/reconstructed_rroller166_wire_body.bin";
    // Whole writes, and one byte per write (no TCP read is a part).
    for (bool trickle : {false, true}) {
        DYNAMIC_SECTION((trickle ? "one byte per write" : "whole")) {
            std::vector<std::string> args{"--replay", fixture};
            if (trickle) args.insert(args.end(), {"--fault", "trickle"});
            SimProcess sim(args);
            ModuleHarness h(module_path("dahua"));
            REQUIRE(h.create(config(sim, {{"heartbeat", "5s"}})).ok());
            REQUIRE(h.start() == PL_OK);
            REQUIRE(h.wait_for_events(3, 15s));
            std::this_thread::sleep_for(500ms); // nothing more may come
            auto ev = h.events();
            REQUIRE(ev.size() == 3);
            CHECK(count_code(h, "VideoMotionInfo") == 0);

            CHECK(ev[0].code == "VideoMotion");
            CHECK(ev[0].type == "motion");
            CHECK(ev[0].state == passerelle::State::start);
            CHECK(ev[0].channel == 1);
            CHECK(ev[0].attr("data.SmartMotionEnable") == "true");
            CHECK(ev[0].attr("data.RegionName") == "Region1");
            CHECK(ev[0].source == "test");

            CHECK(ev[1].code == "VideoMotion");
            CHECK(ev[1].state == passerelle::State::stop);

            CHECK(ev[2].code == "SmartMotionVehicle");
            CHECK(ev[2].type == "motion");
            CHECK(ev[2].state == passerelle::State::stop);
            CHECK(ev[2].attr("target") == "vehicle");
            CHECK(ev[2].attr("region") == "Region1");
            CHECK(ev[2].attr("data.object[0].VehicleID") == "114");
            CHECK(ev[2].attr("data.object[0].Rect") == "6448,3720,7856,5600");

            // The capture's quirks (asymmetric CRLFs, heartbeats) are no errors.
            CHECK(h.counter("parse_errors") == 0);
            CHECK(h.health().state == "connected");
        }
    }
}
