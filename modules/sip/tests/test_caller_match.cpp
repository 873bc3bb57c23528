#include "caller_match.hpp"

#include <catch2/catch.hpp>

using namespace sip;

TEST_CASE("caller number from P-Asserted-Identity, else From") {
    CHECK(caller_number("\"x\" <sip:0612345678@h>;tag=1", "") == "0612345678");
    CHECK(caller_number("<sip:anonymous@h>;tag=1", "<sip:+33612345678@h>") == "+33612345678");
    CHECK(caller_number("garbage", "") == "");
}

TEST_CASE("exact, then +33 <-> 0 normalization, then *") {
    std::map<std::string, std::string> t{{"0612345678", "a"}, {"+33700000000", "b"}, {"*", "c"}, {"100", "d"}};
    CHECK(match_caller(t, "0612345678") == std::optional<std::string>("0612345678"));
    CHECK(match_caller(t, "+33612345678") == std::optional<std::string>("0612345678"));
    CHECK(match_caller(t, "0033612345678") == std::optional<std::string>("0612345678"));
    CHECK(match_caller(t, "0700000000") == std::optional<std::string>("+33700000000"));
    CHECK(match_caller(t, "100") == std::optional<std::string>("100"));
    CHECK(match_caller(t, "999") == std::optional<std::string>("*"));
    CHECK(match_caller(t, "") == std::optional<std::string>("*"));
    CHECK_FALSE(match_caller({{"1", "x"}}, "2"));
}
