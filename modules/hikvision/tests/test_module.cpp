// hikvision.so through the module harness, against tests/hik_sim.py: the
// stream becomes events with the right fields, digest MD5 and SHA-256, a wrong
// password backs off slowly, a silent device and a dropped stream reconnect,
// the NVR boundary mismatch, snapshots and stream images attached, every
// action hits the right endpoint with the right body, arm/disarm restores.
#include "isapi.hpp"
#include "module_harness.hpp"
#include "sim_process.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

using nlohmann::json;
using passerelle::Event;
using passerelle::State;
using passerelle::testing::ModuleHarness;
using passerelle::testing::module_path;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

json base_config(const HikSim& sim, json extra = json::object()) {
    json c{{"url", sim.url()}, {"user", "admin"}, {"password", "sim-password"}, {"heartbeat_timeout", "5s"}};
    c.update(extra);
    return c;
}

std::vector<Event> of_type(const ModuleHarness& h, const std::string& type) {
    std::vector<Event> out;
    for (auto& e : h.events())
        if (e.type == type) out.push_back(e);
    return out;
}

// Waits until pred() holds (bounded).
template <class P>
bool eventually(P pred, std::chrono::milliseconds timeout = 20s) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) return true;
        std::this_thread::sleep_for(20ms);
    }
    return pred();
}

// A 127.0.0.1 port nothing listens on (bound then released).
int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
        port = ntohs(a.sin_port);
    ::close(fd);
    return port;
}

bool has_stop(const ModuleHarness& h, const std::string& type) {
    for (auto& e : h.events())
        if (e.type == type && e.state == State::stop) return true;
    return false;
}

} // namespace

