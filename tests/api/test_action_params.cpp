#include "api/action_params.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace passerelle::kernel::api;
using nlohmann::json;

TEST_CASE("query params become strings, except token and format") {
    auto p = build_action_params(parse_query("a=1&b=x+y&token=t&format=xml&a=2"), "", "");
    REQUIRE(p.error_status == 0);
    CHECK(json::parse(p.json) == json{{"a", "2"}, {"b", "x y"}});
    CHECK(json::parse(build_action_params({}, "", "").json) == json::object());
}

TEST_CASE("a JSON object body keeps its types, the query wins on conflicts") {
    auto p = build_action_params(parse_query("b=q"), "application/json; charset=utf-8", R"({"a":1,"b":"body","c":[true]})");
    REQUIRE(p.error_status == 0);
    CHECK(json::parse(p.json) == json{{"a", 1}, {"b", "q"}, {"c", {true}}});
    CHECK(build_action_params({}, "application/vnd.x+json", R"({"z":0})").error_status == 0);
    CHECK(build_action_params({}, "", R"({"z":0})").error_status == 0); // no type: JSON assumed
    CHECK(build_action_params({}, "", "  ").error_status == 0);          // blank without type: no params
}

TEST_CASE("a form body is accepted") {
    auto p = build_action_params({}, "application/x-www-form-urlencoded", "x=1&y=%C3%A9");
    REQUIRE(p.error_status == 0);
    CHECK(json::parse(p.json) == json{{"x", "1"}, {"y", "é"}});
}

TEST_CASE("bad bodies are refused with 400 or 415") {
    for (const char* bad : {"[1]", "1", "null", "\"s\"", "{", "{\"a\":}", "{} x", " "}) {
        INFO(bad);
        auto p = build_action_params({}, "application/json", bad);
        CHECK(p.error_status == 400);
        CHECK(!p.error.empty());
    }
    CHECK(build_action_params({}, "text/plain", "hello").error_status == 415);
    CHECK(build_action_params({}, "application/json", std::string(100000, '[')).error_status == 400);
    CHECK(build_action_params({}, "application/json", std::string(100000, '{')).error_status == 400);
}

TEST_CASE("invalid UTF-8 in query params does not throw") {
    auto p = build_action_params(parse_query("x=%FF%FE&y=%00"), "", "");
    REQUIRE(p.error_status == 0);
    auto j = json::parse(p.json);
    CHECK(j["y"] == std::string("\0", 1));
    CHECK(j["x"].get<std::string>().find("\xEF\xBF\xBD") != std::string::npos);
}
