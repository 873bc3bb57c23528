// Internal to kernel/config: what the section readers (daemon, instances,
// routes) share. The only header here that includes toml++; never include it
// from outside kernel/config.
#pragma once

#ifndef TOML_HEADER_ONLY
#define TOML_HEADER_ONLY 0 // Debian's toml++ is a compiled library
#endif
#include <toml++/toml.h>

#include "config/config.hpp"
#include "config/secrets.hpp"

#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace passerelle::kernel::config_detail {

// "a.b" (or `a."my key"` when the key needs quoting).
std::string join_path(std::string_view parent, std::string_view key);
// "an integer", "a string", ... for "expected X, got Y" messages.
std::string type_name(const toml::node& n);
// A value quoted for a message, shortened when long.
std::string quote_text(std::string_view s);
// "got \"fast\"" for a string node, "got an integer" otherwise.
std::string got(const toml::node& n);

bool is_log_level(std::string_view s);
const std::vector<std::string>& log_levels();

// A string value after `${ENV}` expansion.
struct Text {
    std::string value;
    std::string shown;        // what a message may quote: the TOML text, never a resolved value
    bool substituted = false; // came (partly) from the environment
    std::vector<std::string> pieces; // substituted values (to mask)
};

class Reader {
public:
    Reader(std::string file, std::vector<ConfigIssue>& issues);

    const std::string& file() const { return file_; }
    SourcePos pos(const toml::node& n) const;
    SourcePos pos(const toml::key& k) const;
    void error(SourcePos p, std::string key_path, std::string message);
    std::vector<ConfigIssue>& issues() { return issues_; }

    // Reports each key of `t` not in `allowed` ("unknown key", with a suggestion).
    void reject_unknown_keys(const toml::table& t, std::string_view path, const std::vector<std::string>& allowed);

    // Relative paths are relative to the config file's directory.
    std::string resolve_path(std::string_view p) const;

    // A string node with ${ENV} expanded; reports (and returns nullopt) on a
    // wrong type, a missing variable or bad UTF-8. `secret`: never quote it.
    std::optional<Text> string_value(const toml::node& n, std::string_view path, bool secret);

    // A duration (string "5s" / number of seconds) in ms, >= 0.
    std::optional<int64_t> duration_value(const toml::node& n, std::string_view path);

    const EnvLookup& env() const { return env_; }

private:
    std::string file_;
    std::filesystem::path dir_;
    std::vector<ConfigIssue>& issues_;
    EnvLookup env_;
};

void read_daemon(Reader& r, const toml::table& root, DaemonConfig& out);
void read_instances(Reader& r, const toml::table& root, const SchemaLookup& schemas, std::vector<InstanceConfig>& out);
void read_routes(Reader& r, const toml::table& root, const std::vector<InstanceConfig>& instances,
                 const SchemaLookup& schemas, std::vector<RouteConfig>& out);

} // namespace passerelle::kernel::config_detail
