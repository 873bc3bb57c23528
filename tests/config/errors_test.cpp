// One test per kind of config error: exact file:line:column, key path, message.
#include "config_fixture.hpp"

#include "config/config.hpp"

#include <cstdlib>

using namespace passerelle::kernel;
using namespace passerelle::kernel::test;
using Catch::Matchers::Contains;

namespace {
// The issue at `key_path` is at LINE:COLUMN of the test's file.
void require_at(const Loaded& l, const std::string& key_path, int line, int column) {
    const ConfigIssue& i = l.issue(key_path);
    INFO(i.format());
    CHECK(i.pos.file == l.path);
    CHECK(i.pos.line == line);
    CHECK(i.pos.column == column);
    CHECK_FALSE(l.result.config.has_value());
}

const char* box_instance = "[instance.box]\nmodule = \"homebox\"\nurl = \"http://box\"\napikey = \"k\"\n";
} // namespace

TEST_CASE("a TOML syntax error is reported with toml++'s position", "[config][errors]") {
    Loaded l("[daemon]\nlog_level = \n");
    REQUIRE(l.result.issues.size() == 1);
    const auto& i = l.result.issues[0];
    CHECK(i.pos.file == l.path);
    CHECK(i.pos.line == 2);
    CHECK(i.pos.column == 13);
    CHECK_THAT(i.message, Contains("TOML syntax error"));
    CHECK_FALSE(l.result.config);
}

TEST_CASE("an unknown instance key suggests the near miss", "[config][errors]") {
    Loaded l(std::string("[instance.cam]\n") + camera_basics + "heartbeet = \"5s\"\n");
    require_at(l, "instance.cam.heartbeet", 5, 1);
    CHECK_THAT(l.issue("instance.cam.heartbeet").message,
               Contains("unknown key for module \"camera\"") && Contains("did you mean 'heartbeat'?"));
}

TEST_CASE("an unknown top-level or daemon key suggests the near miss", "[config][errors]") {
    Loaded l("[deamon]\nlog_level = \"info\"\n\n[daemon]\nstate_dri = \"x\"\n");
    require_at(l, "deamon", 1, 2);
    CHECK_THAT(l.issue("deamon").message, Contains("did you mean 'daemon'?"));
    require_at(l, "daemon.state_dri", 5, 1);
    CHECK_THAT(l.issue("daemon.state_dri").message, Contains("did you mean 'state_dir'?"));
}

TEST_CASE("an unknown key far from every known one gets no suggestion", "[config][errors]") {
    Loaded l(std::string("[instance.cam]\n") + camera_basics + "colour = \"blue\"\n");
    require_at(l, "instance.cam.colour", 5, 1);
    CHECK(l.issue("instance.cam.colour").message == "unknown key for module \"camera\"");
}

TEST_CASE("a value of the wrong type names what was expected", "[config][errors]") {
    Loaded l(std::string("[instance.cam]\n") + camera_basics +
             "retries = \"many\"\nverify_tls = \"true\"\nnames = [\"a\"]\n");
    require_at(l, "instance.cam.retries", 5, 11);
    CHECK(l.issue("instance.cam.retries").message == "expected an integer, got \"many\"");
    require_at(l, "instance.cam.verify_tls", 6, 14);
    CHECK(l.issue("instance.cam.verify_tls").message == "expected true or false, got \"true\" (write it without quotes)");
    require_at(l, "instance.cam.names", 7, 9);
    CHECK_THAT(l.issue("instance.cam.names").message, Contains("expected a table of strings") && Contains("got a list"));
}

TEST_CASE("a number where a string is expected hints at quotes", "[config][errors]") {
    Loaded l("[instance.cam]\nmodule = \"camera\"\nurl = 12\npassword = \"pw\"\n");
    require_at(l, "instance.cam.url", 3, 7);
    CHECK(l.issue("instance.cam.url").message == "expected a string, got an integer (write it in quotes: \"12\")");
}

