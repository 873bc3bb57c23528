// Loads the out-of-tree example module built by sdk_out_of_tree.sh (path in
// PASSERELLE_HELLO_SO) and drives it like the daemon would.
#include "module_harness.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <string>

using passerelle::testing::ModuleHarness;
using namespace std::chrono_literals;

TEST_CASE("the out-of-tree hello module loads, declares itself and says hello", "[sdk]") {
    const char* so = std::getenv("PASSERELLE_HELLO_SO");
    INFO("run through tests/sdk/sdk_out_of_tree.sh, which sets PASSERELLE_HELLO_SO");
    REQUIRE(so != nullptr);

    ModuleHarness h(so);
    CHECK(std::string(h.descriptor().name) == "hello");
    CHECK(h.descriptor().abi_major == PL_ABI_MAJOR);
    REQUIRE(h.find_key("greeting"));
    CHECK(std::string(h.find_key("greeting")->default_value) == "hello");
    CHECK(h.find_action("say"));

    REQUIRE(h.create(R"({"greeting": "bonjour"})", {.instance_name = "hi"}).ok());
    REQUIRE(h.start() == PL_OK);

    auto r = h.invoke("say", R"({"to": "Jeedom"})");
    INFO(r.result);
    REQUIRE(r.status == PL_OK);
    CHECK(nlohmann::json::parse(r.result)["said"] == "bonjour, Jeedom");
    REQUIRE(h.wait_for_events(1, 2s));
    const auto e = h.events().at(0);
    CHECK(e.source == "hi");
    CHECK(e.module == "hello");
    CHECK(e.type == "message");
    CHECK(e.attr("text") == "bonjour, Jeedom");

    CHECK(h.invoke("shout").status == PL_ERR_UNKNOWN_ACTION);
}

TEST_CASE("the declared default reaches the out-of-tree module", "[sdk]") {
    const char* so = std::getenv("PASSERELLE_HELLO_SO");
    REQUIRE(so != nullptr);
    ModuleHarness h(so);
    REQUIRE(h.create("{}").ok());
    REQUIRE(h.start() == PL_OK);
    auto r = h.invoke("say");
    REQUIRE(r.status == PL_OK);
    CHECK(nlohmann::json::parse(r.result)["said"] == "hello, world");
}
