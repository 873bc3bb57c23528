#include "api/responses.hpp"

#include <passerelle/abi.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace passerelle::kernel::api;
using nlohmann::json;

TEST_CASE("action_response on success") {
    auto r = action_response(PL_OK, R"({"x":[1,2]})", false);
    CHECK(r.status == 200);
    CHECK(r.content_type == "application/json");
    CHECK(r.body == R"({"x":[1,2]})");
    CHECK(action_response(PL_OK, "", false).body == "{}");
    CHECK(action_response(PL_OK, " \n", false).body == "{}");
    auto x = action_response(PL_OK, R"({"x":[1,2]})", true);
    CHECK(x.content_type == "application/xml");
    CHECK(x.body == "<result><x>1</x><x>2</x></result>");
    CHECK(action_response(PL_OK, "", true).body == "<result></result>");
}

TEST_CASE("a module result that is not JSON is a 500") {
    for (const char* bad : {"{", "nope", "{\"a\":1} trailing"}) {
        INFO(bad);
        auto r = action_response(PL_OK, bad, false);
        CHECK(r.status == 500);
        CHECK(json::parse(r.body)["status"] == "internal");
    }
    CHECK(action_response(PL_OK, std::string(5000, '[') + std::string(5000, ']'), true).status == 500);
}

TEST_CASE("action_response on failure") {
    auto r = action_response(PL_ERR_RETRY, "device \"busy\"", false);
    CHECK(r.status == 503);
    CHECK(json::parse(r.body) == json{{"error", "device \"busy\""}, {"status", "retry"}});
    auto x = action_response(PL_ERR_PERMANENT, "no <way>", true);
    CHECK(x.status == 502);
    CHECK(x.body == "<result><error>no &lt;way&gt;</error><status>permanent</status></result>");
    auto bad_utf8 = action_response(PL_ERR_INTERNAL, "oops \xff", false);
    CHECK(bad_utf8.status == 500);
    CHECK(json::accept(bad_utf8.body));
}

TEST_CASE("error_response") {
    auto r = error_response(404, "no such endpoint: /x");
    CHECK(r.status == 404);
    CHECK(json::parse(r.body) == json{{"error", "no such endpoint: /x"}});
}

TEST_CASE("json_too_deep ignores brackets inside strings") {
    CHECK(!json_too_deep(R"({"a":"[[[[[[[[[["})", 3));
    CHECK(json_too_deep("[[[[", 3));
    CHECK(!json_too_deep("[[[]]]", 3));
    CHECK(!json_too_deep(R"(["\"[[[[[["])", 2));
}