TEST_CASE("an unknown module lists the known ones", "[config][errors]") {
    Loaded l("[instance.cam]\nmodule = \"camra\"\nurl = \"x\"\n");
    require_at(l, "instance.cam.module", 2, 10);
    CHECK(l.issue("instance.cam.module").message ==
          "unknown module \"camra\" (did you mean 'camera'?); known modules: camera, homebox");
    // The other keys cannot be checked without the module: no cascade of errors.
    CHECK(l.result.issues.size() == 1);
}

TEST_CASE("an unknown module with a plain lookup function still says which", "[config][errors]") {
    TempDir dir;
    std::string path = dir.write("p.toml", "[instance.cam]\nmodule = \"camra\"\n");
    SchemaLookup plain = [](std::string_view name) { return fake_catalog().find(name); };
    auto r = load_config(path, plain);
    REQUIRE(r.issues.size() == 1);
    CHECK(r.issues[0].format() == path + ":2:10: instance.cam.module: unknown module \"camra\"");
}

TEST_CASE("a missing module key and a missing required key point at the instance", "[config][errors]") {
    Loaded l("[instance.cam]\nmodule = \"camera\"\npassword = \"pw\"\n\n[instance.other]\nurl = \"x\"\n");
    require_at(l, "instance.cam.url", 1, 1);
    CHECK_THAT(l.issue("instance.cam.url").message, Contains("missing required key"));
    require_at(l, "instance.other.module", 5, 1);
    CHECK_THAT(l.issue("instance.other.module").message, Contains("missing required key"));
}

TEST_CASE("a route naming an unknown instance", "[config][errors]") {
    Loaded l(std::string(box_instance) + "\n[[route]]\nto = \"boxx\"\n");
    require_at(l, "route[0].to", 7, 6);
    CHECK(l.issue("route[0].to").message == "no instance named \"boxx\" (did you mean 'box'?)");
}

TEST_CASE("a route without `to`", "[config][errors]") {
    Loaded l(std::string(box_instance) + "\n[[route]]\nfinal = true\n");
    require_at(l, "route[0].to", 6, 1);
}

TEST_CASE("a route naming an action its instance's module does not declare", "[config][errors]") {
    Loaded l(std::string(box_instance) + "\n[[route]]\nto = \"box\"\naction = \"sett\"\n");
    require_at(l, "route[0].action", 8, 10);
    CHECK(l.issue("route[0].action").message ==
          "module \"homebox\" (instance \"box\") has no action \"sett\" (did you mean 'set'?); "
          "its actions: deliver, set, scenario");
}

TEST_CASE("a bad glob in `when`", "[config][errors]") {
    Loaded l(std::string(box_instance) + "\n[[route]]\nto = \"box\"\nwhen = { type = \"[abc\" }\n");
    require_at(l, "route[0].when.type", 8, 17);
    CHECK_THAT(l.issue("route[0].when.type").message, Contains("bad glob \"[abc\""));
}

TEST_CASE("bad `when` fields: unknown field, unknown source, bad state, empty list", "[config][errors]") {
    Loaded l(std::string(box_instance) +
             "\n[[route]]\nto = \"box\"\nwhen = { sorce = \"box\" }\n"
             "\n[[route]]\nto = \"box\"\nwhen = { source = \"bx\" }\n"
             "\n[[route]]\nto = \"box\"\nwhen = { state = [\"start\", \"begin\"] }\n"
             "\n[[route]]\nto = \"box\"\nwhen = { type = [] }\n");
    require_at(l, "route[0].when.sorce", 8, 10);
    CHECK_THAT(l.issue("route[0].when.sorce").message, Contains("did you mean 'source'?"));
    require_at(l, "route[1].when.source", 12, 19);
    CHECK_THAT(l.issue("route[1].when.source").message, Contains("no instance named \"bx\" (did you mean 'box'?)"));
    require_at(l, "route[2].when.state[1]", 16, 28);
    CHECK(l.issue("route[2].when.state[1]").message == "expected start, stop or pulse, got \"begin\"");
    require_at(l, "route[3].when.type", 20, 17);
}