TEST_CASE("hikvision declares its keys and actions", "[hikvision][module]") {
    ModuleHarness h(module_path("hikvision"));
    CHECK(std::string(h.descriptor().name) == "hikvision");
    for (const char* k : {"url", "user", "password", "verify_tls", "ca_file", "inactive_timeout", "heartbeat_timeout",
                          "image_dir", "image_retention", "snapshot_on", "channels", "call_status_poll"})
        CHECK(h.find_key(k));
    CHECK((h.find_key("password")->flags & PL_KEY_SECRET) != 0);
    CHECK(std::string(h.find_key("inactive_timeout")->default_value) == "5s");
    CHECK(std::string(h.find_key("heartbeat_timeout")->default_value) == "40s");
    CHECK(std::string(h.find_key("image_retention")->default_value) == "7d");
    for (const char* a : {"snapshot", "set_motion_detection", "set_event_notification", "trigger_output", "open_door",
                          "arm", "disarm"})
        CHECK(h.find_action(a));

    auto bad = h.create(R"({"url": "ftp://x"})");
    CHECK(bad.status == PL_ERR_INVALID);
    CHECK(bad.error_key == "url");
    ModuleHarness h2(module_path("hikvision"));
    auto bad2 = h2.create(R"({"url": "http://127.0.0.1:1", "channels": {"garage": "x"}})");
    CHECK(bad2.error_key == "channels");
}

TEST_CASE("motion stream (digest MD5) -> start, folded repeats, stop with channel names", "[hikvision][module][sim]") {
    HikSim sim({"--scenario", "motion", "--active-for", "1", "--repeat-hz", "5", "--heartbeat", "0.3",
                "--stream-seconds", "20"});
    ModuleHarness h(module_path("hikvision"));
    REQUIRE(h.create(base_config(sim).dump()).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 20s));
    REQUIRE(eventually([&] { return has_stop(h, "motion"); }));
    auto motion = of_type(h, "motion");
    REQUIRE(motion.size() == 2); // 5 actives folded into one start, then the inactive's stop
    CHECK(motion[0].state == State::start);
    CHECK(motion[0].code == "VMD");
    CHECK(motion[0].channel == 1);
    // from /ISAPI/System/Video/inputs/channels: the device's list wins over the part's <channelName>Sim
    CHECK(motion[0].attr("channel_name") == "Entrance");
    CHECK(motion[1].state == State::stop);
    CHECK(motion[1].attr("synthesized") == "false");
    CHECK(motion[1].attr("repeats") == "4");
    // heartbeats are health, not events
    CHECK(of_type(h, "video_loss").empty());
    REQUIRE(eventually([&] { return h.counter("heartbeats") >= 2; }));
    auto health = h.health();
    auto info = json::parse(health.info_json);
    CHECK(info["model"] == "DS-2CD2185FWD-I");
    CHECK(info["serial"] == "DS-2CD2185FWD-I20180101AAWR111111111");
    CHECK(info["firmware"] == "V5.5.82");
    auto streams = sim.requests_to("/ISAPI/Event/notification/alertStream");
    REQUIRE(!streams.empty());
    CHECK(streams.back()["auth"] == "digest-md5");
    // the password never reaches a log line
    for (auto& l : h.logs()) CHECK(l.message.find("sim-password") == std::string::npos);
}

TEST_CASE("digest SHA-256, config channel names, synthesized stop when the NVR never says inactive",
          "[hikvision][module][sim]") {
    HikSim sim({"--scenario", "motion", "--auth", "digest-sha256", "--active-for", "0.6", "--repeat-hz", "5",
                "--no-inactive", "--heartbeat", "0.3", "--stream-seconds", "20"});
    ModuleHarness h(module_path("hikvision"));
    REQUIRE(h.create(base_config(sim, {{"inactive_timeout", "500ms"}, {"channels", {{"1", "Porte"}}}}).dump()).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(eventually([&] { return has_stop(h, "motion"); }));
    auto motion = of_type(h, "motion");
    REQUIRE(motion.size() == 2);
    CHECK(motion[0].attr("channel_name") == "Porte");
    CHECK(motion[1].attr("synthesized") == "true");
    CHECK(sim.requests_to("/ISAPI/Event/notification/alertStream").back()["auth"] == "digest-sha-256");
}

TEST_CASE("wrong password -> auth_failed, slow backoff (no tight loop)", "[hikvision][module][sim]") {
    HikSim sim({"--scenario", "motion", "--heartbeat", "0.3"});
    ModuleHarness h(module_path("hikvision"));
    REQUIRE(h.create(base_config(sim, {{"password", "wrong"}}).dump()).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("auth_failed", 20s));
    std::this_thread::sleep_for(2500ms);
    // one challenge + one answer, then nothing for ~60 s
    auto streams = sim.requests_to("/ISAPI/Event/notification/alertStream");
    CHECK(streams.size() <= 2);
    CHECK(sim.requests().size() <= 8); // deviceInfo + channel lists + stream, each refused once
    CHECK(h.health().detail.find("wrong") == std::string::npos);
}

TEST_CASE("silent device (no heartbeat) is re-attached", "[hikvision][module][sim]") {
    HikSim sim({"--scenario", "silent", "--stream-seconds", "30"});
    ModuleHarness h(module_path("hikvision"));
    REQUIRE(h.create(base_config(sim, {{"heartbeat_timeout", "700ms"}, {"reattach_interval", "700ms"}}).dump()).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 20s));
    REQUIRE(eventually([&] { return sim.requests_to("/ISAPI/Event/notification/alertStream").size() >= 4; }));
    CHECK(h.counter("reconnects") >= 1);
    CHECK(h.health().state == "connected"); // a re-attach that works is not an outage
}

TEST_CASE("stream dropped mid-part -> reconnect and continue", "[hikvision][module][sim]") {
    HikSim sim({"--scenario", "replay", "--samples", "cam", "--max-parts", "40", "--drop-mid-part", "10", "--drop-once",
                "--heartbeat", "0.3", "--stream-seconds", "20"});
    ModuleHarness h(module_path("hikvision"));
    REQUIRE(h.create(base_config(sim).dump()).ok());
    REQUIRE(h.start() == PL_OK);
    // 9 parts before the drop, then the whole 40 on the second stream
    REQUIRE(eventually([&] { return h.counter("parts") >= 49; }, 30s));
    CHECK(h.counter("reconnects") >= 1);
    CHECK(h.counter("parse_errors") <= 1); // at most the truncated part
    REQUIRE(h.wait_for_health("connected", 5s));
    CHECK(sim.requests_to("/ISAPI/Event/notification/alertStream").size() >= 2);
}

TEST_CASE("NVR declaring another boundary (HTTP/1.0) still streams", "[hikvision][module][sim]") {
    HikSim sim({"--scenario", "motion", "--nvr-mismatch", "--active-for", "0.4", "--repeat-hz", "5", "--heartbeat",
                "0.3", "--auth", "basic", "--stream-seconds", "20"});
    ModuleHarness h(module_path("hikvision"));
    REQUIRE(h.create(base_config(sim).dump()).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(eventually([&] { return has_stop(h, "motion"); }));
    CHECK(of_type(h, "motion").front().state == State::start);
}

TEST_CASE("images: the stream's JPEG attaches to the smart event; snapshot_on fetches one (NVR fallback)",
          "[hikvision][module][sim]") {
    passerelle::testing::TempDir images;
    SECTION("stream image part") {
        HikSim sim({"--scenario", "smart", "--heartbeat", "0.3", "--stream-seconds", "20"});
        ModuleHarness h(module_path("hikvision"));
        REQUIRE(h.create(base_config(sim, {{"image_dir", images.path().string()}}).dump()).ok());
        REQUIRE(h.start() == PL_OK);
        REQUIRE(eventually([&] { return has_stop(h, "intrusion"); }));
        auto ev = of_type(h, "intrusion");
        REQUIRE(ev[0].state == State::start);
        CHECK(ev[0].attachment_mime == "image/jpeg");
        REQUIRE(ev[0].attachment.size() > 4);
        CHECK(ev[0].attachment[0] == 0xFF);
        CHECK(ev[0].attachment[1] == 0xD8);
        CHECK(ev[0].attr("region") == "1");
        CHECK(ev[0].attr("target") == "human");
        CHECK(fs::exists(ev[0].attachment_path));
    }
    SECTION("snapshot_on, NVR picture path") {
        HikSim sim({"--scenario", "motion", "--nvr", "--active-for", "0.4", "--repeat-hz", "5", "--heartbeat", "0.3",
                    "--stream-seconds", "20"});
        ModuleHarness h(module_path("hikvision"));
        REQUIRE(h.create(base_config(sim, {{"snapshot_on", {"motion"}}}).dump()).ok());
        REQUIRE(h.start() == PL_OK);
        REQUIRE(eventually([&] { return has_stop(h, "motion"); }));
        auto ev = of_type(h, "motion");
        REQUIRE(ev[0].state == State::start);
        CHECK(ev[0].attr("snapshot") == "true");
        CHECK(ev[0].attachment_mime == "image/jpeg");
        CHECK(ev[0].attachment.size() > 4);
        CHECK(ev[1].attachment.empty()); // no snapshot on stops
        CHECK(ev[0].attr("channel_name") == "Camera 01"); // InputProxy channel list
        CHECK(!sim.requests_to("/ISAPI/ContentMgmt/StreamingProxy/channels/101/picture").empty());
    }
}

TEST_CASE("actions hit the right endpoints with the right bodies", "[hikvision][module][sim]") {
    HikSim sim({"--scenario", "silent", "--stream-seconds", "30"});
    passerelle::testing::TempDir images;
    ModuleHarness h(module_path("hikvision"));
    REQUIRE(h.create(base_config(sim, {{"image_dir", images.path().string()}}).dump()).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 20s));

    auto snap = h.invoke("snapshot", R"({"channel": 1})");
    REQUIRE(snap.ok());
    auto sj = json::parse(snap.result);
    CHECK(fs::exists(sj["path"].get<std::string>()));
    CHECK(sj["size"].get<size_t>() == fs::file_size(sj["path"].get<std::string>()));

    REQUIRE(h.invoke("set_motion_detection", R"({"channel": 1, "enabled": false})").ok());
    auto md = sim.requests_to("/ISAPI/System/Video/inputs/channels/1/motionDetection", "PUT");
    REQUIRE(md.size() == 1);
    CHECK(md[0]["body"].get<std::string>().find("<enabled>false</enabled>") != std::string::npos);

    REQUIRE(h.invoke("trigger_output", R"({"output": 2, "state": "low"})").ok());
    auto out = sim.requests_to("/ISAPI/System/IO/outputs/2/trigger", "PUT");
    REQUIRE(out.size() == 1);
    CHECK(out[0]["body"].get<std::string>().find("<outputState>low</outputState>") != std::string::npos);
    CHECK(h.invoke("trigger_output", R"({"state": "loud"})").status == PL_ERR_INVALID);

    REQUIRE(h.invoke("open_door", R"({"door": 1})").ok());
    auto door = sim.requests_to("/ISAPI/AccessControl/RemoteControl/door/1", "PUT");
    REQUIRE(door.size() == 1);
    CHECK(door[0]["body"].get<std::string>().find("<cmd>open</cmd>") != std::string::npos);

    REQUIRE(h.invoke("set_event_notification", R"({"event_type": "VMD", "enabled": false})").ok());
    auto trig = sim.requests_to("/ISAPI/Event/triggers", "PUT");
    REQUIRE(trig.size() == 1);
    auto t = passerelle::hikvision::parse_triggers(trig[0]["body"].get<std::string>());
    REQUIRE(t);
    CHECK_FALSE(t->at("VMD-1").center);
    CHECK(t->at("tamper-1").center); // others untouched
    CHECK(h.invoke("set_event_notification", R"({"event_type": "nosuch", "enabled": true})").status == PL_ERR_INVALID);

    // a 404 from the device is a permanent failure with the device's words
    auto missing = h.invoke("open_door", R"({"door": 7})");
    CHECK(missing.ok()); // the sim accepts any door number
}

TEST_CASE("disarm turns every center notification off, arm restores exactly the user's", "[hikvision][module][sim]") {
    HikSim sim({"--scenario", "silent", "--stream-seconds", "30"});
    ModuleHarness h(module_path("hikvision"));
    REQUIRE(h.create(base_config(sim).dump()).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 20s));
    // what the user had: read through the device
    std::string original = sim.get("/sim/requests").empty() ? "" : "";
    std::ifstream in(std::string(PASSERELLE_SHARED_DIR) + "/fixtures/hikvision/hiksink_triggers_cam.xml");
    original.assign(std::istreambuf_iterator<char>(in), {});
    auto before = passerelle::hikvision::parse_triggers(original);
    REQUIRE(before);

    auto d = h.invoke("disarm");
    REQUIRE(d.ok());
    auto puts = sim.requests_to("/ISAPI/Event/triggers", "PUT");
    REQUIRE(puts.size() == 1);
    auto off = passerelle::hikvision::parse_triggers(puts[0]["body"].get<std::string>());
    REQUIRE(off);
    for (auto& [id, t] : *off) CHECK_FALSE(t.center);
    REQUIRE(fs::exists(h.state_dir() / "arm_state.json"));
    REQUIRE(eventually([&] { return !of_type(h, "armed").empty(); }));
    CHECK(of_type(h, "armed").back().state == State::stop);
    CHECK(json::parse(h.health().info_json)["armed"] == false);

    REQUIRE(h.invoke("arm").ok());
    puts = sim.requests_to("/ISAPI/Event/triggers", "PUT");
    REQUIRE(puts.size() == 2);
    auto on = passerelle::hikvision::parse_triggers(puts[1]["body"].get<std::string>());
    REQUIRE(on);
    for (auto& [id, t] : *on) CHECK(t.center == before->at(id).center);
    REQUIRE(eventually([&] { return of_type(h, "armed").size() == 2; }));
    CHECK(of_type(h, "armed").back().state == State::start);
    CHECK(json::parse(h.health().info_json)["armed"] == true);
}

