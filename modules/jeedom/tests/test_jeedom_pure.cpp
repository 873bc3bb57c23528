// The pure parts of the jeedom module: JSON-RPC bodies and replies, the plain
// API, auto mode names and its cache. (HTTP failures, URL encoding and secret
// masking are SDK helpers, tested in tests/sdk_helpers.)
#include "auto_mapping.hpp"
#include "auto_naming.hpp"
#include "jsonrpc.hpp"
#include "plain_api.hpp"
#include "verdict.hpp"

#include <delivery/retry_policy.hpp> // the kernel reads the pause hint with this

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace passerelle::jeedom;
using passerelle::Event;
using passerelle::State;

namespace {
// "ok", "retry", "pause", "give_up" or "stale".
std::string cls(const passerelle::jeedom::Verdict& v) { return to_string(v); }
} // namespace

TEST_CASE("JSON-RPC request carries method, id, params and the key") {
    auto body = nlohmann::json::parse(build_request(7, "cmd::event", {{"id", "12"}, {"value", 1}}, "k3y"));
    CHECK(body["jsonrpc"] == "2.0");
    CHECK(body["id"] == 7);
    CHECK(body["method"] == "cmd::event");
    CHECK(body["params"]["apikey"] == "k3y");
    CHECK(body["params"]["id"] == "12");
    CHECK_FALSE(body["params"].contains("plugin"));
    auto with_plugin = nlohmann::json::parse(build_request(1, "x", nullptr, "k", "virtual"));
    CHECK(with_plugin["params"]["plugin"] == "virtual");
    // Invalid UTF-8 in a value never throws: it is replaced.
    CHECK_NOTHROW(build_request(1, "message::add", {{"message", std::string("caf\xe9")}}, "k"));
}

TEST_CASE("JSON-RPC replies are classified by code, never by message") {
    auto ok = classify_reply(R"({"jsonrpc":"2.0","id":1,"result":"ok"})", "cmd::event");
    CHECK(cls(ok.verdict) == "ok");
    CHECK(ok.result == "ok");
    const std::string same_message = "Vous n'êtes pas autorisé à effectuer cette action";
    struct Case {
        std::string code;
        std::string expected;
    };
    for (const Case& c : {Case{"1", "pause"}, Case{"2", "pause"}, Case{"\"2\"", "pause"}, Case{"602", "stale"},
                          Case{"701", "stale"}, Case{"702", "stale"}, Case{"500", "give_up"},
                          Case{"-32000", "give_up"}, Case{"-32601", "give_up"}, Case{"3", "give_up"}}) {
        auto r = classify_reply(R"({"jsonrpc":"2.0","id":1,"error":{"code":)" + c.code + R"(,"message":")" +
                                    same_message + R"("}})",
                                "cmd::event");
        INFO(c.code);
        CHECK(cls(r.verdict) == c.expected);
        CHECK(r.verdict.message.find("cmd::event") != std::string::npos);
    }
    // A "not authorized" message with a stale code is still stale.
    auto stale = classify_reply(R"({"error":{"code":701,"message":"not authorized"}})", "cmd::event");
    CHECK(cls(stale.verdict) == "stale");
    CHECK(stale.verdict.kind == passerelle::http::Verdict::give_up); // what the outbox sees after one re-resolve
    CHECK(stale.verdict.code == 701);
    CHECK(cls(classify_reply(R"({"error":"Erreur"})", "m").verdict) == "give_up");
}

TEST_CASE("a body that is not JSON-RPC is retried") {
    for (std::string body : {std::string(""), std::string("<html>PHP Warning</html>"), std::string("[1,2]"),
                             std::string("{\"jsonrpc\":\"2.0\"}"), std::string("{\"result\":"),
                             std::string(1 << 20, '{'), std::string("\xff\xfe\x00garbage", 10)}) {
        auto r = classify_reply(body, "cmd::event");
        CHECK(cls(r.verdict) == "retry");
        CHECK(r.verdict.message.size() < 300);
    }
}

TEST_CASE("plain API targets and replies") {
    CHECK(plain_event_target("a b&c", false, "12", "1") == "/core/api/jeeApi.php?apikey=a%20b%26c&type=cmd&id=12&value=1");
    CHECK(plain_event_target("k", true, "12", "é") ==
          "/core/api/jeeApi.php?apikey=k&plugin=virtual&type=event&id=12&value=%C3%A9");
    CHECK(cls(classify_plain_reply("")) == "ok");
    CHECK(cls(classify_plain_reply("1")) == "ok");
    CHECK(cls(classify_plain_reply("Vous n'êtes pas autorisé à effectuer cette action")) == "pause");
    CHECK(cls(classify_plain_reply("You are not authorized to perform this action")) == "pause");
    CHECK(cls(classify_plain_reply("Aucune commande correspondant à l'ID : 99")) == "stale");
    CHECK(cls(classify_plain_reply(std::string(100000, 'x'))) == "ok");
}

