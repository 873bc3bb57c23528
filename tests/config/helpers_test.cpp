// The pure helpers: suggestions, ${ENV} expansion, key values from text, issue format.
#include "config/config.hpp"
#include "config/key_values.hpp"
#include "config/secrets.hpp"
#include "config/suggest.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace passerelle::kernel;

TEST_CASE("edit distance and near-miss suggestions", "[config][suggest]") {
    CHECK(edit_distance("", "") == 0);
    CHECK(edit_distance("heartbeat", "heartbeet") == 1);
    CHECK(edit_distance("abc", "") == 3);
    CHECK(edit_distance("kitten", "sitting") == 3);
    const std::vector<std::string> keys{"url", "user", "password", "heartbeat"};
    CHECK(closest_match("pasword", keys) == "password");
    CHECK(closest_match("usr", keys) == "user"); // "url" is 2 edits away: too far for a short word
    CHECK(closest_match("abcf", {"abcd", "abce"}) == "abcd"); // a tie: the first wins
    CHECK(closest_match("warning", {"info", "warn"}) == "warn"); // a prefix counts as a near miss
    CHECK(closest_match("xyz", keys).empty());
    CHECK(closest_match("hartbet", keys) == "heartbeat");
    CHECK(closest_match("Password", keys) == "password");
    CHECK(did_you_mean("colour", keys).empty());
    CHECK(did_you_mean("passwrd", keys) == " (did you mean 'password'?)");
}

namespace {
EnvLookup fake_env(std::map<std::string, std::string> vars) {
    return [vars = std::move(vars)](const std::string& n) -> std::optional<std::string> {
        auto it = vars.find(n);
        if (it == vars.end()) return std::nullopt;
        return it->second;
    };
}
} // namespace

TEST_CASE("${ENV} expansion", "[config][secrets]") {
    auto env = fake_env({{"A", "alpha"}, {"B_2", "beta"}, {"EMPTY", ""}});
    std::string err;
    auto e = expand_env("x${A}y${B_2}z", env, err);
    REQUIRE(e);
    CHECK(e->text == "xalphaybetaz");
    CHECK(e->substituted);
    CHECK(e->pieces == std::vector<std::string>{"alpha", "beta"});

    e = expand_env("plain $ and $$ and $${A} and ${EMPTY}", env, err);
    REQUIRE(e);
    CHECK(e->text == "plain $ and $$ and ${A} and ");
    CHECK(e->pieces.empty());

    CHECK_FALSE(expand_env("${MISSING}", env, err));
    CHECK(err == "environment variable MISSING is not set");
    CHECK_FALSE(expand_env("abc${A", env, err));
    CHECK_FALSE(expand_env("${not a name}", env, err));
    CHECK(err.find("not a name") == std::string::npos);
    CHECK_FALSE(expand_env("${}", env, err));
    CHECK_FALSE(expand_env("${1A}", env, err));
}

TEST_CASE("secret files and UTF-8", "[config][secrets]") {
    std::string err;
    CHECK_FALSE(read_secret_file("/nonexistent/x", err));
    CHECK(err == "cannot read \"/nonexistent/x\": No such file or directory");
    CHECK_FALSE(read_secret_file("/", err));
    CHECK(is_valid_utf8("héllo"));
    CHECK_FALSE(is_valid_utf8("\xff"));
    CHECK_FALSE(is_valid_utf8("\xc3"));          // truncated
    CHECK_FALSE(is_valid_utf8("\xc0\xaf"));      // overlong
    CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));  // surrogate
}

TEST_CASE("key values from text, per declared type", "[config][values]") {
    using nlohmann::json;
    CHECK(*key_value_from_text(PL_KEY_STRING, " a ") == " a ");
    CHECK(*key_value_from_text(PL_KEY_INT, "10") == 10);
    CHECK(*key_value_from_text(PL_KEY_INT, "-3") == -3);
    CHECK_FALSE(key_value_from_text(PL_KEY_INT, "10x"));
    CHECK_FALSE(key_value_from_text(PL_KEY_INT, ""));
    CHECK_FALSE(key_value_from_text(PL_KEY_INT, "99999999999999999999"));
    CHECK(*key_value_from_text(PL_KEY_BOOL, "true") == true);
    CHECK(*key_value_from_text(PL_KEY_BOOL, "off") == false);
    CHECK_FALSE(key_value_from_text(PL_KEY_BOOL, "maybe"));
    CHECK(*key_value_from_text(PL_KEY_FLOAT, "2.5") == 2.5);
    CHECK_FALSE(key_value_from_text(PL_KEY_FLOAT, "nan"));
    CHECK(*key_value_from_text(PL_KEY_DURATION, "5s") == 5000);
    CHECK_FALSE(key_value_from_text(PL_KEY_DURATION, "5 parsecs"));
    CHECK(*key_value_from_text(PL_KEY_SIZE, "2KiB") == 2048);
    CHECK(*key_value_from_text(PL_KEY_STRING_LIST, "a, b,,c") == json::array({"a", "b", "c"}));
    CHECK(*key_value_from_text(PL_KEY_STRING_LIST, "") == json::array());
    CHECK(*key_value_from_text(PL_KEY_TABLE, "a=1, b = x") == json{{"a", "1"}, {"b", "x"}});
    CHECK_FALSE(key_value_from_text(PL_KEY_TABLE, "a"));
    CHECK_FALSE(key_value_from_text(99, "x"));
}

TEST_CASE("issue format", "[config][format]") {
    ConfigIssue issue;
    issue.pos.file = "f.toml";
    issue.pos.line = 3;
    issue.pos.column = 7;
    issue.key_path = "instance.cam.heartbeat";
    issue.message = "bad";
    CHECK(issue.format() == "f.toml:3:7: instance.cam.heartbeat: bad");
    issue.pos.column = 0;
    issue.key_path.clear();
    CHECK(issue.format() == "f.toml:3: bad");
    issue.pos.line = 0;
    CHECK(issue.format() == "f.toml: bad");
    issue.pos.file.clear();
    issue.key_path = "daemon";
    CHECK(issue.format() == "daemon: bad");
}
