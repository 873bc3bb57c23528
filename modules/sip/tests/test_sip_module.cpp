// The sip module's config as the daemon hands it over (module harness): who may
// send requests must be said explicitly, never an implicit accept-all.
#include "module_harness.hpp"

#include <catch2/catch.hpp>

using passerelle::testing::ModuleHarness;
using passerelle::testing::module_path;

TEST_CASE("without registrar, allowed_hosts is required (no silent accept-all)") {
    ModuleHarness h(module_path("sip"));
    auto r = h.create(R"({"user": "9901", "listen": "127.0.0.1:5062"})");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error_key == "allowed_hosts");
    // The message says what to write: a host, or "*" on purpose.
    CHECK(r.error_message.find("required without registrar") != std::string::npos);
    CHECK(r.error_message.find("allowed_hosts = [\"*\"]") != std::string::npos);
}

TEST_CASE("allowed_hosts naming a host or \"*\", or a registrar, is a valid config") {
    for (const char* cfg : {R"({"user": "9901", "listen": "127.0.0.1:5062", "allowed_hosts": ["192.168.1.108"]})",
                            R"({"user": "9901", "listen": "127.0.0.1:5062", "allowed_hosts": ["*"]})",
                            R"({"user": "650", "listen": "127.0.0.1:5062", "registrar": "sip:127.0.0.1:5060"})"}) {
        ModuleHarness h(module_path("sip"));
        auto r = h.create(cfg);
        INFO(cfg << " -> " << r.error_key << ": " << r.error_message);
        CHECK(r.ok());
    }
}

TEST_CASE("allowed_hosts entries must be IP addresses") {
    ModuleHarness h(module_path("sip"));
    auto r = h.create(R"({"user": "9901", "listen": "127.0.0.1:5062", "allowed_hosts": ["doorbell.lan"]})");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error_key == "allowed_hosts");
}
