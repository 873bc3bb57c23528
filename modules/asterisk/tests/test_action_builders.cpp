// The AMI packets the actions send, built from params without a socket, and
// the OriginateResponse Reason mapping (capture 11: 4 answered, 5 busy,
// 3 no answer, 0 failed; 8 congestion from Asterisk's source).
#include "action_builders.hpp"

#include <catch2/catch.hpp>

using namespace passerelle::asterisk;
using nlohmann::json;

namespace {

passerelle::Fields params(const char* j) { return passerelle::Fields(json::parse(j)); }

std::string value(const Fields& f, const std::string& key) {
    for (const auto& [k, v] : f)
        if (k == key) return v;
    return "<absent>";
}

std::vector<std::string> values(const Fields& f, const std::string& key) {
    std::vector<std::string> out;
    for (const auto& [k, v] : f)
        if (k == key) out.push_back(v);
    return out;
}

} // namespace

TEST_CASE("originate_outcome maps every OriginateResponse Reason") {
    CHECK(originate_outcome("4") == "answered");
    CHECK(originate_outcome("5") == "busy");
    CHECK(originate_outcome("3") == "no_answer");
    CHECK(originate_outcome("8") == "congestion");
    CHECK(originate_outcome("0") == "failed");
    CHECK(originate_outcome("1") == "failed");
    CHECK(originate_outcome("") == "failed");
    CHECK(originate_outcome("<unknown>") == "failed");
}

TEST_CASE("dial_channel: channel_tech SIP, PJSIP, Local, and a full channel kept") {
    CHECK(dial_channel("100", "SIP", "test") == "SIP/100");
    CHECK(dial_channel("100", "PJSIP", "from-internal") == "PJSIP/100");
    CHECK(dial_channel("100", "Local", "from-internal") == "Local/100@from-internal");
    CHECK(dial_channel("100", "local", "test") == "Local/100@test");
    CHECK(dial_channel("PJSIP/0612345678@trunk", "Local", "test") == "PJSIP/0612345678@trunk");
}

TEST_CASE("build_originate: defaults, Local and PJSIP, variables, Async, Timeout in ms") {
    ActionDefaults d;
    d.context = "from-internal";
    d.channel_tech = "PJSIP";
    d.caller_id = "\"eedomus\" <100>";
    Fields f = build_originate(params(R"({"from": "100", "to": "291"})"), d);
    CHECK(f.front() == std::pair<std::string, std::string>{"Action", "Originate"});
    CHECK(value(f, "Channel") == "PJSIP/100");
    CHECK(value(f, "Context") == "from-internal");
    CHECK(value(f, "Exten") == "291");
    CHECK(value(f, "Priority") == "1");
    CHECK(value(f, "CallerID") == "\"eedomus\" <100>");
    CHECK(value(f, "Timeout") == std::to_string(d.timeout.count()));
    CHECK(value(f, "Async") == "true");
    CHECK(values(f, "Variable").empty());

    d.channel_tech = "Local";
    f = build_originate(params(R"({"from": "100", "to": "0612345678", "context": "test", "timeout": "12s",
                                   "caller_id": "Alarme <555>", "variables": ["ALARM=1", "ZONE=garage=nord"]})"), d);
    CHECK(value(f, "Channel") == "Local/100@test");
    CHECK(value(f, "Context") == "test");
    CHECK(value(f, "Timeout") == "12000");
    CHECK(value(f, "CallerID") == "Alarme <555>");
    CHECK(values(f, "Variable") == std::vector<std::string>{"ALARM=1", "ZONE=garage=nord"});
    CHECK(f.back().first == "Async"); // after the variables

    d.caller_id.clear();
    CHECK(value(build_originate(params(R"({"from": "100", "to": "291"})"), d), "CallerID") == "<absent>");
}

TEST_CASE("build_originate refuses bad params by name") {
    ActionDefaults d;
    auto key_of = [&](const char* j) {
        try {
            build_originate(params(j), d);
        } catch (const passerelle::ConfigError& e) {
            return e.key;
        }
        return std::string("<accepted>");
    };
    CHECK(key_of(R"({"to": "291"})") == "from");
    CHECK(key_of(R"({"from": "100"})") == "to");
    CHECK(key_of(R"({"from": "100\r\nAction: Command", "to": "291"})") == "from");
    CHECK(key_of(R"({"from": "100", "to": "291", "variables": ["NOEQUALS"]})") == "variables");
    CHECK(key_of(R"({"from": "100", "to": "291", "variables": ["A=1\r\nAction: Command"]})") == "variables");
    CHECK(key_of(R"({"from": "100", "to": "291", "timeout": "500ms"})") == "timeout");
    CHECK(key_of(R"({"from": "100", "to": "291", "timeout": "11m"})") == "timeout");
}

TEST_CASE("the default ring time plus the margin stays under the API's default action_timeout") {
    ActionDefaults d;
    CHECK(d.timeout + kOriginateMargin < std::chrono::seconds(30));
}

TEST_CASE("build_play: a sound file (Application Playback) or a message extension") {
    ActionDefaults d;
    d.context = "test";
    d.channel_tech = "SIP";
    Fields f = build_play(params(R"({"to": "100", "sound": "custom/alarm"})"), d);
    CHECK(value(f, "Channel") == "SIP/100");
    CHECK(value(f, "Application") == "Playback");
    CHECK(value(f, "Data") == "custom/alarm");
    CHECK(value(f, "Exten") == "<absent>");
    CHECK(value(f, "Async") == "true");
    f = build_play(params(R"({"to": "100", "extension": "700"})"), d);
    CHECK(value(f, "Context") == "test");
    CHECK(value(f, "Exten") == "700");
    CHECK(value(f, "Priority") == "1");
    CHECK(value(f, "Application") == "<absent>");
    CHECK_THROWS_AS(build_play(params(R"({"to": "100"})"), d), passerelle::ConfigError);
    CHECK_THROWS_AS(build_play(params(R"({"to": "100", "sound": "a", "extension": "700"})"), d), passerelle::ConfigError);
    CHECK_THROWS_AS(build_play(params(R"({"to": "100", "sound": "a,b"})"), d), passerelle::ConfigError); // no Playback options
}

TEST_CASE("build_raw only sends names listed in allow_raw, and never a caller's ActionID") {
    ActionDefaults d;
    d.allow_raw = {"CoreShowChannels"};
    Fields f = build_raw(params(R"({"name": "coreshowchannels", "ActionID": "mine", "token": "t"})"), d);
    CHECK(f == Fields{{"Action", "coreshowchannels"}});
    CHECK_THROWS_AS(build_raw(params(R"({"name": "Command", "command": "core stop now"})"), d), passerelle::ConfigError);
    CHECK_THROWS_AS(build_raw(params(R"({"name": "CoreShowChannels", "Bad Key": "x"})"), d), passerelle::ConfigError);
}
