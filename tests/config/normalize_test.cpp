// Valid configs: defaults applied, durations in ms, sizes in bytes, routes
// flattened; `passerelle check` output; [daemon] alone.
#include "config_fixture.hpp"

#include "config/config_check.hpp"

#include <nlohmann/json.hpp>

#include <sstream>

using namespace passerelle::kernel;
using namespace passerelle::kernel::test;
using nlohmann::json;

TEST_CASE("declared defaults are applied and normalized", "[config][normalize]") {
    Loaded l(std::string("[instance.cam]\n") + camera_basics);
    INFO(l.all_issues());
    REQUIRE(l.result.config);
    auto j = json::parse(l.result.config->instances.at(0).config_json);
    CHECK(j["user"] == "admin");
    CHECK(j["heartbeat"] == 30000);
    CHECK(j["max_body"] == 1048576);
    CHECK(j["channels"] == json::array({"1", "2"}));
    CHECK(j["verify_tls"] == true);
    CHECK(j["retries"] == 3);
    CHECK_FALSE(j.contains("names")); // optional, no default: absent
    CHECK_FALSE(j.contains("ratio"));
}

TEST_CASE("durations become ms and sizes bytes, from strings or numbers", "[config][normalize]") {
    struct Case {
        std::string text;
        std::string key;
        int64_t value;
    };
    const std::vector<Case> cases{
        {"\"250ms\"", "heartbeat", 250},   {"\"2m\"", "heartbeat", 120000}, {"\"1h\"", "heartbeat", 3600000},
        {"\"7d\"", "heartbeat", 604800000}, {"5", "heartbeat", 5000},       {"1.5", "heartbeat", 1500},
        {"\"64KB\"", "max_body", 64000},    {"\"10MiB\"", "max_body", 10485760}, {"4096", "max_body", 4096},
    };
    for (const auto& c : cases) {
        Loaded l(std::string("[instance.cam]\n") + camera_basics + c.key + " = " + c.text + "\n");
        INFO(c.key << " = " << c.text << "\n" << l.all_issues());
        REQUIRE(l.result.config);
        CHECK(json::parse(l.result.config->instances.at(0).config_json)[c.key] == c.value);
    }
}

TEST_CASE("lists, tables, floats and integers as given", "[config][normalize]") {
    Loaded l(std::string("[instance.cam]\n") + camera_basics +
             "channels = [\"3\", \"4\"]\nnames = { 1 = \"garage\", 2 = 7 }\nratio = 2\nretries = -1\n");
    INFO(l.all_issues());
    REQUIRE(l.result.config);
    auto j = json::parse(l.result.config->instances.at(0).config_json);
    CHECK(j["channels"] == json::array({"3", "4"}));
    CHECK(j["names"] == json{{"1", "garage"}, {"2", "7"}});
    CHECK(j["ratio"] == 2.0);
    CHECK(j["retries"] == -1);
}

TEST_CASE("a fully valid config", "[config][normalize]") {
    ::setenv("PT_VALID_PW", "valid-pw", 1);
    TempDir dir;
    std::string path = dir.write("passerelle.toml", R"toml(
[daemon]
modules = ["mods", "/usr/lib/passerelle/modules"]
state_dir = "var/state"
log_level = "debug"
api = { listen = "127.0.0.1:9000", token = "t0ken" }

[instance.cam_garage]
module = "camera"
url = "https://192.168.1.64"
password = "${PT_VALID_PW}"
heartbeat = "10s"
log_level = "trace"

[instance.box]
module = "homebox"
url = "http://box.local"
apikey = "abc"

[[route]]
when = { source = "cam_*", type = ["motion", "intrusion"], channel = [1, "2"], state = "start", attrs.target = "human" }
to = "box"
action = "set"
params = { id = "1234", value = "{state|start=1,stop=0}", n = 3 }
throttle = "2s"
debounce = 1
max_age = "1h"
final = true

[[route]]
to = "cam_garage"
action = "snapshot"
)toml");
    auto r = load_config(path, fake_catalog().lookup());
    for (const auto& i : r.issues) UNSCOPED_INFO(i.format());
    REQUIRE(r.issues.empty());
    REQUIRE(r.config);
    const Config& c = *r.config;
    CHECK(c.path == path);
    CHECK(c.daemon.module_dirs == std::vector<std::string>{(dir.path() / "mods").string(), "/usr/lib/passerelle/modules"});
    CHECK(c.daemon.state_dir == (dir.path() / "var/state").string());
    CHECK(c.daemon.log_level == "debug");
    CHECK(c.daemon.api.listen == "127.0.0.1:9000");
    CHECK(c.daemon.api.token == "t0ken");
    CHECK(c.daemon.api_enabled);

    REQUIRE(c.instances.size() == 2);
    const auto* cam = c.find_instance("cam_garage");
    REQUIRE(cam);
    CHECK(cam->module == "camera");
    CHECK(cam->log_level == "trace");
    CHECK(cam->pos.line == 8);
    CHECK(cam->key_pos.at("heartbeat").line == 12);
    CHECK(json::parse(cam->config_json)["heartbeat"] == 10000);
    CHECK(json::parse(cam->config_json)["password"] == "valid-pw");
    CHECK(c.find_instance("box")->log_level.empty());

    REQUIRE(c.routes.size() == 2);
    const auto& r0 = c.routes[0];
    CHECK(r0.index == 0);
    CHECK(r0.pos.line == 20);
    CHECK(r0.when.at("source") == std::vector<std::string>{"cam_*"});
    CHECK(r0.when.at("type") == std::vector<std::string>{"motion", "intrusion"});
    CHECK(r0.when.at("channel") == std::vector<std::string>{"1", "2"});
    CHECK(r0.when.at("state") == std::vector<std::string>{"start"});
    CHECK(r0.when.at("attrs.target") == std::vector<std::string>{"human"});
    CHECK(r0.when.size() == 5);
    CHECK(r0.to == "box");
    CHECK(r0.action == "set");
    CHECK(json::parse(r0.params_json) == json{{"id", "1234"}, {"value", "{state|start=1,stop=0}"}, {"n", 3}});
    CHECK(r0.throttle_ms == 2000);
    CHECK(r0.debounce_ms == 1000);
    CHECK(r0.max_age_ms == 3600000);
    CHECK(r0.final);
    const auto& r1 = c.routes[1];
    CHECK(r1.index == 1);
    CHECK(r1.when.empty());
    CHECK(r1.params_json == "{}");
    CHECK(r1.throttle_ms == 0);
    CHECK_FALSE(r1.final);

    std::ostringstream out;
    CHECK(run_check(path, fake_catalog().lookup(), out) == 0);
    CHECK(out.str() == path + ": OK (2 instances, 2 routes)\n");
}

