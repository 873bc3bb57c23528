// The jeedom module loaded like the daemon loads it, against the Jeedom API
// simulator (jeedom_sim.py): actions, error classification, auto mode.
#include "sim_process.hpp"

#include "../../../tests/support/module_harness.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <thread>

using passerelle::Event;
using passerelle::State;
using passerelle::testing::ModuleHarness;
using passerelle::testing::module_path;
using passerelle::testing::SimProcess;
using passerelle::testing::TempDir;
using namespace std::chrono_literals;

namespace {

const std::string core_key = "core-key-0123456789";
const std::string virtual_key = "virtual-key-0123456789";

SimProcess start_sim(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--core-key", core_key, "--virtual-key", virtual_key, "--bad-key-delay", "0.05"};
    args.insert(args.end(), extra.begin(), extra.end());
    return SimProcess(JEEDOM_SIM, args);
}

std::string config(const SimProcess& sim, nlohmann::json extra = nlohmann::json::object()) {
    nlohmann::json c{{"url", sim.url()}, {"apikey", core_key}, {"timezone", "UTC"}, {"timeout", "3s"}};
    c.update(extra);
    return c.dump();
}

// Requests recorded by the simulator whose JSON-RPC method is `method`.
size_t count_method(const SimProcess& sim, const std::string& method) {
    size_t n = 0;
    for (const auto& r : sim.get("/requests"))
        if (r["json"].is_object() && r["json"].value("method", "") == method) ++n;
    return n;
}

nlohmann::json cmd_by_name(const SimProcess& sim, const std::string& name) {
    const auto state = sim.get("/state"); // kept alive: the loop reads into it
    for (const auto& c : state["cmds"])
        if (c["name"] == name) return c;
    return nullptr;
}

Event motion(State state, int64_t time_s = 1719835200) {
    Event e;
    e.source = "cam_garage";
    e.type = "region_entrance";
    e.code = "regionEntrance";
    e.channel = 1;
    e.state = state;
    e.time_ns = time_s * 1'000'000'000;
    e.attrs.emplace("region", "1"); // not operator[]: GCC 12 -Wrestrict false positive
    e.attrs.emplace("target", "human");
    return e;
}

void check_no_secret(const ModuleHarness& h, const std::string& secret) {
    for (const auto& l : h.logs()) CHECK(l.message.find(secret) == std::string::npos);
    for (const auto& hs : h.health_history()) CHECK(hs.detail.find(secret) == std::string::npos);
}

} // namespace

TEST_CASE("event sets an info command with the event's own time in Jeedom's zone") {
    auto sim = start_sim();
    ModuleHarness h(module_path("jeedom"));
    REQUIRE(h.create(config(sim, {{"timezone", "+02:00"}})).ok());
    REQUIRE(h.start() == PL_OK);
    auto r = h.invoke("event", R"({"id":"10","value":"1"})", motion(State::start));
    REQUIRE(r.status == PL_OK);
    auto history = sim.get("/state")["history"];
    REQUIRE(history.size() == 1);
    CHECK(history[0]["id"] == "10");
    CHECK(history[0]["value"] == "1");
    CHECK(history[0]["datetime"] == "2024-07-01 14:00:00");
    // The request went to the one endpoint, as JSON-RPC, without proxy headers Jeedom trusts for bans.
    auto reqs = sim.get("/requests");
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0]["path"] == "/core/api/jeeApi.php");
    CHECK(reqs[0]["json"]["method"] == "cmd::event");
    for (const auto& [name, value] : reqs[0]["headers"].items())
        for (const char* banned : {"x-forwarded-for", "x-real-ip", "cf-connecting-ip", "client-ip"}) {
            std::string lower = name;
            for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            CHECK(lower != banned);
        }
    // A route's deliver with params id/value is the same action.
    REQUIRE(h.invoke("deliver", R"({"id":"10","value":"0"})", motion(State::stop)).status == PL_OK);
    CHECK(sim.get("/state")["history"].size() == 2);
}

