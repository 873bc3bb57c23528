// The eedomus module against the eeDomus simulator: set with value_date, get,
// local and cloud paths, auth and unknown periph, retries, the secret masked.
#include "sim_process.hpp"

#include "../../../tests/support/module_harness.hpp"

#include <catch2/catch.hpp>

using passerelle::Event;
using passerelle::testing::ModuleHarness;
using passerelle::testing::module_path;
using passerelle::testing::SimProcess;
using namespace std::chrono_literals;

namespace {
const std::string user = "ee-user";
const std::string secret = "ee-secret-0123456789";

std::string config(const SimProcess& sim, nlohmann::json extra = nlohmann::json::object()) {
    nlohmann::json c{{"url", sim.url()}, {"api_user", user}, {"api_secret", secret}, {"timezone", "UTC"},
                     {"timeout", "2s"}};
    c.update(extra);
    return c.dump();
}

Event event_at(int64_t seconds) {
    Event e;
    e.source = "cam";
    e.type = "doorbell";
    e.time_ns = seconds * 1'000'000'000;
    return e;
}

void check_no_secret(const ModuleHarness& h, const std::string& s) {
    for (const auto& l : h.logs()) CHECK(l.message.find(s) == std::string::npos);
    for (const auto& hs : h.health_history()) CHECK(hs.detail.find(s) == std::string::npos);
}
} // namespace

TEST_CASE("set carries the event's time as value_date; get reads it back (local API)") {
    SimProcess sim(EEDOMUS_SIM, {"--mode", "local"});
    ModuleHarness h(module_path("eedomus"));
    REQUIRE(h.create(config(sim)).ok());
    REQUIRE(h.start() == PL_OK);
    auto r = h.invoke("deliver", R"({"periph_id":"1234","value":"100"})", event_at(1719835200));
    REQUIRE(r.status == PL_OK);
    auto history = sim.get("/state")["history"];
    REQUIRE(history.size() == 1);
    CHECK(history[0]["value"] == "100");
    CHECK(history[0]["value_date"] == "2024-07-01 12:00:00");
    CHECK(sim.get("/requests")[0]["path"] == "/api/set");
    // get, with a Latin-1 name and string/number success codes alternating
    for (int i = 0; i < 2; ++i) {
        auto g = h.invoke("get", R"({"periph_id":"1234"})");
        REQUIRE(g.status == PL_OK);
        auto j = nlohmann::json::parse(g.result);
        CHECK(j["last_value"] == "100");
        CHECK(j["last_value_change"] == "2024-07-01 12:00:00");
        CHECK(j["name"] == "D\xc3\xa9tecteur entr\xc3\xa9" "e");
    }
    // set without an event: no value_date (the box uses its own time)
    REQUIRE(h.invoke("set", R"({"periph_id":"5678","value":"1"})").status == PL_OK);
    CHECK_FALSE(sim.get("/requests").back()["query"].contains("value_date"));
}

TEST_CASE("a url answering 404 (not this kind of eeDomus endpoint) pauses the sink") {
    // The simulator serves the cloud's /set and /get; the module picks the cloud
    // layout for *.eedomus.com only, so a plain IP url gets /api/set: 404.
    SimProcess sim(EEDOMUS_SIM, {"--mode", "cloud"});
    ModuleHarness h(module_path("eedomus"));
    REQUIRE(h.create(config(sim)).ok());
    REQUIRE(h.start() == PL_OK);
    auto r = h.invoke("set", R"({"periph_id":"1234","value":"1"})");
    CHECK(r.status == PL_ERR_AUTH); // 404: the url is not the right kind of eeDomus endpoint
    CHECK(r.result.find("404") != std::string::npos);
}

TEST_CASE("wrong credentials pause the sink; unknown periph is permanent; the secret never shows") {
    SimProcess sim(EEDOMUS_SIM, {});
    {
        ModuleHarness h(module_path("eedomus"));
        const std::string wrong = "wrong-secret-55555";
        REQUIRE(h.create(config(sim, {{"api_secret", wrong}})).ok());
        REQUIRE(h.start() == PL_OK);
        auto r = h.invoke("set", R"({"periph_id":"1234","value":"1"})");
        CHECK(r.status == PL_ERR_AUTH);
        CHECK(r.result.find(wrong) == std::string::npos);
        CHECK(h.health().state == "auth_failed");
        check_no_secret(h, wrong);
    }
    ModuleHarness h(module_path("eedomus"));
    REQUIRE(h.create(config(sim)).ok());
    REQUIRE(h.start() == PL_OK);
    auto u = h.invoke("set", R"({"periph_id":"999","value":"1"})");
    CHECK(u.status == PL_ERR_PERMANENT);
    CHECK(u.result.find("999") != std::string::npos);
    CHECK(h.invoke("set", R"({"value":"1"})").status == PL_ERR_INVALID);
    sim.post("/hook", {{"fail_5xx", 1}});
    CHECK(h.invoke("set", R"({"periph_id":"1234","value":"1"})").status == PL_ERR_RETRY);
    sim.post("/hook", {{"down", true}});
    auto down = h.invoke("set", R"({"periph_id":"1234","value":"1"})");
    CHECK(down.status == PL_ERR_RETRY);
    sim.post("/hook", {{"down", false}});
    CHECK(h.invoke("set", R"({"periph_id":"1234","value":"1"})").status == PL_OK);
    check_no_secret(h, secret);
    for (const auto& l : h.logs()) CHECK(l.message.find("0123456789") == std::string::npos);
}

TEST_CASE("eedomus bad configs are refused at the key") {
    ModuleHarness h(module_path("eedomus"));
    auto r = h.create(R"({"url":"box","api_user":"u","api_secret":"s"})");
    CHECK_FALSE(r.ok());
    CHECK(r.error_key == "url");
    r = h.create(R"({"url":"http://box","api_user":"u","api_secret":"s","timezone":"Nowhere/Land"})");
    CHECK_FALSE(r.ok());
    CHECK(r.error_key == "timezone");
}
