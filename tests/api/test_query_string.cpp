#include "api/query_string.hpp"
#include "api/url_mask.hpp"

#include <catch2/catch.hpp>

using namespace passerelle::kernel::api;
using passerelle::kernel::mask_token_in_target;

TEST_CASE("split_target separates path, query and fragment") {
    auto a = split_target("/a/b?x=1&y=2");
    CHECK(a.path == "/a/b");
    CHECK(a.query == "x=1&y=2");
    auto b = split_target("/only");
    CHECK(b.path == "/only");
    CHECK(b.query.empty());
    auto c = split_target("/p?q=1#frag");
    CHECK(c.query == "q=1");
    CHECK(split_target("/p?").query.empty());
}

TEST_CASE("percent_decode") {
    CHECK(percent_decode("a%20b", false) == "a b");
    CHECK(percent_decode("a+b", false) == "a+b");
    CHECK(percent_decode("a+b", true) == "a b");
    CHECK(percent_decode("%41%6a", false) == "Aj");
    CHECK(percent_decode("%2B", true) == "+"); // an encoded plus stays a plus
    SECTION("malformed escapes are kept literally") {
        CHECK(percent_decode("%", true) == "%");
        CHECK(percent_decode("%4", true) == "%4");
        CHECK(percent_decode("%zz", true) == "%zz");
        CHECK(percent_decode("100%", true) == "100%");
    }
    CHECK(percent_decode("%00x", false) == std::string("\0x", 2));
}

TEST_CASE("parse_query keeps order and repeats, skips empty pieces") {
    auto q = parse_query("a=1&&b=x+y&c&a=2&=v&d=");
    REQUIRE(q.size() == 6);
    CHECK(q[0] == std::pair<std::string, std::string>{"a", "1"});
    CHECK(q[1] == std::pair<std::string, std::string>{"b", "x y"});
    CHECK(q[2] == std::pair<std::string, std::string>{"c", ""});
    CHECK(q[3] == std::pair<std::string, std::string>{"a", "2"});
    CHECK(q[4] == std::pair<std::string, std::string>{"", "v"});
    CHECK(q[5] == std::pair<std::string, std::string>{"d", ""});
    CHECK(query_value(q, "a") == "1");
    CHECK(!query_value(q, "zz"));
    CHECK(parse_query("").empty());
    CHECK(parse_query("&&&").empty());
    CHECK(parse_query("k=a=b").at(0).second == "a=b");
}

TEST_CASE("parse_query survives a huge hostile query") {
    std::string q;
    for (int i = 0; i < 20000; ++i) q += "%zz&=&";
    auto params = parse_query(q);
    CHECK(params.size() == 40000);
}

TEST_CASE("mask_token_in_target hides the token and nothing else") {
    CHECK(mask_token_in_target("/api/v1/x?token=s3cret") == "/api/v1/x?token=***");
    CHECK(mask_token_in_target("/api/v1/x?a=1&token=s3cret&b=2") == "/api/v1/x?a=1&token=***&b=2");
    CHECK(mask_token_in_target("/x?token=a&token=b") == "/x?token=***&token=***");
    CHECK(mask_token_in_target("/x?%74oken=s3cret") == "/x?%74oken=***"); // the server decodes names too
    CHECK(mask_token_in_target("/x?token") == "/x?token=***");
    CHECK(mask_token_in_target("/x?mytoken=v&token_id=w") == "/x?mytoken=v&token_id=w");
    CHECK(mask_token_in_target("/x?a=token=v") == "/x?a=token=v");
    CHECK(mask_token_in_target("/healthz") == "/healthz");
    CHECK(mask_token_in_target("/x?") == "/x?");
    CHECK(mask_token_in_target("/x?a=1&&token=z&") == "/x?a=1&&token=***&");
    std::string masked = mask_token_in_target("/api/v1/instances/cam/actions/call?number=1&token=abcdef0123456789");
    CHECK(masked.find("abcdef0123456789") == std::string::npos);
}
