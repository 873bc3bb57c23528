#include "api/listen_address.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

using namespace passerelle::kernel::api;

TEST_CASE("parse_listen_address") {
    auto a = parse_listen_address("127.0.0.1:8640");
    CHECK(a.host == "127.0.0.1");
    CHECK(a.port == 8640);
    auto b = parse_listen_address("[::1]:0");
    CHECK(b.host == "::1");
    CHECK(b.port == 0);
    CHECK(parse_listen_address("localhost:65535").port == 65535);
    for (const char* bad : {"", "8640", "127.0.0.1", "127.0.0.1:", ":8640", "127.0.0.1:65536", "127.0.0.1:-1",
                            "127.0.0.1:80x", "[::1]8640", "[::1", "::1:8640", "[]:80"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_listen_address(bad), std::runtime_error);
    }
}

TEST_CASE("format_endpoint brackets IPv6") {
    CHECK(format_endpoint("127.0.0.1", 8640) == "127.0.0.1:8640");
    CHECK(format_endpoint("::1", 80) == "[::1]:80");
    auto back = parse_listen_address(format_endpoint("::1", 80));
    CHECK(back.host == "::1");
}