TEST_CASE("a path prefix in url is kept") {
    auto sim = start_sim({"--prefix", "/jeedom"});
    ModuleHarness h(module_path("jeedom"));
    REQUIRE(h.create(nlohmann::json{{"url", sim.url() + "/jeedom/"}, {"apikey", core_key}}.dump()).ok());
    REQUIRE(h.start() == PL_OK);
    CHECK(h.invoke("event", R"({"id":"10","value":"1"})").status == PL_OK);
    CHECK(sim.get("/requests")[0]["path"] == "/jeedom/core/api/jeeApi.php");
}

TEST_CASE("exec, scenario and message") {
    auto sim = start_sim();
    ModuleHarness h(module_path("jeedom"));
    REQUIRE(h.create(config(sim)).ok());
    REQUIRE(h.start() == PL_OK);
    CHECK(h.invoke("exec", R"({"id":"11","title":"Alerte","message":"Portail","slider":"50"})").status == PL_OK);
    CHECK(h.invoke("scenario", R"({"id":"5","state":"start"})").status == PL_OK);
    CHECK(h.invoke("scenario", R"({"id":"5","state":"disable"})").status == PL_OK);
    CHECK(h.invoke("message", R"({"message":"Sonnette"})").status == PL_OK);
    auto state = sim.get("/state");
    REQUIRE(state["execs"].size() == 1);
    CHECK(state["execs"][0]["options"] == nlohmann::json{{"title", "Alerte"}, {"message", "Portail"}, {"slider", "50"}});
    CHECK(state["scenarios"][0]["state"] == "in progress");
    CHECK(state["scenarios"][0]["isActive"] == "0");
    REQUIRE(state["messages"].size() == 1);
    CHECK(state["messages"][0]["message"] == "Sonnette");
    CHECK(h.invoke("scenario", R"({"id":"5","state":"explode"})").status == PL_ERR_INVALID);
    // An unknown scenario is -32000 (uncoded): permanent for that call.
    CHECK(h.invoke("scenario", R"({"id":"999","state":"start"})").status == PL_ERR_PERMANENT);
    // An unknown action command is 702: permanent, naming the command.
    auto unknown = h.invoke("exec", R"({"id":"4242"})");
    CHECK(unknown.status == PL_ERR_PERMANENT);
    CHECK(unknown.result.find("4242") != std::string::npos);
}

TEST_CASE("a wrong key pauses the sink (PL_ERR_AUTH), and the key never shows") {
    auto sim = start_sim();
    ModuleHarness h(module_path("jeedom"));
    const std::string wrong = "wrong-key-secret-987";
    REQUIRE(h.create(config(sim, {{"apikey", wrong}})).ok());
    REQUIRE(h.start() == PL_OK);
    auto r = h.deliver(motion(State::start));
    CHECK(r.status == PL_ERR_AUTH);
    CHECK(r.result.find(wrong) == std::string::npos);
    CHECK(h.health().state == "auth_failed");
    auto e = h.invoke("event", R"({"id":"10","value":"1"})");
    CHECK(e.status == PL_ERR_AUTH);
    check_no_secret(h, wrong);
}

TEST_CASE("a banned IP (404 on everything) is an auth pause that says so") {
    auto sim = start_sim({"--ban-after", "2"});
    ModuleHarness h(module_path("jeedom"));
    REQUIRE(h.create(config(sim, {{"apikey", "bad"}})).ok());
    REQUIRE(h.start() == PL_OK);
    CHECK(h.invoke("event", R"({"id":"10","value":"1"})").status == PL_ERR_AUTH);
    CHECK(h.invoke("event", R"({"id":"10","value":"1"})").status == PL_ERR_AUTH);
    auto banned = h.invoke("event", R"({"id":"10","value":"1"})");
    CHECK(banned.status == PL_ERR_AUTH);
    CHECK(banned.result.find("banned") != std::string::npos);
    // The kernel pauses the sink at least the ban's length (10 min by default), not its
    // first auth backoff (60 s): the reply starts with the hint it reads.
    CHECK(banned.result.rfind("retry_after_ms=600000 Jeedom answers HTTP 404", 0) == 0);
    // What the user reads in health has no machine prefix, and says when the next try is.
    CHECK(h.health().state == "auth_failed");
    CHECK(h.health().detail.rfind("Jeedom answers HTTP 404", 0) == 0);
    CHECK(h.health().detail.find("next try in 10 min") != std::string::npos);
}