TEST_CASE("auto mode names follow the Hikvision Event plugin") {
    Event e;
    e.type = "region_entrance";
    e.code = "regionEntrance";
    e.channel = 1;
    e.state = State::start;
    e.attrs["region"] = "1";
    e.attrs["target"] = "human";
    auto spec = alarm_command(e, NameBy::code);
    CHECK(spec.name == "Chan 1 regionEntrance Region 1 human");
    CHECK(spec.sub_type == "binary");
    CHECK(alarm_command(e, NameBy::type).name == "Chan 1 region_entrance Region 1 human");
    CHECK(alarm_command(e, NameBy::type).logical_id != spec.logical_id);
    Event bare;
    bare.type = "motion";
    bare.code = "VideoMotion";
    CHECK(alarm_command(bare, NameBy::code).name == "VideoMotion");
    bare.channel = 3;
    CHECK(alarm_command(bare, NameBy::code).name == "Chan 3 VideoMotion");
    // Same name parts, different fields: different logicalIds.
    Event a = bare, b = bare;
    a.attrs["region"] = "1";
    b.attrs["target"] = "1";
    CHECK(alarm_command(a, NameBy::code).logical_id != alarm_command(b, NameBy::code).logical_id);
    CHECK(alarm_value(State::start) == 1);
    CHECK(alarm_value(State::pulse) == 1);
    CHECK(alarm_value(State::stop) == 0);
    CHECK(equipment_logical_id("cam_garage") == "passerelle::cam_garage");
    CHECK(heartbeat_command().name == "Heartbeat");
    CHECK(last_alarm_command().name == "Last alarm");
}

TEST_CASE("names are cleaned and capped on a character boundary") {
    CHECK(sanitize_name("a#b\"c'd\x01") == "a b c d");
    const std::string long_name = std::string(126, 'x') + "é" + "tail";
    const std::string cut = sanitize_name(long_name);
    CHECK(cut.size() <= 127);
    CHECK(cut == std::string(126, 'x'));
    CHECK(sanitize_name("\xff\xfe") == "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_CASE("auto mapping survives a save/load and ignores foreign or broken files") {
    const auto dir = std::filesystem::temp_directory_path() / ("jeedom-map-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto file = dir / "map.json";
    {
        AutoMapping m(file, "http://jeedom");
        m.set_equipment("cam", 12);
        m.set_command("cam", "alarm:1:VideoMotion::", 40);
        m.set_commands_listed("cam");
        std::string err;
        REQUIRE(m.save(err));
    }
    AutoMapping again(file, "http://jeedom");
    again.load();
    CHECK(again.equipment("cam") == 12);
    CHECK(again.command("cam", "alarm:1:VideoMotion::") == 40);
    CHECK_FALSE(again.commands_listed("cam")); // a restart lists commands again before creating any
    again.forget("cam");
    CHECK_FALSE(again.equipment("cam"));
    AutoMapping other_box(file, "http://elsewhere");
    other_box.load();
    CHECK(other_box.size() == 0);
    std::ofstream(file) << "{\"url\":\"http://jeedom\",\"equipments\":{\"x\":{\"id\":\"bad\"},\"y\":7}}";
    AutoMapping broken(file, "http://jeedom");
    broken.load();
    CHECK(broken.size() == 0);
    std::ofstream(file) << "garbage";
    broken.load();
    CHECK(broken.size() == 0);
    std::filesystem::remove_all(dir);
}

TEST_CASE("a ban pause carries its minimum wait in the form the kernel reads") {
    const std::string text = "Jeedom answers HTTP 404: passerelle's IP is probably banned";
    const std::string m = pause_at_least_message(600'000, text);
    CHECK(passerelle::kernel::parse_retry_after_ms(m) == 600'000);
    CHECK(passerelle::kernel::parse_retry_after_ms(pause_at_least_message(3'600'000, text)) == 3'600'000);
    // The readable part follows the hint untouched: what the daemon logs and shows.
    CHECK(m.substr(m.size() - text.size()) == text);
    CHECK(passerelle::kernel::parse_retry_after_ms(text) == 0);
}