TEST_CASE("a bad template in `params`", "[config][errors]") {
    Loaded l(std::string(box_instance) + "\n[[route]]\nto = \"box\"\nparams = { value = \"{state|\" }\n");
    require_at(l, "route[0].params.value", 8, 20);
    CHECK_THAT(l.issue("route[0].params.value").message, Contains("bad template \"{state|\""));
}

TEST_CASE("a bad duration, in the documented message style", "[config][errors]") {
    Loaded l(std::string("[instance.cam]\n") + camera_basics + "heartbeat = \"fast\"\n");
    REQUIRE(l.result.issues.size() == 1);
    CHECK(l.result.issues[0].format() ==
          l.path + ":5:13: instance.cam.heartbeat: expected a duration such as \"5s\", got \"fast\"");
}

TEST_CASE("a bad route duration and a negative one", "[config][errors]") {
    Loaded l(std::string(box_instance) + "\n[[route]]\nto = \"box\"\nthrottle = \"soon\"\ndebounce = -2\n");
    require_at(l, "route[0].throttle", 8, 12);
    CHECK(l.issue("route[0].throttle").message == "expected a duration such as \"5s\", got \"soon\"");
    require_at(l, "route[0].debounce", 9, 12);
}

TEST_CASE("a bad size", "[config][errors]") {
    Loaded l(std::string("[instance.cam]\n") + camera_basics + "max_body = \"huge\"\n");
    require_at(l, "instance.cam.max_body", 5, 12);
    CHECK(l.issue("instance.cam.max_body").message == "expected a size such as \"10MiB\" or 1048576, got \"huge\"");
}

TEST_CASE("a bad log level, for the daemon and for an instance", "[config][errors]") {
    Loaded l(std::string("[daemon]\nlog_level = \"verbose\"\n\n[instance.cam]\n") + camera_basics +
             "log_level = \"warning\"\n");
    require_at(l, "daemon.log_level", 2, 13);
    CHECK(l.issue("daemon.log_level").message == "expected one of trace, debug, info, warn, error, got \"verbose\"");
    require_at(l, "instance.cam.log_level", 8, 13);
    CHECK_THAT(l.issue("instance.cam.log_level").message, Contains("did you mean 'warn'?"));
}

TEST_CASE("a bad listen address", "[config][errors]") {
    Loaded l("[daemon.api]\nlisten = \"localhost\"\n");
    require_at(l, "daemon.api.listen", 2, 10);
    CHECK(l.issue("daemon.api.listen").message == "expected host:port such as \"127.0.0.1:8640\", got \"localhost\"");
}

TEST_CASE("listen addresses: what is accepted and what is not", "[config][errors]") {
    for (const char* bad : {"127.0.0.1:99999", "127.0.0.1:", ":80", "::1:80", "[::1:80", "host name:80", "h:8x"}) {
        Loaded l(std::string("[daemon.api]\nlisten = \"") + bad + "\"\n");
        INFO(bad);
        require_at(l, "daemon.api.listen", 2, 10);
    }
    for (const char* good : {"127.0.0.1:8640", "[::1]:8640", "0.0.0.0:0", "localhost:80"}) {
        Loaded l(std::string("[daemon.api]\nlisten = \"") + good + "\"\n");
        INFO(good << "\n" << l.all_issues());
        REQUIRE(l.result.config);
        CHECK(l.result.config->daemon.api.listen == good);
    }
}