TEST_CASE("ban_wait sets the pause after a 404, and cannot be shorter than Jeedom's default ban") {
    auto sim = start_sim();
    sim.post("/hook", {{"banned", true}});
    ModuleHarness h(module_path("jeedom"));
    REQUIRE(h.create(config(sim, {{"ban_wait", "1h"}})).ok());
    REQUIRE(h.start() == PL_OK);
    auto r = h.invoke("event", R"({"id":"10","value":"1"})");
    CHECK(r.status == PL_ERR_AUTH);
    CHECK(r.result.rfind("retry_after_ms=3600000 ", 0) == 0);
    CHECK(h.health().detail.find("next try in 60 min") != std::string::npos);
    // Once the ban is lifted, a wrong-key answer carries no hint (the kernel's doubling applies).
    sim.post("/hook", {{"banned", false}});
    ModuleHarness wrong(module_path("jeedom"));
    REQUIRE(wrong.create(config(sim, {{"apikey", "bad"}})).ok());
    REQUIRE(wrong.start() == PL_OK);
    auto w = wrong.invoke("event", R"({"id":"10","value":"1"})");
    CHECK(w.status == PL_ERR_AUTH);
    CHECK(w.result.find("retry_after_ms=") == std::string::npos);
    for (const char* bad : {"5m", "0s", "2d"}) {
        ModuleHarness b(module_path("jeedom"));
        auto c = b.create(config(sim, {{"ban_wait", bad}}));
        CHECK_FALSE(c.ok());
        CHECK(c.error_key == "ban_wait");
    }
}

TEST_CASE("verify_tls is on by default: a self-signed Jeedom is refused until trusted") {
    // A box serving HTTPS with its own certificate (for 127.0.0.1), made for this test.
    TempDir dir;
    const auto cert = (dir.path() / "jeedom.pem").string();
    const auto key = (dir.path() / "jeedom.key").string();
    const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
                            "-addext subjectAltName=IP:127.0.0.1 -keyout '" + key + "' -out '" + cert +
                            "' >/dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
    auto sim = start_sim({"--tls-cert", cert, "--tls-key", key});
    std::string url = sim.url();
    url.replace(0, 4, "https");
    {
        ModuleHarness h(module_path("jeedom"));
        REQUIRE(h.create(config(sim, {{"url", url}})).ok()); // no verify_tls key: the default
        REQUIRE(h.start() == PL_OK);
        auto r = h.invoke("event", R"({"id":"10","value":"1"})");
        CHECK(r.status == PL_ERR_AUTH); // paused: the same for every event until the config changes
        CHECK(h.health().state == "auth_failed");
        CHECK(h.health().detail.find("certificate") != std::string::npos);
    }
    CHECK(sim.get("/state")["history"].empty());
    {
        ModuleHarness h(module_path("jeedom"));
        REQUIRE(h.create(config(sim, {{"url", url}, {"ca_file", cert}})).ok());
        REQUIRE(h.start() == PL_OK);
        CHECK(h.invoke("event", R"({"id":"10","value":"2"})").status == PL_OK);
    }
    {
        ModuleHarness h(module_path("jeedom"));
        REQUIRE(h.create(config(sim, {{"url", url}, {"verify_tls", false}})).ok());
        REQUIRE(h.start() == PL_OK);
        CHECK(h.invoke("event", R"({"id":"10","value":"3"})").status == PL_OK);
    }
    CHECK(sim.get("/state")["history"].size() == 2);
}

TEST_CASE("transport errors and 5xx are retried; unknown commands are permanent") {
    auto sim = start_sim();
    ModuleHarness h(module_path("jeedom"));
    REQUIRE(h.create(config(sim, {{"timeout", "1s"}})).ok());
    REQUIRE(h.start() == PL_OK);
    sim.post("/hook", {{"fail_5xx", 1}});
    CHECK(h.invoke("event", R"({"id":"10","value":"1"})").status == PL_ERR_RETRY);
    CHECK(h.invoke("event", R"({"id":"10","value":"1"})").status == PL_OK);
    sim.post("/hook", {{"down", true}});
    CHECK(h.invoke("event", R"({"id":"10","value":"1"})").status == PL_ERR_RETRY);
    CHECK(h.health().state == "unreachable");
    sim.post("/hook", {{"down", false}});
    CHECK(h.invoke("event", R"({"id":"10","value":"1"})").status == PL_OK);
    CHECK(h.health().state == "ok");
    sim.post("/hook", {{"slow", 2.0}});
    CHECK(h.invoke("event", R"({"id":"10","value":"1"})").status == PL_ERR_RETRY); // timeout 1s
    sim.post("/hook", {{"slow", 0}});
    auto unknown = h.invoke("event", R"({"id":"999","value":"1"})");
    CHECK(unknown.status == PL_ERR_PERMANENT);
    CHECK(unknown.result.find("999") != std::string::npos);
}

