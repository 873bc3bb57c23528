// asterisk.so loaded like the daemon loads it (module harness), against the
// AMI simulator ami_sim.py replaying the real captures.
#include "module_harness.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <thread>

using nlohmann::json;
using passerelle::Event;
using passerelle::State;
using passerelle::testing::ModuleHarness;
using passerelle::testing::module_path;
using passerelle::testing::TempDir;
using namespace std::chrono_literals;

namespace {

// The simulator as a child process; commands go to its stdin.
class Sim {
public:
    explicit Sim(const std::string& version = "20.20.1", const std::string& extra = "") : port_(passerelle::testing::free_loopback_port()) {
        std::string cmd = std::string(PYTHON3) + " " + AMI_SIM + " --port " + std::to_string(port_) + " --version " + version +
                          " --log " + (dir_ / "sim.jsonl").string() + " " + extra + " > " + (dir_ / "sim.out").string() + " 2>&1";
        pipe_ = ::popen(cmd.c_str(), "w");
        REQUIRE(pipe_);
        for (int i = 0; i < 100 && !listening(); ++i) std::this_thread::sleep_for(50ms);
        REQUIRE(listening());
    }
    ~Sim() {
        command("quit");
        ::pclose(pipe_);
    }
    void command(const std::string& c) {
        std::fputs((c + "\n").c_str(), pipe_);
        std::fflush(pipe_);
    }
    int port() const { return port_; }
    // Every packet the client sent, as [[key, value], ...].
    std::vector<json> received() const {
        std::vector<json> out;
        std::ifstream in(dir_ / "sim.jsonl");
        for (std::string line; std::getline(in, line);)
            if (!line.empty()) out.push_back(json::parse(line)["fields"]);
        return out;
    }
    std::vector<json> actions(const std::string& name) const {
        std::vector<json> out;
        for (auto& f : received())
            if (!f.empty() && f[0][0] == "Action" && f[0][1] == name) out.push_back(f);
        return out;
    }

private:
    bool listening() const {
        std::ifstream in(dir_ / "sim.out");
        std::string line;
        return std::getline(in, line) && line.rfind("PORT", 0) == 0;
    }
    TempDir dir_{"ami-sim"};
    int port_;
    FILE* pipe_ = nullptr;
};

std::string config(int port, const std::string& extra = "{}") {
    json c = {{"host", "127.0.0.1"}, {"port", port}, {"user", "passerelle"}, {"secret", "Amisecret42"},
              {"context", "test"}, {"channel_tech", "SIP"}, {"message_tech", "sip"}, {"caller_id", "\"eedomus\" <101>"},
              {"timeout", "20s"}, {"ping_interval", "1s"}};
    c.update(json::parse(extra));
    return c.dump();
}

std::string value(const json& fields, const std::string& key) {
    for (auto& kv : fields)
        if (kv[0] == key) return kv[1];
    return "";
}

std::vector<Event> of(const std::vector<Event>& es, const std::string& type) {
    std::vector<Event> out;
    for (auto& e : es)
        if (e.type == type) out.push_back(e);
    return out;
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) return true;
        std::this_thread::sleep_for(20ms);
    }
    return pred();
}

} // namespace

TEST_CASE("declaration: every key of the issue") {
    ModuleHarness h(module_path("asterisk"));
    for (const char* k : {"host", "port", "user", "secret", "auth", "tls", "verify_tls", "ca_file", "events", "ping_interval",
                          "context", "channel_tech", "caller_id", "timeout", "message_tech", "message_from", "allow_raw"})
        CHECK(h.find_key(k));
    CHECK((h.find_key("secret")->flags & PL_KEY_SECRET));
    for (const char* a : {"originate", "play", "message", "hangup", "action"}) CHECK(h.find_action(a));
    auto bad = h.create(R"({"host":"x","user":"u","secret":"s","auth":"ntlm"})");
    CHECK(bad.error_key == "auth");
}

