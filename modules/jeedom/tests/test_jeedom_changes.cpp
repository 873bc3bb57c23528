// Listen mode, pure part: event::changes replies (faithful, partial, hostile)
// turned into command changes and events.
#include "changes.hpp"
#include "jsonrpc.hpp"

#include <passerelle/utf8.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace passerelle::jeedom;
using nlohmann::json;

namespace {
const ListenFilter all = ListenFilter::from({"*"});

json update(double t, const std::string& id, json value) {
    return json{{"datetime", t}, {"name", "cmd::update"},
                {"option", {{"cmd_id", id}, {"value", value}, {"display_value", value}, {"unit", ""},
                            {"valueDate", "2026-11-23 17:00:00"}, {"collectDate", "2026-11-23 17:00:00"}}}};
}
} // namespace

TEST_CASE("a faithful reply: cmd::update entries of the chosen commands, oldest first") {
    json result{{"datetime", 1763917200.5},
                {"result",
                 {update(1763917200.1, "12", "1"),
                  json{{"datetime", 1763917200.2}, {"name", "eqLogic::update"}, {"option", {{"eqLogic_id", "3"}}}},
                  update(1763917200.3, "13", 21.5),
                  json{{"datetime", 1763917200.4}, {"name", "scenario::update"},
                       {"option", {{"scenario_id", "5"}, {"state", "in progress"}}}},
                  update(1763917200.45, "99", "0")}}};
    auto b = parse_changes(result, 1763917200.0, ListenFilter::from({"12", "13"}));
    REQUIRE(b.valid);
    CHECK(b.cursor == 1763917200.5);
    REQUIRE(b.changes.size() == 2);
    CHECK(b.changes[0].cmd_id == "12");
    CHECK(b.changes[0].value == "1");
    CHECK(b.changes[1].cmd_id == "13");
    CHECK(b.changes[1].value == "21.5"); // a number, written back as Jeedom would show it
    CHECK(b.skipped == 3);                // eqLogic, scenario, and command 99 (not chosen)
    CHECK(b.malformed == 0);

    auto e = change_to_event(b.changes[0], "jeedom", 42);
    CHECK(e.source == "jeedom");
    CHECK(e.module == "jeedom");
    CHECK(e.type == "command");
    CHECK(e.code == "cmd::update");
    CHECK(e.state == passerelle::State::pulse);
    CHECK(e.attr("cmd_id") == "12");
    CHECK(e.attr("value") == "1");
    CHECK(e.attr("value_date") == "2026-11-23 17:00:00");
    CHECK(e.attrs.count("display_value") == 0); // same as value
    CHECK(e.time_ns == 1763917200100000000LL);   // Jeedom's own time of the change
}

TEST_CASE("ids and datetimes as strings or numbers (Jeedom versions differ)") {
    json result{{"datetime", "1763917200.9"},
                {"result",
                 {json{{"datetime", "1763917200.8"}, {"name", "cmd::update"},
                       {"option", {{"cmd_id", 12}, {"value", true}, {"display_value", "Oui"}}}}}}};
    auto b = parse_changes(result, 1763917200.0, ListenFilter::from({"12"}));
    REQUIRE(b.valid);
    CHECK(b.cursor == Approx(1763917200.9));
    REQUIRE(b.changes.size() == 1);
    CHECK(b.changes[0].cmd_id == "12");
    CHECK(b.changes[0].value == "1");
    auto e = change_to_event(b.changes[0], "j", 7);
    CHECK(e.attr("display_value") == "Oui");
}

TEST_CASE("what the cursor already covers is never published twice") {
    json result{{"datetime", 1763917300.0},
                {"result", {update(1763917200.0, "12", "1"), update(1763917250.0, "12", "0")}}};
    auto b = parse_changes(result, 1763917200.0, all);
    REQUIRE(b.valid);
    REQUIRE(b.changes.size() == 1);
    CHECK(b.changes[0].value == "0");
    CHECK(b.skipped == 1);
}

TEST_CASE("an entry without a usable datetime is kept and gets the receive time") {
    json entry = update(0, "12", "1");
    entry.erase("datetime");
    json result{{"datetime", 1763917300.0}, {"result", {entry}}};
    auto b = parse_changes(result, 1763917200.0, all);
    REQUIRE(b.changes.size() == 1);
    CHECK(change_to_event(b.changes[0], "j", 123).time_ns == 123);
}