TEST_CASE("an empty file is a valid config with defaults", "[config][normalize]") {
    Loaded l("");
    REQUIRE(l.result.config);
    CHECK(l.result.config->daemon.state_dir == (l.dir.path() / "state").string());
    CHECK(l.result.config->daemon.module_dirs.empty());
    CHECK(l.result.config->daemon.api.listen == "127.0.0.1:8640");
    CHECK(l.result.config->daemon.api_enabled);
    CHECK(l.result.config->instances.empty());
}

TEST_CASE("same config, same fingerprint; a changed key changes it", "[config][normalize]") {
    Loaded a(std::string("[instance.cam]\n") + camera_basics + "heartbeat = \"5s\"\n");
    Loaded b(std::string("[instance.cam]\nheartbeat = \"5000ms\"\n") + camera_basics);
    Loaded c(std::string("[instance.cam]\n") + camera_basics + "heartbeat = \"6s\"\n");
    REQUIRE(a.result.config);
    REQUIRE(b.result.config);
    REQUIRE(c.result.config);
    CHECK(a.result.config->instances[0].fingerprint() == b.result.config->instances[0].fingerprint());
    CHECK(a.result.config->instances[0].fingerprint() != c.result.config->instances[0].fingerprint());
}

TEST_CASE("run_check prints every issue and returns 2", "[config][check]") {
    Loaded l("[daemon]\nlog_level = \"loud\"\n\n[instance.x]\nmodule = \"nope\"\n");
    std::ostringstream out;
    CHECK(run_check(l.path, fake_catalog().lookup(), out) == 2);
    CHECK(out.str() == l.path + ":2:13: daemon.log_level: expected one of trace, debug, info, warn, error, got \"loud\"\n" +
                           l.path + ":5:10: instance.x.module: unknown module \"nope\"; known modules: camera, homebox\n");
}

TEST_CASE("read_daemon_section reads [daemon] only", "[config][daemon]") {
    TempDir dir;
    std::string path = dir.write("p.toml", "[daemon]\nmodules = [\"m\"]\nlog_level = \"warn\"\n\n"
                                           "[instance.x]\nmodule = \"not-loaded-yet\"\n");
    std::vector<ConfigIssue> issues;
    DaemonConfig d = read_daemon_section(path, issues);
    CHECK(issues.empty());
    CHECK(d.module_dirs == std::vector<std::string>{(dir.path() / "m").string()});
    CHECK(d.log_level == "warn");
    CHECK(d.state_dir == (dir.path() / "state").string());

    std::string bad = dir.write("bad.toml", "[daemon]\nlog_level = \"loud\"\nmodules = \"m\"\n");
    read_daemon_section(bad, issues);
    REQUIRE(issues.size() == 2);
    CHECK(issues[0].key_path == "daemon.log_level");
    CHECK(issues[1].key_path == "daemon.modules");
    CHECK(issues[1].pos.line == 3);
}

TEST_CASE("outbox = false selects the memory queue; unset keeps the durable outbox", "[config][normalize][outbox]") {
    Loaded durable(std::string("[instance.cam]\n") + camera_basics);
    Loaded memory(std::string("[instance.cam]\n") + camera_basics + "outbox = false\n");
    Loaded explicit_true(std::string("[instance.cam]\n") + camera_basics + "outbox = true\n");
    REQUIRE(durable.result.config);
    REQUIRE(memory.result.config);
    REQUIRE(explicit_true.result.config);
    CHECK(durable.result.config->instances[0].outbox);
    CHECK_FALSE(memory.result.config->instances[0].outbox);
    CHECK(explicit_true.result.config->instances[0].outbox);
    // The module never sees the kernel key.
    CHECK(memory.result.config->instances[0].config_json.find("outbox") == std::string::npos);
    // A switch restarts the instance on reload (and reopens its queue).
    CHECK(durable.result.config->instances[0].fingerprint() != memory.result.config->instances[0].fingerprint());
    CHECK(durable.result.config->instances[0].fingerprint() == explicit_true.result.config->instances[0].fingerprint());
}