TEST_CASE("a missing environment variable is named", "[config][errors]") {
    ::unsetenv("PASSERELLE_TEST_UNSET");
    Loaded l("[instance.cam]\nmodule = \"camera\"\nurl = \"http://10.0.0.2\"\npassword = \"${PASSERELLE_TEST_UNSET}\"\n");
    require_at(l, "instance.cam.password", 4, 12);
    CHECK(l.issue("instance.cam.password").message == "environment variable PASSERELLE_TEST_UNSET is not set");
}

TEST_CASE("an unreadable secret file", "[config][errors]") {
    Loaded l("[instance.cam]\nmodule = \"camera\"\nurl = \"http://10.0.0.2\"\npassword_file = \"/nonexistent/pw\"\n");
    require_at(l, "instance.cam.password_file", 4, 17);
    CHECK(l.issue("instance.cam.password_file").message == "cannot read \"/nonexistent/pw\": No such file or directory");
}

TEST_CASE("a key given both in clear and as a file", "[config][errors]") {
    Loaded l(std::string("[instance.cam]\n") + camera_basics + "password_file = \"pw.txt\"\n");
    require_at(l, "instance.cam.password_file", 5, 17);
    CHECK(l.issue("instance.cam.password_file").message == "give either password or password_file, not both");
}

TEST_CASE("duplicate instance names", "[config][errors]") {
    Loaded l(std::string("[instance.cam]\n") + camera_basics + "[instance.cam]\n" + camera_basics);
    REQUIRE(l.result.issues.size() == 1);
    require_at(l, "instance.cam", 5, 1);
    CHECK_THAT(l.issue("instance.cam").message, Contains("defined twice"));
}

TEST_CASE("an instance name outside [A-Za-z0-9_-]", "[config][errors]") {
    Loaded l(std::string("[instance.\"my cam\"]\n") + camera_basics);
    require_at(l, "instance.\"my cam\"", 1, 11);
}

TEST_CASE("several errors in one file are all reported, in file order", "[config][errors]") {
    ::unsetenv("PASSERELLE_TEST_UNSET");
    Loaded l(R"toml([daemon]
log_level = "loud"
state_dir = 3

[instance.cam]
module = "camera"
url = "http://10.0.0.2"
password = "${PASSERELLE_TEST_UNSET}"
heartbeat = "often"
retrys = 4

[instance.bad]
module = "nope"

[[route]]
when = { source = "cam", channel = [1, "[2"] }
to = "cam"
action = "zoom"
throttle = "x"
)toml");
    INFO(l.all_issues());
    const std::vector<std::pair<int, std::string>> expected{
        {2, "daemon.log_level"},          {3, "daemon.state_dir"},    {8, "instance.cam.password"},
        {9, "instance.cam.heartbeat"},    {10, "instance.cam.retrys"}, {13, "instance.bad.module"},
        {16, "route[0].when.channel[1]"}, {18, "route[0].action"},     {19, "route[0].throttle"},
    };
    REQUIRE(l.result.issues.size() == expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
        CHECK(l.result.issues[i].pos.line == expected[i].first);
        CHECK(l.result.issues[i].key_path == expected[i].second);
    }
    CHECK_FALSE(l.result.config);
}

TEST_CASE("daemon.api.action_timeout is a bounded duration", "[config][errors]") {
    {
        Loaded l("[daemon.api]\naction_timeout = \"2m\"\n");
        REQUIRE(l.result.issues.empty());
        REQUIRE(l.result.config);
        CHECK(l.result.config->daemon.api.action_timeout_ms == 120000);
    }
    {
        Loaded l("[daemon]\nlog_level = \"info\"\n[daemon.api]\naction_timeout = \"10ms\"\n");
        const auto& i = l.issue("daemon.api.action_timeout");
        CHECK(i.pos.line == 4);
        CHECK_THAT(i.message, Contains("between 1s and 1h"));
    }
    {
        Loaded l("[daemon.api]\naction_timeout = \"soon\"\n");
        CHECK_THAT(l.issue("daemon.api.action_timeout").message, Contains("expected a duration"));
    }
}