TEST_CASE("plain HTTP API with the core key and with the Virtuel key") {
    auto sim = start_sim();
    {
        ModuleHarness h(module_path("jeedom"));
        REQUIRE(h.create(config(sim, {{"api", "http"}})).ok());
        REQUIRE(h.start() == PL_OK);
        CHECK(h.invoke("event", R"({"id":"10","value":"1"})").status == PL_OK);
        CHECK(h.invoke("event", R"({"id":"999","value":"1"})").status == PL_ERR_PERMANENT);
    }
    {
        ModuleHarness h(module_path("jeedom"));
        REQUIRE(h.create(config(sim, {{"apikey", virtual_key}, {"plugin", "virtual"}})).ok());
        REQUIRE(h.start() == PL_OK);
        CHECK(h.invoke("event", R"({"id":"10","value":"0"})").status == PL_OK);
        CHECK(h.invoke("exec", R"({"id":"11"})").status == PL_ERR_PERMANENT); // needs the core key
    }
    {
        ModuleHarness h(module_path("jeedom"));
        REQUIRE(h.create(config(sim, {{"apikey", core_key}, {"plugin", "virtual"}})).ok()); // core key, virtual mode
        REQUIRE(h.start() == PL_OK);
        CHECK(h.invoke("event", R"({"id":"10","value":"0"})").status == PL_ERR_AUTH);
    }
    auto reqs = sim.get("/requests");
    CHECK(reqs[0]["query"]["type"] == "cmd");
    CHECK(reqs[2]["query"]["plugin"] == "virtual");
    auto history = sim.get("/state")["history"];
    REQUIRE(history.size() == 2);
    CHECK(history[1]["value"] == "0");
}

TEST_CASE("bad configs are refused at the key") {
    ModuleHarness h(module_path("jeedom"));
    auto bad = [&](nlohmann::json c, const std::string& key) {
        nlohmann::json base{{"url", "http://127.0.0.1:1"}, {"apikey", "k"}};
        base.update(c);
        auto r = h.create(base.dump());
        CHECK_FALSE(r.ok());
        CHECK(r.error_key == key);
    };
    bad({{"url", "ftp://x"}}, "url");
    bad({{"url", "http://x/?a=b"}}, "url");
    bad({{"plugin", "zwave"}}, "plugin");
    bad({{"api", "soap"}}, "api");
    bad({{"timezone", "Mars/Base"}}, "timezone");
    bad({{"auto_name", "random"}}, "auto_name");
    bad({{"ca_file", "/nonexistent/ca.pem"}}, "ca_file");
}