TEST_CASE("intercom: JSON parts and call status poll become doorbell/door events", "[hikvision][module][sim]") {
    HikSim sim({"--scenario", "intercom", "--heartbeat", "0.3", "--stream-seconds", "20"});
    ModuleHarness h(module_path("hikvision"));
    REQUIRE(h.create(base_config(sim, {{"call_status_poll", "200ms"}}).dump()).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(eventually([&] { return !of_type(h, "door").empty() && !of_type(h, "doorbell").empty(); }));
    h.clear_events();
    sim.get("/sim/call_status?status=ring");
    REQUIRE(eventually([&] {
        for (auto& e : of_type(h, "doorbell"))
            if (e.code == "callStatus" && e.state == State::start) return true;
        return false;
    }));
    sim.get("/sim/call_status?status=onCall");
    REQUIRE(eventually([&] {
        for (auto& e : of_type(h, "doorbell"))
            if (e.code == "callStatus" && e.state == State::stop) return e.attr("answered") == "true";
        return false;
    }));
}

TEST_CASE("a device off when the module starts gets model, serial and channel names once it is up",
          "[hikvision][module][sim]") {
    const int port = free_port();
    REQUIRE(port > 0);
    ModuleHarness h(module_path("hikvision"));
    json cfg{{"url", "http://127.0.0.1:" + std::to_string(port)}, {"user", "admin"}, {"password", "sim-password"},
             {"heartbeat_timeout", "5s"}, {"reconnect_max", "1s"}};
    REQUIRE(h.create(cfg.dump()).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("unreachable", 10s));
    CHECK_FALSE(json::parse(h.health().info_json).contains("model"));

    // The camera boots after the daemon.
    HikSim sim({"--port", std::to_string(port), "--scenario", "motion", "--active-for", "1", "--repeat-hz", "5",
                "--heartbeat", "0.3", "--stream-seconds", "20"});
    REQUIRE(eventually([&] { return has_stop(h, "motion"); }, 20s));
    auto motion = of_type(h, "motion");
    REQUIRE(motion.size() == 2);
    // read from /ISAPI/System/Video/inputs/channels on reconnect (the part itself says "Sim")
    CHECK(motion[1].attr("channel_name") == "Entrance");
    REQUIRE(eventually([&] { return json::parse(h.health().info_json).contains("model"); }, 5s));
    auto info = json::parse(h.health().info_json);
    CHECK(h.health().state == "connected");
    CHECK(info["model"] == "DS-2CD2185FWD-I"); // top-level strings: the kernel copies them into the device event
    CHECK(info["serial"] == "DS-2CD2185FWD-I20180101AAWR111111111");
    CHECK(info["firmware"] == "V5.5.82");
    CHECK(info["channels"] == 1);
    // read once the device answered, not again on every re-attach
    int answered = 0;
    for (auto& r : sim.requests_to("/ISAPI/System/deviceInfo")) answered += r.value("status", 0) == 200;
    CHECK(answered == 1);
}

TEST_CASE("intercom call-status poll backs off on a refused login (no failed login per second)",
          "[hikvision][module][sim]") {
    HikSim sim({"--scenario", "intercom", "--heartbeat", "0.3", "--stream-seconds", "20"});
    ModuleHarness h(module_path("hikvision"));
    REQUIRE(h.create(base_config(sim, {{"password", "wrong"}, {"call_status_poll", "200ms"}}).dump()).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("auth_failed", 20s));
    REQUIRE(eventually([&] { return !sim.requests_to("/ISAPI/VideoIntercom/callStatus").empty(); }, 5s));
    std::this_thread::sleep_for(2500ms); // 12 polls' worth at 200 ms
    // one refused poll (challenge + answer), then auth_backoff (60 s) before the next
    auto polls = sim.requests_to("/ISAPI/VideoIntercom/callStatus");
    CHECK(polls.size() <= 2);
    bool said = false;
    for (auto& l : h.logs()) said = said || l.message.find("callStatus") != std::string::npos;
    CHECK(said);
    for (auto& l : h.logs()) CHECK(l.message.find("wrong") == std::string::npos);
}

TEST_CASE("image retention deletes this instance's images older than image_retention, nothing else",
          "[hikvision][module][sim]") {
    HikSim sim({"--scenario", "silent", "--stream-seconds", "30"});
    passerelle::testing::TempDir images;
    auto make = [&](const std::string& name, std::chrono::hours age) {
        const fs::path p = images.path() / name;
        std::ofstream(p) << "jpeg";
        fs::last_write_time(p, fs::file_time_type::clock::now() - age);
        return p;
    };
    json cfg = base_config(sim, {{"image_dir", images.path().string()}});
    fs::path expired, kept, foreign;
    SECTION("image_retention = 1d") {
        cfg["image_retention"] = "1d";
        expired = make("test_20200101T000000.000Z_ch1_VMD_1.jpg", 48h); // ours, 2 days old
        kept = make("test_20200101T000000.000Z_ch1_VMD_2.jpg", 1h);     // ours, recent
        foreign = make("other_20200101T000000.000Z_ch1_VMD_1.jpg", 48h); // another instance's
    }
    SECTION("image_retention left out: 7 days") {
        expired = make("test_20200101T000000.000Z_ch1_VMD_1.jpg", 8 * 24h);
        kept = make("test_20200101T000000.000Z_ch1_VMD_2.jpg", 6 * 24h);
        foreign = make("other_20200101T000000.000Z_ch1_VMD_1.jpg", 8 * 24h);
    }
    ModuleHarness h(module_path("hikvision"));
    REQUIRE(h.create(cfg.dump()).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(eventually([&] { return !fs::exists(expired); }, 10s)); // first run 1 s after start
    CHECK(fs::exists(kept));
    CHECK(fs::exists(foreign));
    REQUIRE(eventually([&] { return h.counter("images_deleted") >= 1; }, 2s));
    CHECK(h.counter("images_deleted") == 1);
}

TEST_CASE("old firmware: 404 on /ISAPI alertStream -> falls back to /Event/notification/alertStream",
          "[hikvision][module][sim]") {
    HikSim sim({"--scenario", "motion", "--legacy-path", "--active-for", "0.4", "--repeat-hz", "5", "--heartbeat",
                "0.3", "--stream-seconds", "20"});
    ModuleHarness h(module_path("hikvision"));
    REQUIRE(h.create(base_config(sim).dump()).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(eventually([&] { return has_stop(h, "motion"); }));
    CHECK(of_type(h, "motion").front().state == State::start);
    REQUIRE(h.wait_for_health("connected", 5s));
    auto info = json::parse(h.health().info_json);
    CHECK(info["path"] == "/Event/notification/alertStream");
    CHECK(h.health().detail.find("/Event/notification/alertStream") != std::string::npos);
    int refused = 0;
    for (auto& r : sim.requests_to("/ISAPI/Event/notification/alertStream")) refused += r.value("status", 0) == 404;
    CHECK(refused >= 1);
    CHECK(!sim.requests_to("/Event/notification/alertStream").empty());
    CHECK(h.health().state == "connected");
}

TEST_CASE("junk and a broken part mid-stream are skipped; the stream and the event go on",
          "[hikvision][module][sim]") {
    HikSim sim({"--scenario", "motion", "--bad-part", "3", "--active-for", "1", "--repeat-hz", "5", "--heartbeat",
                "0.3", "--stream-seconds", "20"});
    ModuleHarness h(module_path("hikvision"));
    REQUIRE(h.create(base_config(sim).dump()).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(eventually([&] { return has_stop(h, "motion"); }));
    auto motion = of_type(h, "motion");
    REQUIRE(motion.size() == 2);
    CHECK(motion[0].state == State::start);
    CHECK(motion[1].state == State::stop);
    CHECK(motion[1].attr("synthesized") == "false"); // the inactive after the bad part arrived
    CHECK(motion[1].attr("repeats") == "4");         // every good active after it was folded
    CHECK(h.counter("parse_errors") == 2); // the junk (framing) and the truncated XML (decode)
    CHECK(h.counter("reconnects") == 0); // the same stream carried on
    CHECK(sim.requests_to("/ISAPI/Event/notification/alertStream").size() == 1);
    CHECK(h.health().state == "connected");
}
