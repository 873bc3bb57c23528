#include "api/token_auth.hpp"

#include <catch2/catch.hpp>

using namespace passerelle::kernel::api;

TEST_CASE("bearer_token reads the Authorization header") {
    CHECK(bearer_token("Bearer abc") == "abc");
    CHECK(bearer_token("bearer abc") == "abc");
    CHECK(bearer_token("BEARER   abc  ") == "abc");
    CHECK(!bearer_token("Basic abc"));
    CHECK(!bearer_token("Bearer"));
    CHECK(!bearer_token("Bearer   "));
    CHECK(!bearer_token("Bearerabc"));
    CHECK(!bearer_token(""));
}

TEST_CASE("token_matches compares whole tokens") {
    CHECK(token_matches("s3cret", "s3cret"));
    CHECK(!token_matches("s3cret", "s3cre"));
    CHECK(!token_matches("s3cret", "s3cret "));
    CHECK(!token_matches("s3cret", ""));
    CHECK(!token_matches("s3cret", "S3cret"));
    CHECK(token_matches(std::string("a\0b", 3), std::string("a\0b", 3)));
    CHECK(!token_matches(std::string("a\0b", 3), "a"));
}

TEST_CASE("is_authorized accepts the header or the query") {
    QueryParams none;
    QueryParams good{{"token", "t0k"}};
    QueryParams bad{{"token", "nope"}};
    CHECK(is_authorized("", "", none)); // auth disabled
    CHECK(!is_authorized("t0k", "", none));
    CHECK(is_authorized("t0k", "Bearer t0k", none));
    CHECK(is_authorized("t0k", "", good));
    CHECK(!is_authorized("t0k", "", bad));
    CHECK(!is_authorized("t0k", "Bearer nope", bad));
    CHECK(is_authorized("t0k", "Bearer nope", good));
    CHECK(is_authorized("t0k", "Bearer t0k", bad));
    CHECK(!is_authorized("t0k", "t0k", none)); // the header needs its scheme
}