TEST_CASE("auto mode creates the equipment and commands once, then updates them") {
    auto sim = start_sim();
    ModuleHarness h(module_path("jeedom"));
    REQUIRE(h.create(config(sim, {{"return_to_zero", "90s"}})).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.deliver(motion(State::start)).status == PL_OK);
    auto alarm = cmd_by_name(sim, "Chan 1 regionEntrance Region 1 human");
    REQUIRE(alarm.is_object());
    CHECK(alarm["value"] == "1");
    CHECK(alarm["datetime"] == "2024-07-01 12:00:00");
    CHECK(alarm["subType"] == "binary");
    CHECK(alarm["configuration"]["repeatEventManagement"] == "always");
    CHECK(alarm["configuration"]["returnStateTime"] == "2"); // 90 s, rounded up to minutes
    auto last = cmd_by_name(sim, "Last alarm");
    REQUIRE(last.is_object());
    CHECK(last["value"] == "2024-07-01 12:00:00");
    REQUIRE(h.deliver(motion(State::stop, 1719835260)).status == PL_OK);
    CHECK(cmd_by_name(sim, "Chan 1 regionEntrance Region 1 human")["value"] == "0");
    REQUIRE(h.deliver(motion(State::start, 1719835320)).status == PL_OK);
    CHECK(count_method(sim, "eqLogic::save") == 1);
    CHECK(count_method(sim, "cmd::save") == 2);
    CHECK(count_method(sim, "eqLogic::byType") == 1);
    // The equipment is a Virtuel found by its logicalId.
    bool found = false;
    const auto state = sim.get("/state");
    for (const auto& eq : state["eqLogics"])
        if (eq["logicalId"] == "passerelle::cam_garage") found = eq["eqType_name"] == "virtual";
    CHECK(found);
    // Heartbeat from the source's device (health) events.
    Event device;
    device.source = "cam_garage";
    device.type = "device";
    device.code = "connected";
    device.state = State::start;
    device.time_ns = 1719835400LL * 1'000'000'000;
    REQUIRE(h.deliver(device).status == PL_OK);
    CHECK(cmd_by_name(sim, "Heartbeat")["value"] == "1");
    device.code = "unreachable";
    device.state = State::stop;
    REQUIRE(h.deliver(device).status == PL_OK);
    CHECK(cmd_by_name(sim, "Heartbeat")["value"] == "0");
    CHECK(h.counter("auto_commands_created") == 3);
}

TEST_CASE("auto mode reuses its commands after a restart, cached or looked up") {
    auto sim = start_sim();
    std::filesystem::path saved;
    {
        ModuleHarness h(module_path("jeedom"));
        REQUIRE(h.create(config(sim)).ok());
        REQUIRE(h.start() == PL_OK);
        REQUIRE(h.deliver(motion(State::start)).status == PL_OK);
        h.destroy();
        REQUIRE(std::filesystem::exists(h.state_dir() / "jeedom-auto.json"));
        saved = std::filesystem::temp_directory_path() / ("jeedom-auto-" + std::to_string(::getpid()) + ".json");
        std::filesystem::copy_file(h.state_dir() / "jeedom-auto.json", saved,
                                   std::filesystem::copy_options::overwrite_existing);
    }
    const size_t cmds_before = sim.get("/state")["cmds"].size();
    sim.post("/requests/clear", {});
    {
        // Same state dir content (the daemon restarted): no lookup at all.
        ModuleHarness h(module_path("jeedom"));
        std::filesystem::copy_file(saved, h.state_dir() / "jeedom-auto.json");
        REQUIRE(h.create(config(sim)).ok());
        REQUIRE(h.start() == PL_OK);
        REQUIRE(h.deliver(motion(State::stop)).status == PL_OK);
        CHECK(sim.get("/requests").size() == 1);
        CHECK(count_method(sim, "cmd::event") == 1);
    }
    sim.post("/requests/clear", {});
    {
        // State lost: found again by logicalId, nothing created.
        ModuleHarness h(module_path("jeedom"));
        REQUIRE(h.create(config(sim)).ok());
        REQUIRE(h.start() == PL_OK);
        REQUIRE(h.deliver(motion(State::start)).status == PL_OK);
        CHECK(count_method(sim, "eqLogic::byType") == 1);
        CHECK(count_method(sim, "cmd::byEqLogicId") == 1);
        CHECK(count_method(sim, "eqLogic::save") == 0);
        CHECK(count_method(sim, "cmd::save") == 0);
    }
    CHECK(sim.get("/state")["cmds"].size() == cmds_before);
    std::filesystem::remove(saved);
}