TEST_CASE("inbound call, DTMF and registrations from the simulator (both versions, and trickled)") {
    for (std::string version : {"20.20.1", "13.38.3"}) {
        for (bool trickle : {false, true}) {
            INFO(version << (trickle ? " trickled" : ""));
            Sim sim(version);
            ModuleHarness h(module_path("asterisk"));
            REQUIRE(h.create(config(sim.port())).ok());
            REQUIRE(h.start() == PL_OK);
            REQUIRE(h.wait_for_health("connected", 5s));
            if (trickle) sim.command("trickle on");
            sim.command("call");
            REQUIRE(wait_until([&] { return of(h.events(), "call").size() >= 4 && !of(h.events(), "dtmf").empty(); }, 10s));
            sim.command("register");
            REQUIRE(wait_until([&] { return of(h.events(), "registration").size() >= 4; }, 10s));
            auto calls = of(h.events(), "call");
            REQUIRE(calls.front().state == State::start);
            CHECK(calls.front().attr("caller") == "0612345678");
            CHECK(calls.back().state == State::stop);
            CHECK(calls.back().attr("cause") == "16");
            CHECK(of(h.events(), "dtmf").size() == 1);
            CHECK(of(h.events(), "dtmf")[0].attr("digit") == "5");
            auto h2 = h.health();
            auto info = json::parse(h2.info_json.empty() ? "{}" : h2.info_json);
            CHECK(info.value("ami_version", "") == (version == "20.20.1" ? "9.0.0" : "2.10.6"));
            REQUIRE(wait_until([&] { return json::parse(h.health().info_json.empty() ? "{}" : h.health().info_json).value("asterisk_version", "") == version; }, 5s));
            CHECK(json::parse(h.health().info_json).value("fully_booted", false));
            CHECK(h.health().info_json.find("Amisecret42") == std::string::npos);
        }
    }
}

TEST_CASE("originate and message produce the captured actions and clear results") {
    Sim sim;
    ModuleHarness h(module_path("asterisk"));
    REQUIRE(h.create(config(sim.port(), R"({"message_from": "eedomus"})")).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 5s));

    auto r = h.invoke("originate", R"({"from": "100", "to": "101"})", std::nullopt, 15s);
    REQUIRE(r.ok());
    auto j = json::parse(r.result);
    CHECK(j["outcome"] == "answered");
    CHECK(j["reason"] == "4");
    CHECK(j["to_answered"] == true);
    auto sent = sim.actions("Originate");
    REQUIRE(sent.size() == 1);
    // Capture 17's client.txt: Channel SIP/100, Context test, Exten 101, Priority 1,
    // CallerID "eedomus" <101>, Timeout 20000, Async true.
    CHECK(value(sent[0], "Channel") == "SIP/100");
    CHECK(value(sent[0], "Context") == "test");
    CHECK(value(sent[0], "Exten") == "101");
    CHECK(value(sent[0], "Priority") == "1");
    CHECK(value(sent[0], "CallerID") == "\"eedomus\" <101>");
    CHECK(value(sent[0], "Timeout") == "20000");
    CHECK(value(sent[0], "Async") == "true");

    r = h.invoke("originate", R"({"from": "100", "to": "291"})", std::nullopt, 15s);
    REQUIRE(r.ok());
    j = json::parse(r.result);
    CHECK(j["outcome"] == "answered");
    CHECK(j["to_answered"] == false);
    CHECK(j["cause"] == "20");

    r = h.invoke("originate", R"({"from": "100", "to": "999"})", std::nullopt, 15s);
    CHECK(r.status == PL_ERR_PERMANENT);
    CHECK(r.result.find("Extension does not exist.") != std::string::npos);

    r = h.invoke("message", R"({"to": "100", "text": "Alerte cuve"})");
    CHECK(r.ok());
    auto msgs = sim.actions("MessageSend");
    REQUIRE(msgs.size() == 1);
    CHECK(value(msgs[0], "To") == "sip:100");
    CHECK(value(msgs[0], "From") == "eedomus");
    CHECK(value(msgs[0], "Body") == "Alerte cuve");
    r = h.invoke("message", R"({"to": "100", "text": "Ligne 1\nLigne 2"})");
    CHECK(r.ok());
    CHECK(value(sim.actions("MessageSend").back(), "Base64Body") == "TGlnbmUgMQpMaWduZSAy"); // as in capture 15
    r = h.invoke("message", R"({"to": "999", "text": "x"})");
    CHECK(r.status == PL_ERR_PERMANENT);
    CHECK(r.result.find("Message failed to send.") != std::string::npos);
    r = h.invoke("message", R"({"to": "100", "text": "x", "tech": "pjsip"})");
    CHECK(r.result.find("Message technology not found.") != std::string::npos);
    r = h.invoke("message", json({{"to", "100"}, {"text", std::string(1301, 'a')}}).dump());
    CHECK(r.status == PL_ERR_INVALID);
    r = h.invoke("message", R"({"to": "100\r\nAction: Command", "text": "x"})");
    CHECK(r.status == PL_ERR_INVALID);
    r = h.invoke("action", R"({"name": "Command", "command": "core show version"})");
    CHECK(r.status == PL_ERR_INVALID);
    CHECK(sim.actions("Command").empty());
}

