// Shared by the config tests: two fake module schemas (static pl_key_decl
// arrays, as a module declares them) and a temp dir to write config files to.
#pragma once

#include "config/config.hpp"
#include "config/module_catalog.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace passerelle::kernel::test {

// A camera-like event source.
inline const pl_key_decl camera_keys[] = {
    {"url", PL_KEY_STRING, PL_KEY_REQUIRED, nullptr, "device URL"},
    {"user", PL_KEY_STRING, 0, "admin", "login"},
    {"password", PL_KEY_STRING, PL_KEY_REQUIRED | PL_KEY_SECRET, nullptr, "password"},
    {"pin", PL_KEY_INT, PL_KEY_SECRET, nullptr, "a numeric secret"},
    {"heartbeat", PL_KEY_DURATION, 0, "30s", "silence before reconnecting"},
    {"max_body", PL_KEY_SIZE, 0, "1MiB", "largest part accepted"},
    {"channels", PL_KEY_STRING_LIST, 0, "1, 2", "channels to watch"},
    {"names", PL_KEY_TABLE, 0, nullptr, "channel names"},
    {"verify_tls", PL_KEY_BOOL, 0, "true", "check the certificate"},
    {"retries", PL_KEY_INT, 0, "3", "attempts"},
    {"ratio", PL_KEY_FLOAT, 0, nullptr, "a number"},
};

// A home-automation sink.
inline const pl_key_decl homebox_keys[] = {
    {"url", PL_KEY_STRING, PL_KEY_REQUIRED, nullptr, "box URL"},
    {"apikey", PL_KEY_STRING, PL_KEY_REQUIRED | PL_KEY_SECRET, nullptr, "API key"},
    {"timeout", PL_KEY_DURATION, 0, "5s", "request timeout"},
};

inline ModuleCatalog& fake_catalog() {
    static ModuleCatalog catalog = [] {
        ModuleCatalog c;
        c.add(ModuleSchema{"camera", {std::begin(camera_keys), std::end(camera_keys)}, {"snapshot", "ptz"}});
        c.add(ModuleSchema{"homebox", {std::begin(homebox_keys), std::end(homebox_keys)}, {"deliver", "set", "scenario"}});
        return c;
    }();
    return catalog;
}

// A fresh directory removed at the end of the test.
class TempDir {
public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "passerelle-config-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::filesystem::path& path() const { return path_; }
    std::string write(const std::string& name, const std::string& content) const {
        auto p = path_ / name;
        std::ofstream(p, std::ios::binary) << content;
        return p.string();
    }

private:
    std::filesystem::path path_;
};

// Writes `toml` to DIR/passerelle.toml and loads it against the fake modules.
struct Loaded {
    TempDir dir;
    std::string path;
    ConfigResult result;
    explicit Loaded(const std::string& toml) {
        path = dir.write("passerelle.toml", toml);
        result = load_config(path, fake_catalog().lookup());
    }
    // The one issue reported for `key_path` (fails the test when there is not exactly one).
    const ConfigIssue& issue(const std::string& key_path) const {
        const ConfigIssue* found = nullptr;
        int n = 0;
        for (const auto& i : result.issues)
            if (i.key_path == key_path) {
                found = &i;
                ++n;
            }
        INFO("issues:\n" << all_issues());
        REQUIRE(n == 1);
        return *found;
    }
    std::string all_issues() const {
        std::string out;
        for (const auto& i : result.issues) out += i.format() + "\n";
        return out;
    }
};

// A valid camera instance body, so tests can add one key at a time.
inline const char* camera_basics = "module = \"camera\"\nurl = \"http://10.0.0.2\"\npassword = \"pw\"\n";

} // namespace passerelle::kernel::test