TEST_CASE("daemon.coalesce is a duration of 0 to 20 ms, 1 ms by default", "[config][errors]") {
    {
        Loaded l("[daemon]\nlog_level = \"info\"\n");
        REQUIRE(l.result.config);
        CHECK(l.result.config->daemon.coalesce_ms == 1);
        CHECK_FALSE(l.result.config->daemon.coalesce_configured); // modules may use their own default
    }
    {
        Loaded l("[daemon]\ncoalesce = \"0ms\"\n");
        REQUIRE(l.result.issues.empty());
        REQUIRE(l.result.config);
        CHECK(l.result.config->daemon.coalesce_ms == 0);
        CHECK(l.result.config->daemon.coalesce_configured); // set, even to the default: it applies to all
    }
    {
        Loaded l("[daemon]\ncoalesce = \"5ms\"\n");
        REQUIRE(l.result.config);
        CHECK(l.result.config->daemon.coalesce_ms == 5);
    }
    {
        Loaded l("[daemon]\ncoalesce = \"1s\"\n");
        const auto& i = l.issue("daemon.coalesce");
        CHECK(i.pos.line == 2);
        CHECK_THAT(i.message, Contains("between 0ms (off) and 20ms"));
    }
}

TEST_CASE("outbox is a boolean kernel key, durable by default", "[config][errors][outbox]") {
    Loaded l(std::string("[instance.cam]\n") + camera_basics + "outbox = \"no\"\n");
    require_at(l, "instance.cam.outbox", 5, 10);
    CHECK_THAT(l.issue("instance.cam.outbox").message, Contains("expected true (durable outbox, the default) or false"));

    Loaded near(std::string("[instance.cam]\n") + camera_basics + "outbx = false\n");
    CHECK_THAT(near.issue("instance.cam.outbx").message, Contains("did you mean 'outbox'?"));
}

TEST_CASE("retry_max caps a sink's backoff: a duration from 100ms to 1d", "[config][errors][outbox]") {
    Loaded ok(std::string("[instance.cam]\n") + camera_basics + "retry_max = \"30s\"\n");
    REQUIRE(ok.result.config.has_value());
    CHECK(ok.result.config->instances.at(0).retry_max_ms == 30000);
    Loaded unset(std::string("[instance.cam]\n") + camera_basics);
    REQUIRE(unset.result.config.has_value());
    CHECK(unset.result.config->instances.at(0).retry_max_ms == 0); // the engine's default
    for (const char* bad : {"\"10ms\"", "\"2d\"", "\"soon\"", "30"}) {
        INFO(bad);
        Loaded l(std::string("[instance.cam]\n") + camera_basics + "retry_max = " + bad + "\n");
        require_at(l, "instance.cam.retry_max", 5, 13);
        CHECK_THAT(l.issue("instance.cam.retry_max").message, Contains("between 100ms and 1d"));
    }
}

TEST_CASE("outbox bounds: events above 0, bytes as a size", "[config][errors][outbox]") {
    Loaded ok(std::string("[instance.cam]\n") + camera_basics + "outbox_max_events = 500\noutbox_max_bytes = \"2MiB\"\n");
    REQUIRE(ok.result.config.has_value());
    CHECK(ok.result.config->instances.at(0).outbox_max_events == 500);
    CHECK(ok.result.config->instances.at(0).outbox_max_bytes == 2 * 1024 * 1024);
    Loaded zero(std::string("[instance.cam]\n") + camera_basics + "outbox_max_events = 0\n");
    require_at(zero, "instance.cam.outbox_max_events", 5, 21);
    Loaded size(std::string("[instance.cam]\n") + camera_basics + "outbox_max_bytes = \"lots\"\n");
    require_at(size, "instance.cam.outbox_max_bytes", 5, 20);
    CHECK_THAT(size.issue("instance.cam.outbox_max_bytes").message, Contains("such as \"64MiB\""));
}
