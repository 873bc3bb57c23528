// Files that are missing, malformed or hostile: a clear issue, never an
// exception, a crash or a hang.
#include "config_fixture.hpp"

#include "config/config_check.hpp"

#include <random>
#include <sstream>

using namespace passerelle::kernel;
using namespace passerelle::kernel::test;
using Catch::Matchers::Contains;

TEST_CASE("a missing file is one clear issue, no exception", "[config][hostile]") {
    const std::string path = "/nonexistent/passerelle-test/passerelle.toml";
    ConfigResult r;
    REQUIRE_NOTHROW(r = load_config(path, fake_catalog().lookup()));
    REQUIRE(r.issues.size() == 1);
    CHECK_FALSE(r.config);
    CHECK(r.issues[0].format() == path + ": cannot read the config file: No such file or directory");

    std::vector<ConfigIssue> issues;
    REQUIRE_NOTHROW(read_daemon_section(path, issues));
    REQUIRE(issues.size() == 1);

    std::ostringstream out;
    CHECK(run_check(path, fake_catalog().lookup(), out) == 2);
    CHECK_THAT(out.str(), Contains("cannot read the config file"));
}

TEST_CASE("a directory instead of a file", "[config][hostile]") {
    TempDir dir;
    auto r = load_config(dir.path().string(), fake_catalog().lookup());
    REQUIRE(r.issues.size() == 1);
    CHECK_THAT(r.issues[0].message, Contains("directory"));
}

TEST_CASE("malformed TOML: truncated, binary, invalid UTF-8, misplaced sections", "[config][hostile]") {
    const std::vector<std::string> inputs{
        "[instance.cam",
        "[[route]]\nwhen = { source = \"a\"",
        "key = \"unterminated\n",
        std::string("a = \"\xff\xfe\"\n"),
        std::string("\x00\x01\x02garbage", 10),
        "= 1\n",
        "[daemon]\n[daemon]\n",
    };
    for (const auto& text : inputs) {
        Loaded l(text);
        INFO(text);
        REQUIRE(l.result.issues.size() == 1);
        CHECK(l.result.issues[0].pos.line >= 1);
        CHECK_FALSE(l.result.config);
    }
}

TEST_CASE("sections of the wrong shape", "[config][hostile]") {
    Loaded l("daemon = 1\ninstance = \"x\"\nroute = { to = \"a\" }\n");
    INFO(l.all_issues());
    CHECK(l.issue("daemon").pos.line == 1);
    CHECK(l.issue("instance").pos.line == 2);
    CHECK(l.issue("route").pos.line == 3);

    Loaded m("[instance]\ncam = 3\n\n[daemon]\nmodules = [1]\napi = 2\n");
    INFO(m.all_issues());
    CHECK(m.issue("instance.cam").pos.line == 2);
    CHECK(m.issue("daemon.modules[0]").pos.line == 5);
    CHECK(m.issue("daemon.api").pos.line == 6);
}

TEST_CASE("deep nesting and many keys stay bounded", "[config][hostile]") {
    std::string deep = "[[route]]\nto = \"x\"\nparams = { a = ";
    for (int i = 0; i < 200; ++i) deep += "[";
    for (int i = 0; i < 200; ++i) deep += "]";
    deep += " }\nwhen = { attrs = { a = { b = { c = \"x\" } } } }\n";
    Loaded l(deep);
    CHECK_FALSE(l.result.config); // "x" is no instance; the nesting itself is no crash

    std::string many = "[instance.cam]\nmodule = \"camera\"\nurl = \"u\"\npassword = \"p\"\n";
    for (int i = 0; i < 5000; ++i) {
        const std::string n = std::to_string(i);
        many.append("k").append(n).append(" = ").append(n).append("\n");
    }
    Loaded m(many);
    CHECK(m.result.issues.size() == 5000);
    CHECK(m.result.issues.front().pos.line == 5);
    CHECK(m.result.issues.back().pos.line == 5004);
}

TEST_CASE("random bytes never throw", "[config][hostile]") {
    std::mt19937 rng(1234);
    const std::string alphabet = "[]{}=\"'.,#\n \\$abcxyz019_-instanceroutedaemon\xc3\xa9";
    for (int round = 0; round < 300; ++round) {
        std::string text;
        size_t n = rng() % 200;
        for (size_t i = 0; i < n; ++i) text += alphabet[rng() % alphabet.size()];
        ConfigResult r;
        REQUIRE_NOTHROW(r = parse_config(text, "fuzz.toml", fake_catalog().lookup()));
        CHECK((r.config.has_value() || !r.issues.empty()));
    }
}