TEST_CASE("auto mode: a renamed equipment and command are found again by logicalId once the cache is lost") {
    auto sim = start_sim();
    {
        ModuleHarness h(module_path("jeedom"));
        REQUIRE(h.create(config(sim)).ok());
        REQUIRE(h.start() == PL_OK);
        REQUIRE(h.deliver(motion(State::start)).status == PL_OK);
    }
    // The user renames passerelle's equipment and its alarm command in Jeedom.
    auto alarm = cmd_by_name(sim, "Chan 1 regionEntrance Region 1 human");
    REQUIRE(alarm.is_object());
    nlohmann::json eq;
    const auto before = sim.get("/state"); // kept alive: the loop reads into it
    for (const auto& e : before["eqLogics"])
        if (e["id"] == alarm["eqLogic_id"]) eq = e;
    REQUIRE(eq.is_object());
    alarm["name"] = "Garage: personne entrée";
    eq["name"] = "Caméra du garage";
    sim.post("/seed", {{"eqLogics", {eq}}, {"cmds", {alarm}}});
    const size_t cmds_before = sim.get("/state")["cmds"].size();
    sim.post("/requests/clear", {});
    {
        // A fresh state dir: no cache, found by logicalId, nothing created, nothing renamed back.
        ModuleHarness h(module_path("jeedom"));
        REQUIRE(h.create(config(sim)).ok());
        REQUIRE(h.start() == PL_OK);
        REQUIRE(h.deliver(motion(State::stop)).status == PL_OK);
        CHECK(count_method(sim, "eqLogic::byType") == 1);
        CHECK(count_method(sim, "cmd::byEqLogicId") == 1);
        CHECK(count_method(sim, "eqLogic::save") == 0);
        CHECK(count_method(sim, "cmd::save") == 0);
    }
    const auto state = sim.get("/state");
    CHECK(state["cmds"].size() == cmds_before);
    CHECK(cmd_by_name(sim, "Chan 1 regionEntrance Region 1 human").is_null());
    auto renamed = cmd_by_name(sim, "Garage: personne entrée");
    REQUIRE(renamed.is_object());
    CHECK(renamed["id"] == alarm["id"]);
    CHECK(renamed["value"] == "0"); // the stop reached the renamed command
    for (const auto& e : state["eqLogics"])
        if (e["id"] == eq["id"]) CHECK(e["name"] == "Caméra du garage");
}

TEST_CASE("auto mode: a disabled equipment is reported (Jeedom answers ok and keeps nothing)") {
    auto sim = start_sim();
    {
        ModuleHarness h(module_path("jeedom"));
        REQUIRE(h.create(config(sim)).ok());
        REQUIRE(h.start() == PL_OK);
        REQUIRE(h.deliver(motion(State::start)).status == PL_OK);
    }
    auto alarm = cmd_by_name(sim, "Chan 1 regionEntrance Region 1 human");
    REQUIRE(alarm.is_object());
    REQUIRE(alarm["value"] == "1");
    nlohmann::json eq;
    const auto before = sim.get("/state"); // kept alive: the loop reads into it
    for (const auto& e : before["eqLogics"])
        if (e["id"] == alarm["eqLogic_id"]) eq = e;
    REQUIRE(eq.is_object());
    eq["isEnable"] = "0"; // the user disables passerelle's equipment
    sim.post("/seed", {{"eqLogics", {eq}}});
    ModuleHarness h(module_path("jeedom"));
    REQUIRE(h.create(config(sim)).ok());
    REQUIRE(h.start() == PL_OK);
    auto r = h.deliver(motion(State::stop));
    CHECK(r.status == PL_OK); // Jeedom said ok...
    CHECK(cmd_by_name(sim, "Chan 1 regionEntrance Region 1 human")["value"] == "1"); // ...and kept nothing
    bool warned = false;
    for (const auto& l : h.logs())
        if (l.level == PL_LOG_WARN && l.message.find("is disabled") != std::string::npos &&
            l.message.find("id " + eq["id"].get<std::string>()) != std::string::npos)
            warned = true;
    CHECK(warned);
}

