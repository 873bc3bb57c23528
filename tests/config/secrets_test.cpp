// Secrets from ${ENV} and KEY_file: resolved into config_json, listed in
// secret_values, and never quoted in an issue.
#include "config_fixture.hpp"

#include <nlohmann/json.hpp>

#include <cstdlib>

using namespace passerelle::kernel;
using namespace passerelle::kernel::test;
using Catch::Matchers::Contains;

namespace {
bool has(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}
bool any_issue_contains(const ConfigResult& r, const std::string& s) {
    for (const auto& i : r.issues)
        if (i.format().find(s) != std::string::npos) return true;
    return false;
}
} // namespace

TEST_CASE("${ENV} references resolve, whole or embedded, and land in secret_values", "[config][secrets]") {
    ::setenv("PT_CAM_PASSWORD", "s3cret-from-env", 1);
    ::setenv("PT_CAM_HOST", "10.1.2.3", 1);
    ::setenv("PT_CAM_RETRIES", "7", 1);
    Loaded l("[instance.cam]\nmodule = \"camera\"\nurl = \"http://${PT_CAM_HOST}:80/x\"\n"
             "password = \"${PT_CAM_PASSWORD}\"\nretries = \"${PT_CAM_RETRIES}\"\nuser = \"cost $${ENV} $5\"\n");
    INFO(l.all_issues());
    REQUIRE(l.result.config);
    const auto& inst = l.result.config->instances.at(0);
    auto j = nlohmann::json::parse(inst.config_json);
    CHECK(j["url"] == "http://10.1.2.3:80/x");
    CHECK(j["password"] == "s3cret-from-env");
    CHECK(j["retries"] == 7); // a string from the environment, parsed per the key's type
    CHECK(j["user"] == "cost ${ENV} $5"); // $${ escapes, a lone $ stays
    CHECK(has(inst.secret_values, "s3cret-from-env"));
    // What the operator kept out of the file is masked too, even for a non-secret key.
    CHECK(has(inst.secret_values, "10.1.2.3"));
}

TEST_CASE("KEY_file reads the file, strips the trailing newline, resolves relative paths", "[config][secrets]") {
    TempDir dir;
    dir.write("cam.pw", "file-secret-pw\n");
    std::filesystem::create_directory(dir.path() / "keys");
    dir.write("keys/box.key", "box-api-key\r\n");
    std::string path = dir.write("p.toml", "[instance.cam]\nmodule = \"camera\"\nurl = \"http://x\"\n"
                                           "password_file = \"cam.pw\"\n\n"
                                           "[instance.box]\nmodule = \"homebox\"\nurl = \"http://box\"\n"
                                           "apikey_file = \"" + (dir.path() / "keys/box.key").string() + "\"\n");
    auto r = load_config(path, fake_catalog().lookup());
    for (const auto& i : r.issues) UNSCOPED_INFO(i.format());
    REQUIRE(r.config);
    const auto* cam = r.config->find_instance("cam");
    const auto* box = r.config->find_instance("box");
    REQUIRE(cam);
    REQUIRE(box);
    CHECK(nlohmann::json::parse(cam->config_json)["password"] == "file-secret-pw");
    CHECK(nlohmann::json::parse(box->config_json)["apikey"] == "box-api-key");
    CHECK(has(cam->secret_values, "file-secret-pw"));
    CHECK(has(box->secret_values, "box-api-key"));
    // The module's error about "password" can point at the password_file line.
    REQUIRE(cam->key_pos.count("password"));
    CHECK(cam->key_pos.at("password").line == 4);
}

TEST_CASE("a secret written in clear is accepted and recorded", "[config][secrets]") {
    Loaded l(std::string("[instance.cam]\n") + camera_basics);
    REQUIRE(l.result.config);
    CHECK(has(l.result.config->instances.at(0).secret_values, "pw"));
    CHECK_FALSE(has(l.result.config->instances.at(0).secret_values, "http://10.0.0.2"));
}

TEST_CASE("secret values never appear in issue messages", "[config][secrets]") {
    ::setenv("PT_BAD_PIN", "pin-secret-env-value", 1);
    TempDir dir;
    dir.write("pin.txt", "pin-secret-file-value\n");
    std::string path = dir.write(
        "p.toml", "[instance.a]\nmodule = \"camera\"\nurl = \"http://x\"\npassword = \"pw\"\npin = \"${PT_BAD_PIN}\"\n\n"
                  "[instance.b]\nmodule = \"camera\"\nurl = \"http://x\"\npassword = \"pw\"\npin_file = \"pin.txt\"\n\n"
                  "[instance.c]\nmodule = \"camera\"\nurl = \"http://x\"\npassword = \"pw\"\npin = \"clear-pin-secret\"\n\n"
                  "[instance.d]\nmodule = \"camera\"\nurl = \"http://x\"\npassword = \"pw\"\n"
                  "heartbeat = \"${PT_BAD_PIN}\"\n");
    auto r = load_config(path, fake_catalog().lookup());
    REQUIRE(r.issues.size() == 4);
    for (const auto& i : r.issues) UNSCOPED_INFO(i.format());
    CHECK_FALSE(any_issue_contains(r, "pin-secret-env-value"));
    CHECK_FALSE(any_issue_contains(r, "pin-secret-file-value"));
    CHECK_FALSE(any_issue_contains(r, "clear-pin-secret"));
    // Each issue still says where and what.
    CHECK(r.issues[0].key_path == "instance.a.pin");
    CHECK(r.issues[0].pos.line == 5);
    CHECK(r.issues[1].key_path == "instance.b.pin_file");
    CHECK_THAT(r.issues[1].message, Contains("pin.txt"));
    CHECK(r.issues[2].key_path == "instance.c.pin");
    // A non-secret key quotes what the file says (the reference), not the value.
    CHECK(r.issues[3].message == "expected a duration such as \"5s\", got \"${PT_BAD_PIN}\"");
}

TEST_CASE("the API token from the environment or a file", "[config][secrets]") {
    ::setenv("PT_API_TOKEN", "tok-env", 1);
    {
        Loaded l("[daemon.api]\ntoken = \"${PT_API_TOKEN}\"\n");
        REQUIRE(l.result.config);
        CHECK(l.result.config->daemon.api.token == "tok-env");
    }
    {
        TempDir dir;
        dir.write("api-token", "tok-file\n");
        std::string path = dir.write("p.toml", "[daemon]\napi = { token_file = \"api-token\", enabled = false }\n");
        auto r = load_config(path, fake_catalog().lookup());
        REQUIRE(r.config);
        CHECK(r.config->daemon.api.token == "tok-file");
        CHECK_FALSE(r.config->daemon.api_enabled);
    }
    {
        Loaded l("[daemon.api]\ntoken_file = \"missing-token\"\n");
        REQUIRE(l.result.issues.size() == 1);
        CHECK(l.result.issues[0].key_path == "daemon.api.token_file");
        CHECK(l.result.issues[0].pos.line == 2);
        CHECK(l.result.issues[0].pos.column == 14);
    }
}
