// asterisk.so loaded like the daemon loads it (module harness), against the
// AMI simulator ami_sim.py replaying the real captures: events and actions.
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

TEST_CASE("originate failures: busy, no answer and failed come back as errors naming the outcome (capture 11)") {
    Sim sim;
    ModuleHarness h(module_path("asterisk"));
    // Capture 11's lab: Local channels in context test, extension 700.
    REQUIRE(h.create(config(sim.port(), R"({"channel_tech": "Local", "timeout": "3s"})")).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 5s));

    auto r = h.invoke("originate", R"({"from": "400", "to": "700"})", std::nullopt, 10s);
    CHECK(r.status == PL_ERR_PERMANENT);
    CHECK(r.result.find("busy (Reason 5)") != std::string::npos);
    CHECK(value(sim.actions("Originate").back(), "Channel") == "Local/400@test");

    r = h.invoke("originate", R"({"from": "999", "to": "700"})", std::nullopt, 10s);
    CHECK(r.status == PL_ERR_PERMANENT);
    CHECK(r.result.find("failed (Reason 0)") != std::string::npos);

    // No answer: Asterisk rings for Timeout (2 s here), then Reason 3. The reply
    // comes then, well before the module's own deadline (ring time + 3 s).
    auto started = std::chrono::steady_clock::now();
    r = h.invoke("originate", R"({"from": "300", "to": "700", "timeout": "2s"})", std::nullopt, 10s);
    auto took = std::chrono::steady_clock::now() - started;
    CHECK(r.status == PL_ERR_PERMANENT);
    CHECK(r.result.find("no_answer (Reason 3)") != std::string::npos);
    CHECK(value(sim.actions("Originate").back(), "Timeout") == "2000");
    CHECK(took >= 1500ms);
    CHECK(took < 4500ms);
    // The failed calls still end as call events with the captured causes.
    REQUIRE(wait_until([&] { return of(h.events(), "call").size() >= 2; }, 3s));
    bool busy_stop = false;
    for (auto& e : of(h.events(), "call"))
        if (e.state == State::stop && e.attr("cause") == "17") busy_stop = true;
    CHECK(busy_stop);
}

TEST_CASE("an originate whose OriginateResponse never comes fails at ring time + margin, not later") {
    Sim sim;
    ModuleHarness h(module_path("asterisk"));
    REQUIRE(h.create(config(sim.port(), R"({"channel_tech": "Local", "ping_interval": "30s"})")).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 5s));
    sim.command("withhold on"); // Local/300 rings, and its OriginateResponse never comes
    auto started = std::chrono::steady_clock::now();
    auto r = h.invoke("originate", R"({"from": "300", "to": "700", "timeout": "1s"})", std::nullopt, 15s);
    auto took = std::chrono::steady_clock::now() - started;
    CHECK(r.status == PL_ERR_PERMANENT);
    CHECK(r.result.find("outcome unknown: no OriginateResponse") != std::string::npos);
    CHECK(took >= 3500ms);         // ring time 1 s + margin 3 s
    CHECK(took < 1s + 3s + 1500ms); // not the API's 30 s
}

TEST_CASE("play: a message extension (capture 19) and a sound file through Playback") {
    Sim sim;
    ModuleHarness h(module_path("asterisk"));
    REQUIRE(h.create(config(sim.port())).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 5s));

    auto r = h.invoke("play", R"({"to": "100", "extension": "700"})", std::nullopt, 10s);
    REQUIRE(r.ok());
    CHECK(json::parse(r.result)["outcome"] == "answered");
    auto sent = sim.actions("Originate");
    REQUIRE(sent.size() == 1);
    // As capture 19's client.txt: SIP/100 into test,700,1.
    CHECK(value(sent[0], "Channel") == "SIP/100");
    CHECK(value(sent[0], "Context") == "test");
    CHECK(value(sent[0], "Exten") == "700");
    CHECK(value(sent[0], "Async") == "true");

    r = h.invoke("play", R"({"to": "100", "sound": "custom/alarm"})", std::nullopt, 10s);
    REQUIRE(r.ok());
    CHECK(json::parse(r.result)["outcome"] == "answered");
    CHECK(json::parse(r.result)["reason"] == "4");
    sent = sim.actions("Originate");
    REQUIRE(sent.size() == 2);
    CHECK(value(sent[1], "Channel") == "SIP/100");
    CHECK(value(sent[1], "Application") == "Playback");
    CHECK(value(sent[1], "Data") == "custom/alarm");
    CHECK(value(sent[1], "Exten").empty());
    // Both calls end as call events (Hangup Cause 16 after the message).
    REQUIRE(wait_until([&] {
        int stops = 0;
        for (auto& e : of(h.events(), "call")) stops += e.state == State::stop && e.attr("cause") == "16";
        return stops == 2;
    }, 5s));
}