TEST_CASE("auto mode: a deleted command is re-resolved once; the user's commands are never deleted") {
    auto sim = start_sim();
    ModuleHarness h(module_path("jeedom"));
    REQUIRE(h.create(config(sim)).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.deliver(motion(State::start)).status == PL_OK);
    auto alarm = cmd_by_name(sim, "Chan 1 regionEntrance Region 1 human");
    REQUIRE(alarm.is_object());
    // The user adds a command of their own to passerelle's equipment, and deletes ours.
    sim.post("/seed", {{"cmds", {{{"eqLogic_id", alarm["eqLogic_id"]}, {"name", "Mon scénario"}, {"type", "info"},
                                  {"subType", "string"}}}}});
    sim.post("/delete", {{"cmd", alarm["id"]}});
    sim.post("/requests/clear", {});
    auto r = h.deliver(motion(State::stop));
    REQUIRE(r.status == PL_OK);
    CHECK(count_method(sim, "cmd::save") == 1); // recreated once
    auto again = cmd_by_name(sim, "Chan 1 regionEntrance Region 1 human");
    REQUIRE(again.is_object());
    CHECK(again["id"] != alarm["id"]);
    CHECK(again["value"] == "0");
    CHECK(cmd_by_name(sim, "Mon scénario").is_object());
    CHECK(h.counter("auto_re_resolved") == 1);
    // Still unknown after re-resolving: permanent, naming the command.
    sim.post("/hook", {{"event_error", 701}});
    auto gone = h.deliver(motion(State::start));
    CHECK(gone.status == PL_ERR_PERMANENT);
    CHECK(gone.result.find("Chan 1 regionEntrance Region 1 human") != std::string::npos);
    sim.post("/hook", {{"event_error", 0}});
    // The equipment deleted as a whole: re-created.
    sim.post("/delete", {{"eqLogic", again["eqLogic_id"]}});
    REQUIRE(h.deliver(motion(State::start)).status == PL_OK);
    CHECK(cmd_by_name(sim, "Chan 1 regionEntrance Region 1 human")["value"] == "1");
}

// --- listen mode (event::changes) ---------------------------------------------