TEST_CASE("MD5 challenge login") {
    Sim sim;
    ModuleHarness h(module_path("asterisk"));
    REQUIRE(h.create(config(sim.port(), R"({"auth": "md5"})")).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 5s));
    auto logins = sim.actions("Login");
    REQUIRE(logins.size() == 1);
    CHECK(value(logins[0], "AuthType") == "MD5");
    CHECK(value(logins[0], "Secret").empty());
    CHECK(value(logins[0], "Key").size() == 32);
}

TEST_CASE("a wrong secret is auth_failed, without a tight loop") {
    Sim sim;
    ModuleHarness h(module_path("asterisk"));
    REQUIRE(h.create(config(sim.port(), R"({"secret": "wrong"})")).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("auth_failed", 5s));
    CHECK(h.health().detail.find("Authentication failed") != std::string::npos);
    CHECK(h.health().detail.find("wrong") == std::string::npos);
    std::this_thread::sleep_for(3s);
    CHECK(sim.actions("Login").size() == 1); // next try in ~60 s
    for (auto& l : h.logs()) CHECK(l.message.find("wrong") == std::string::npos);
}

TEST_CASE("a dropped session reconnects; waiting actions fail cleanly") {
    Sim sim;
    ModuleHarness h(module_path("asterisk"));
    REQUIRE(h.create(config(sim.port(), R"({"ping_interval": "30s"})")).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 5s));
    sim.command("silence on");
    std::this_thread::sleep_for(100ms);
    std::thread dropper([&] {
        std::this_thread::sleep_for(500ms);
        sim.command("silence off");
        sim.command("drop");
    });
    auto started = std::chrono::steady_clock::now();
    auto r = h.invoke("message", R"({"to": "100", "text": "x"})", std::nullopt, 8s);
    dropper.join();
    CHECK(r.status == PL_ERR_RETRY);
    CHECK(r.result.find("connection lost") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - started < 5s);
    REQUIRE(h.wait_for_health("reconnecting", 3s));
    REQUIRE(wait_until([&] { return h.health().state == "connected"; }, 5s)); // first retry within 2 s
    CHECK(sim.actions("Login").size() == 2);
    CHECK(h.counter("reconnects") == 1);
    r = h.invoke("message", R"({"to": "100", "text": "back"})");
    CHECK(r.ok());
}

TEST_CASE("garbage from the server is skipped; the session goes on") {
    Sim sim;
    ModuleHarness h(module_path("asterisk"));
    REQUIRE(h.create(config(sim.port())).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 5s));
    sim.command("garbage");
    sim.command("call");
    REQUIRE(wait_until([&] { return of(h.events(), "call").size() >= 4; }, 10s));
    CHECK(of(h.events(), "call").front().attr("caller") == "0612345678");
    CHECK(h.counter("parse_errors") >= 1);
}

TEST_CASE("eeCallUs privileges: logged in but no events, health says so") {
    Sim sim("20.20.1", "--user eecallus --secret Eecallus42 --read message,originate");
    ModuleHarness h(module_path("asterisk"));
    REQUIRE(h.create(config(sim.port(), R"({"user": "eecallus", "secret": "Eecallus42"})")).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 5s));
    REQUIRE(wait_until([&] { return h.health().detail.find("read = system,call") != std::string::npos; }, 10s));
    CHECK(json::parse(h.health().info_json).value("events_missing", false));
}