TEST_CASE("a datetime too far in the future for nanoseconds gets the receive time (fuzz_jeedom_replies)") {
    for (double when : {13872296100100000.0, 1e300, 9.3e9}) {
        INFO(when);
        json result{{"datetime", 1763917300.0}, {"result", {update(when, "12", "1")}}};
        auto b = parse_changes(result, 1763917200.0, all);
        REQUIRE(b.changes.size() == 1);
        CHECK(change_to_event(b.changes[0], "j", 123).time_ns == 123);
    }
    json ok{{"datetime", 1763917300.0}, {"result", {update(1763917250.5, "12", "1")}}};
    auto b = parse_changes(ok, 1763917200.0, all);
    REQUIRE(b.changes.size() == 1);
    CHECK(change_to_event(b.changes[0], "j", 123).time_ns == 1763917250500000000);
}

TEST_CASE("an empty or null result list is a valid, empty batch") {
    for (json list : {json::array(), json(nullptr)}) {
        auto b = parse_changes(json{{"datetime", 1763917300.25}, {"result", list}}, 1763917200.0, all);
        CHECK(b.valid);
        CHECK(b.changes.empty());
        CHECK(b.cursor == 1763917300.25);
    }
}

TEST_CASE("hostile results are refused or skipped, never crash") {
    SECTION("not an object, no datetime, absurd datetime, no list") {
        for (const char* text :
             {"null", "[]", "\"ok\"", "42", R"({"result":[]})", R"({"datetime":"soon","result":[]})",
              R"({"datetime":-5,"result":[]})", R"({"datetime":1e300,"result":[]})", R"({"datetime":1763917300})",
              R"({"datetime":1763917300,"result":"none"})", R"({"datetime":1763917300,"result":{}})"}) {
            auto b = parse_changes(json::parse(text), 0, all);
            CHECK_FALSE(b.valid);
            CHECK_FALSE(b.error.empty());
            CHECK(b.changes.empty());
        }
    }
    SECTION("malformed entries are skipped and counted; the good ones stay") {
        json result = json::parse(R"({"datetime":1763917300,"result":[
            1, "x", null, [], {}, {"name":5}, {"name":"cmd::update"}, {"name":"cmd::update","option":"12"},
            {"name":"cmd::update","option":{}}, {"name":"cmd::update","option":{"cmd_id":""}},
            {"name":"cmd::update","option":{"cmd_id":"123456789012345678901234567890123"}},
            {"name":"cmd::update","datetime":"later","option":{"cmd_id":"7","value":{"deep":[1,2]}}}]})");
        auto b = parse_changes(result, 1763917200.0, all);
        REQUIRE(b.valid);
        REQUIRE(b.changes.size() == 1);
        CHECK(b.changes[0].cmd_id == "7");
        CHECK(b.changes[0].value == R"({"deep":[1,2]})");
        CHECK(b.malformed == 9);
        CHECK(b.skipped == 11); // the malformed ones and {"name":5}
    }
    SECTION("huge values are cut, invalid UTF-8 repaired") {
        json entry = update(1763917250.0, "12", std::string(100'000, 'A'));
        entry["option"]["display_value"] = std::string("caf\xe9", 4);
        auto b = parse_changes(json{{"datetime", 1763917300.0}, {"result", {entry}}}, 1763917200.0, all);
        REQUIRE(b.changes.size() == 1);
        CHECK(b.changes[0].value.size() == 1024);
        CHECK(passerelle::is_valid_utf8(b.changes[0].display_value));
    }
    SECTION("a flood is capped") {
        json list = json::array();
        for (int i = 0; i < 50; ++i) list.push_back(update(1763917201.0 + i, std::to_string(i + 1), "1"));
        auto b = parse_changes(json{{"datetime", 1763917300.0}, {"result", list}}, 1763917200.0, all, 20);
        CHECK(b.changes.size() == 20);
        CHECK(b.changes.front().cmd_id == "1"); // the oldest are kept: order matters
        CHECK(b.skipped == 30);
    }
}

TEST_CASE("the listen filter") {
    CHECK(ListenFilter::from({}).empty());
    CHECK(ListenFilter::from({""}).empty());
    auto f = ListenFilter::from({"12", "13"});
    CHECK(f.wants("12"));
    CHECK_FALSE(f.wants("1"));
    CHECK(ListenFilter::from({"*"}).wants("anything"));
}

TEST_CASE("event::changes request: datetime passed back exactly, longPolling in seconds, the key added") {
    const double cursor = 1763917200.123456;
    json body = json::parse(build_request(3, "event::changes", changes_params(cursor, 30), "k"));
    CHECK(body["method"] == "event::changes");
    CHECK(body["params"]["datetime"].get<double>() == cursor);
    CHECK(body["params"]["longPolling"] == 30);
    CHECK(body["params"]["apikey"] == "k");
    CHECK_FALSE(json::parse(build_request(4, "event::changes", changes_params(cursor, 0), "k"))["params"].contains(
        "longPolling"));
}