namespace {

std::string listen_config(const SimProcess& sim, nlohmann::json extra = nlohmann::json::object()) {
    nlohmann::json c{{"listen", {"10"}}, {"listen_poll", "5s"}};
    c.update(extra);
    return config(sim, c);
}

// The listener is waiting in Jeedom: a long-polled event::changes call arrived.
bool wait_long_poll(const SimProcess& sim, std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
        for (const auto& r : sim.get("/requests"))
            if (r["json"].is_object() && r["json"].value("method", "") == "event::changes" &&
                r["json"]["params"].contains("longPolling"))
                return true;
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

} // namespace

TEST_CASE("listen: changes of the chosen commands become events, once, with Jeedom's time") {
    auto sim = start_sim();
    sim.post("/seed", {{"cmds", {{{"id", "12"}, {"eqLogic_id", "1"}, {"name", "Temp"}, {"type", "info"}}}}});
    sim.post("/change", {{"cmd", "10"}, {"value", "1"}}); // before start: not replayed
    ModuleHarness h(module_path("jeedom"));
    REQUIRE(h.create(listen_config(sim)).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(wait_long_poll(sim, 5s));
    CHECK(h.event_count() == 0);

    sim.post("/change", {{"cmd", "12"}, {"value", "19.5"}}); // not chosen
    sim.post("/change", {{"cmd", "10"}, {"value", "1"}});
    REQUIRE(h.wait_for_events(1, 5s));
    auto events = h.events();
    REQUIRE(events.size() == 1);
    const Event& e = events[0];
    CHECK(e.type == "command");
    CHECK(e.code == "cmd::update");
    CHECK(e.state == State::pulse);
    CHECK(e.attr("cmd_id") == "10");
    CHECK(e.attr("value") == "1");
    const auto events_cache = sim.get("/state")["events"];
    bool found = false;
    for (const auto& c : events_cache)
        if (c["option"]["cmd_id"] == "10")
            found = e.time_ns / 1000 == static_cast<int64_t>(std::llround(c["datetime"].get<double>() * 1e6));
    CHECK(found); // the event carries Jeedom's own time of the change

    // The sink keeps working while the long poll waits, and what it sets is seen too.
    REQUIRE(h.invoke("event", R"({"id":"10","value":"0"})").status == PL_OK);
    REQUIRE(h.wait_for_events(2, 5s));
    CHECK(h.events()[1].attr("value") == "0");
    std::this_thread::sleep_for(300ms);
    CHECK(h.event_count() == 2); // nothing twice
    CHECK(h.counter("listen_events") == 2);
    h.stop();
}

TEST_CASE("listen: Jeedom down, then back: listening resumes without duplicates") {
    auto sim = start_sim();
    ModuleHarness h(module_path("jeedom"));
    REQUIRE(h.create(listen_config(sim)).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(wait_long_poll(sim, 5s));
    sim.post("/hook", {{"down", true}});
    REQUIRE(h.wait_for_health("unreachable", 5s));
    std::this_thread::sleep_for(1500ms);
    sim.post("/hook", {{"down", false}});
    sim.post("/requests/clear", nlohmann::json::object());
    REQUIRE(wait_long_poll(sim, 15s));
    sim.post("/change", {{"cmd", "10"}, {"value", "1"}});
    REQUIRE(h.wait_for_events(1, 5s));
    CHECK(h.health().state == "ok");
    CHECK(h.counter("listen_errors") >= 1);
    std::this_thread::sleep_for(300ms);
    CHECK(h.event_count() == 1);
}

TEST_CASE("listen: garbage, truncated and huge replies are survived") {
    auto sim = start_sim();
    const std::string huge = R"({"jsonrpc":"2.0","id":1,"result":{"datetime":1763917300,"result":[")" +
                             std::string(5 * 1024 * 1024, 'x') + "\"]}}";
    sim.post("/hook", {{"changes_replies",
                        {"<br /><b>Fatal error</b>: Allowed memory size exhausted in event.class.php",
                         R"({"jsonrpc":"2.0","id":2,"result":{"datetime":17639)", huge}}});
    ModuleHarness h(module_path("jeedom"));
    REQUIRE(h.create(listen_config(sim)).ok());
    REQUIRE(h.start() == PL_OK);
    // 1 s, 2 s, 4 s of backoff (+-25 %), then the real answers.
    REQUIRE(wait_long_poll(sim, 20s));
    CHECK(h.counter("listen_errors") == 3);
    sim.post("/change", {{"cmd", "10"}, {"value", "1"}});
    REQUIRE(h.wait_for_events(1, 5s));
    CHECK(h.events()[0].attr("cmd_id") == "10");

    // A reply whose entries are nonsense is skipped entry by entry, the loop goes on.
    sim.post("/raw_event", {{"name", "cmd::update"}, {"option", "garbage"}});
    sim.post("/raw_event", {{"name", "cmd::update"}, {"option", {{"cmd_id", nlohmann::json::array()}}}});
    sim.post("/change", {{"cmd", "10"}, {"value", "0"}});
    REQUIRE(h.wait_for_events(2, 5s));
    CHECK(h.events()[1].attr("value") == "0");
    CHECK(h.counter("listen_malformed") >= 1);
}

TEST_CASE("listen: a wrong key is auth_failed, retried slowly, never shown") {
    auto sim = start_sim();
    const std::string wrong = "wrong-listen-key-4242";
    ModuleHarness h(module_path("jeedom"));
    REQUIRE(h.create(listen_config(sim, {{"apikey", wrong}})).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("auth_failed", 5s));
    std::this_thread::sleep_for(2500ms);
    CHECK(count_method(sim, "event::changes") == 1); // not hammered (a real Jeedom bans after 6)
    check_no_secret(h, wrong);
    CHECK(h.event_count() == 0);
}

TEST_CASE("listen: a Jeedom that answers at once does not make the loop spin") {
    auto sim = start_sim();
    // Every reply: an empty list, immediately (a proxy or an old Jeedom ignoring longPolling).
    std::vector<std::string> replies(40, R"({"jsonrpc":"2.0","id":1,"result":{"datetime":1763917300,"result":[]}})");
    sim.post("/hook", {{"changes_replies", replies}});
    ModuleHarness h(module_path("jeedom"));
    REQUIRE(h.create(listen_config(sim)).ok());
    REQUIRE(h.start() == PL_OK);
    std::this_thread::sleep_for(2500ms);
    const size_t calls = count_method(sim, "event::changes");
    CHECK(calls >= 2);
    CHECK(calls <= 5); // one call a second at most, not thousands
}

TEST_CASE("listen: config checks") {
    ModuleHarness h(module_path("jeedom"));
    auto bad = [&](nlohmann::json c, const std::string& key) {
        nlohmann::json base{{"url", "http://127.0.0.1:1"}, {"apikey", "k"}, {"listen", {"10"}}};
        base.update(c);
        auto r = h.create(base.dump());
        CHECK_FALSE(r.ok());
        CHECK(r.error_key == key);
    };
    bad({{"plugin", "virtual"}}, "listen");
    bad({{"listen_poll", "0s"}}, "listen_poll");
    bad({{"listen_poll", "1h"}}, "listen_poll");
    bad({{"listen", 12}}, "listen");
}