TEST_CASE("hangup by channel and by linkedid of a call in progress") {
    Sim sim;
    ModuleHarness h(module_path("asterisk"));
    REQUIRE(h.create(config(sim.port(), R"({"channel_tech": "Local"})")).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 5s));
    // Local/300 rings for 4 s (capture 11's no-answer): a call in progress meanwhile.
    passerelle::testing::InvokeResult ringing;
    std::thread caller([&] { ringing = h.invoke("originate", R"({"from": "300", "to": "700", "timeout": "4s"})", std::nullopt, 10s); });
    REQUIRE(wait_until([&] { return !of(h.events(), "call").empty(); }, 3s));
    Event start = of(h.events(), "call").front();
    REQUIRE(start.state == State::start);
    std::string linkedid(start.attr("linkedid")), channel(start.attr("channel"));
    REQUIRE(!linkedid.empty());

    auto r = h.invoke("hangup", json({{"linkedid", linkedid}}).dump());
    CHECK(r.ok());
    REQUIRE(sim.actions("Hangup").size() == 1);
    CHECK(value(sim.actions("Hangup")[0], "Channel") == channel);
    CHECK(channel.rfind("Local/300@test-", 0) == 0);

    r = h.invoke("hangup", R"({"channel": "SIP/100-0000002a", "cause": "16"})");
    CHECK(r.ok());
    REQUIRE(sim.actions("Hangup").size() == 2);
    CHECK(value(sim.actions("Hangup")[1], "Channel") == "SIP/100-0000002a");
    CHECK(value(sim.actions("Hangup")[1], "Cause") == "16");

    CHECK(h.invoke("hangup", R"({"linkedid": "1700000000.999"})").status == PL_ERR_INVALID);
    CHECK(h.invoke("hangup", "{}").status == PL_ERR_INVALID);
    CHECK(sim.actions("Hangup").size() == 2);
    caller.join();
    CHECK(ringing.status == PL_ERR_PERMANENT); // the sim goes on to Reason 3
}

TEST_CASE("a raw action listed in allow_raw is sent, its EventList comes back") {
    Sim sim;
    ModuleHarness h(module_path("asterisk"));
    REQUIRE(h.create(config(sim.port(), R"({"allow_raw": ["CoreShowChannels"]})")).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 5s));
    auto r = h.invoke("action", R"({"name": "CoreShowChannels"})");
    REQUIRE(r.ok());
    auto j = json::parse(r.result);
    // Capture 13: two CoreShowChannel items, then CoreShowChannelsComplete ListItems 2.
    REQUIRE(j["events"].size() == 3);
    CHECK(j["events"][0]["Event"] == "CoreShowChannel");
    CHECK(j["events"][2]["Event"] == "CoreShowChannelsComplete");
    CHECK(j["events"][2]["ListItems"] == "2");
    CHECK(j["response"]["EventList"] == "start");
    REQUIRE(sim.actions("CoreShowChannels").size() == 1);
    CHECK(h.invoke("action", R"({"name": "Command", "command": "core stop now"})").status == PL_ERR_INVALID);
    CHECK(sim.actions("Command").empty());
}


TEST_CASE("an AMI user without write = originate: Permission denied comes back as such") {
    Sim sim("20.20.1", "--write message");
    ModuleHarness h(module_path("asterisk"));
    REQUIRE(h.create(config(sim.port())).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 5s));
    auto r = h.invoke("originate", R"({"from": "100", "to": "101"})", std::nullopt, 5s);
    CHECK(r.status == PL_ERR_AUTH);
    CHECK(r.result.find("refused by Asterisk: Permission denied") != std::string::npos);
    CHECK(h.invoke("message", R"({"to": "100", "text": "x"})").ok()); // message is allowed
}
