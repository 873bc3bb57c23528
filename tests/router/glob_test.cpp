#include "router/glob.hpp"
#include "router/router.hpp"

#include <catch2/catch.hpp>

#include <string>

using passerelle::kernel::validate_glob;
using passerelle::kernel::routing::Glob;

namespace {
Glob compiled(std::string_view pattern) {
    Glob g;
    std::string error;
    INFO("pattern: " << pattern);
    REQUIRE(Glob::compile(pattern, g, error));
    CHECK(error.empty());
    return g;
}
} // namespace

TEST_CASE("glob matrix: pattern x text -> match") {
    struct Row {
        const char* pattern;
        const char* text;
        bool match;
    };
    const Row rows[] = {
        // literals
        {"cam_garage", "cam_garage", true},
        {"cam_garage", "cam_garag", false},
        {"cam_garage", "cam_garage2", false},
        {"", "", true},
        {"", "x", false},
        // star
        {"*", "", true},
        {"*", "anything at all", true},
        {"**", "abc", true},
        {"cam_*", "cam_garage", true},
        {"cam_*", "cam_", true},
        {"cam_*", "cam", false},
        {"cam_*", "xcam_garage", false},
        {"*_garage", "cam_garage", true},
        {"*_garage", "cam_garage_2", false},
        {"*gar*", "cam_garage", true},
        {"*gar*", "cam_porch", false},
        {"a*b*c", "abc", true},
        {"a*b*c", "aXXbYYc", true},
        {"a*b*c", "aXXbYY", false},
        {"a*b*c", "acb", false},
        {"a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
        {"*a*", "bbb", false},
        // question mark
        {"?", "a", true},
        {"?", "", false},
        {"?", "ab", false},
        {"cam_?", "cam_1", true},
        {"cam_?", "cam_12", false},
        {"??*", "a", false},
        {"??*", "ab", true},
        {"*?", "", false},
        // classes
        {"cam_[0-9]", "cam_7", true},
        {"cam_[0-9]", "cam_x", false},
        {"[abc]x", "bx", true},
        {"[abc]x", "dx", false},
        {"[!abc]x", "dx", true},
        {"[!abc]x", "ax", false},
        {"[^abc]x", "dx", true},
        {"[a-cx-z]", "y", true},
        {"[a-cx-z]", "m", false},
        {"[]]", "]", true},
        {"[]a]", "a", true},
        {"[!]]", "]", false},
        {"[!]]", "x", true},
        {"[a-]", "-", true},
        {"[a-]", "a", true},
        {"[\\]]", "]", true},
        {"[\\-a]", "-", true},
        {"[0-9][0-9]", "42", true},
        {"[0-9][0-9]", "4x", false},
        {"*[0-9]", "cam12", true},
        {"*[0-9]", "cam", false},
        // escapes
        {"a\\*b", "a*b", true},
        {"a\\*b", "aXb", false},
        {"\\*", "*", true},
        {"\\*", "x", false},
        {"\\?", "?", true},
        {"\\?", "x", false},
        {"\\[x]", "[x]", true},
        {"a\\\\b", "a\\b", true},
        {"\\*x*", "*xyz", true},
        {"\\*x*", "axyz", false},
        {"*\\*", "ab*", true},
        {"*\\*", "ab", false},
        // case-sensitive, byte-wise
        {"Motion", "motion", false},
        {"caf?", "caf\xc3", true},
    };
    for (const auto& r : rows) {
        INFO("pattern '" << r.pattern << "' text '" << r.text << "'");
        CHECK(compiled(r.pattern).matches(r.text) == r.match);
    }
}

TEST_CASE("glob shapes use the fast paths") {
    CHECK(compiled("*").shape() == Glob::Shape::any);
    CHECK(compiled("***").shape() == Glob::Shape::any);
    CHECK(compiled("motion").shape() == Glob::Shape::exact);
    CHECK(compiled("cam_*").shape() == Glob::Shape::prefix);
    CHECK(compiled("*_garage").shape() == Glob::Shape::suffix);
    CHECK(compiled("*gar*").shape() == Glob::Shape::infix);
    CHECK(compiled("a\\*").shape() == Glob::Shape::exact);
    CHECK(compiled("cam_?").shape() == Glob::Shape::general);
    CHECK(compiled("[ab]*").shape() == Glob::Shape::general);
}

TEST_CASE("malformed globs are rejected with a message") {
    const char* bad[] = {"cam_[0-9", "[", "[!", "[]", "abc\\", "[a-\\", "[z-a]", "x[abc\\]"};
    for (const char* p : bad) {
        INFO("pattern: " << p);
        std::string error;
        CHECK_FALSE(validate_glob(p, error));
        CHECK_FALSE(error.empty());
        CHECK(error.find("offset") != std::string::npos);
    }
    std::string error;
    CHECK(validate_glob("cam_[0-9]*", error));
    CHECK(validate_glob("", error));
}

TEST_CASE("hostile glob inputs stay bounded") {
    // Many stars over a long non-matching text: linear backtracking, no blow-up.
    std::string pattern;
    for (int i = 0; i < 200; ++i) pattern += "*a";
    pattern += "b";
    std::string text(20000, 'a');
    CHECK_FALSE(compiled(pattern).matches(text));
    CHECK(compiled(pattern).matches(text + "b"));
    // Binary bytes, NULs.
    std::string nul("a\0b", 3);
    CHECK(compiled("a?b").matches(nul));
    std::string error;
    CHECK(validate_glob(std::string(100000, '['), error) == false);
}
