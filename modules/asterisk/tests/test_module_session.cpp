// asterisk.so against ami_sim.py: the session (logins, TLS, keepalive,
// reconnects, hostile server, missing privileges).
#include "sim_client.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

using namespace ami_test;
using nlohmann::json;
using passerelle::Event;
using passerelle::State;
using passerelle::testing::ModuleHarness;
using passerelle::testing::module_path;
using passerelle::testing::TempDir;
using namespace std::chrono_literals;

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

TEST_CASE("the Login asks for the event classes of the events key") {
    Sim sim;
    ModuleHarness h(module_path("asterisk"));
    SECTION("default: what the module turns into events") {
        REQUIRE(h.create(config(sim.port())).ok());
        REQUIRE(h.start() == PL_OK);
        REQUIRE(h.wait_for_health("connected", 5s));
        REQUIRE(sim.actions("Login").size() == 1);
        CHECK(value(sim.actions("Login")[0], "Events") == "system,call,dtmf,user");
    }
    SECTION("events = off") {
        REQUIRE(h.create(config(sim.port(), R"({"events": "off"})")).ok());
        REQUIRE(h.start() == PL_OK);
        REQUIRE(h.wait_for_health("connected", 5s));
        CHECK(value(sim.actions("Login")[0], "Events") == "off");
    }
}

TEST_CASE("keepalive: Pings go out every ping_interval; an unanswered Ping reconnects") {
    Sim sim;
    ModuleHarness h(module_path("asterisk"));
    REQUIRE(h.create(config(sim.port(), R"({"ping_interval": "1s"})")).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 5s));
    REQUIRE(wait_until([&] { return sim.actions("Ping").size() >= 2; }, 3500ms));
    sim.command("silence on");
    auto silenced = std::chrono::steady_clock::now();
    // The next Ping goes unanswered: after max(ping_interval, 5 s) the session is dropped.
    REQUIRE(h.wait_for_health("reconnecting", 9s));
    auto took = std::chrono::steady_clock::now() - silenced;
    CHECK(took >= 4s);
    CHECK(h.health().detail.find("no answer to Ping") != std::string::npos);
    sim.command("silence off");
    REQUIRE(wait_until([&] { return sim.actions("Login").size() == 2 && h.health().state == "connected"; }, 5s));
    CHECK(h.counter("reconnects") == 1);
}

TEST_CASE("after a drop, the first reconnect comes within ~2 s") {
    Sim sim;
    ModuleHarness h(module_path("asterisk"));
    REQUIRE(h.create(config(sim.port(), R"({"ping_interval": "30s"})")).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 5s));
    for (size_t logins = 2; logins <= 3; ++logins) { // twice: the backoff restarts after a good login
        INFO("drop " << logins - 1);
        sim.command("drop");
        auto dropped = std::chrono::steady_clock::now();
        REQUIRE(wait_until([&] { return sim.actions("Login").size() == logins; }, 4s));
        CHECK(std::chrono::steady_clock::now() - dropped < 2500ms);
        REQUIRE(wait_until([&] { return h.health().state == "connected"; }, 2s));
    }
}

namespace {
// A throwaway CA, a server certificate it signs for 127.0.0.1, and another CA
// the server certificate has nothing to do with (openssl CLI, at test time).
void make_certs(const std::filesystem::path& d) {
    std::ofstream(d / "san.ext") << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
    std::string q = d.string();
    std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    std::string cmd = "(cd " + q + " && openssl req -x509" + ec + " -keyout ca.key -out ca.pem -days 2 -subj /CN=ami-test-ca" +
                      " && openssl req" + ec + " -keyout server.key -out server.csr -subj /CN=localhost" +
                      " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext" +
                      " && openssl req -x509" + ec + " -keyout other.key -out other-ca.pem -days 2 -subj /CN=unknown-ca) >/dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
}
} // namespace

TEST_CASE("AMI over TLS: a trusted CA connects, an unknown CA is refused clearly, verify_tls = false connects with a warning") {
    TempDir certs("ami-tls");
    make_certs(certs.path());
    Sim sim("20.20.1", "--tls " + (certs / "server.pem").string() + " " + (certs / "server.key").string());

    SECTION("ca_file = the CA that signed the server certificate") {
        ModuleHarness h(module_path("asterisk"));
        REQUIRE(h.create(config(sim.port(), json({{"tls", true}, {"ca_file", (certs / "ca.pem").string()}}).dump())).ok());
        REQUIRE(h.start() == PL_OK);
        REQUIRE(h.wait_for_health("connected", 5s));
        CHECK(json::parse(h.health().info_json).value("tls", false));
        CHECK(sim.actions("Login").size() == 1);
        auto r = h.invoke("message", R"({"to": "100", "text": "over TLS"})");
        CHECK(r.ok());
        for (auto& l : h.logs()) CHECK(l.message.find("verify_tls") == std::string::npos);
    }
    SECTION("ca_file = a CA that did not sign it: refused, health says why, no Login sent") {
        ModuleHarness h(module_path("asterisk"));
        REQUIRE(h.create(config(sim.port(), json({{"tls", true}, {"ca_file", (certs / "other-ca.pem").string()}}).dump())).ok());
        REQUIRE(h.start() == PL_OK);
        REQUIRE(wait_until([&] { return h.health().detail.find("TLS handshake") != std::string::npos; }, 5s));
        CHECK(h.health().state != "connected");
        CHECK(h.health().detail.find("certificate not trusted") != std::string::npos);
        CHECK(h.health().detail.find("ca_file") != std::string::npos);
        std::this_thread::sleep_for(1500ms); // a retry or two: still refused
        CHECK(h.health().state != "connected");
        CHECK(sim.actions("Login").empty());
    }
    SECTION("no ca_file and verify_tls = false: connects, and says the certificate is not checked") {
        ModuleHarness h(module_path("asterisk"));
        REQUIRE(h.create(config(sim.port(), R"({"tls": true, "verify_tls": false})")).ok());
        REQUIRE(h.start() == PL_OK);
        REQUIRE(h.wait_for_health("connected", 5s));
        CHECK(sim.actions("Login").size() == 1);
        REQUIRE(h.wait_for_log("verify_tls = false", 1s));
        bool warned = false;
        for (auto& l : h.logs()) warned |= l.level == PL_LOG_WARN && l.message.find("verify_tls = false") != std::string::npos;
        CHECK(warned);
    }
}
