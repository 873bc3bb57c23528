// The daemon's configuration, parsed from one TOML file and validated against
// the loaded modules' key declarations. No toml++ in this header: it is
// included by most of the kernel.
#pragma once

#include <passerelle/abi.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace passerelle::kernel {

struct SourcePos {
    std::string file;
    int line = 0;   // 1-based, 0 = unknown
    int column = 0; // 1-based, 0 = unknown
};

// One problem in a config file. Printed as `FILE:LINE:COLUMN: KEY.PATH: message`.
struct ConfigIssue {
    SourcePos pos;
    std::string key_path; // e.g. "instance.cam.heartbeat", "route[2].when.type"
    std::string message;
    std::string format() const;
};

struct ApiConfig {
    std::string listen = "127.0.0.1:8640";
    std::string token; // secret: never logged
    // How long a control-API action may take before the caller gets 504. A SIP call
    // answers after ringing and playing its message, so users raise it for long ones.
    int64_t action_timeout_ms = 30000;
};

struct DaemonConfig {
    std::string state_dir;                // default: "./state" beside the config file? see config.cpp
    std::vector<std::string> module_dirs; // empty = the default module dir
    std::string log_level = "info";
    // [daemon] coalesce: how long a module's event loop that ran out of work
    // waits, unwoken, before it sleeps (see pl_host_api.coalesce_us). 0 = off.
    // Unset, each module may use its own default (coalesce_configured false).
    int64_t coalesce_ms = 1;
    bool coalesce_configured = false;
    ApiConfig api;
    bool api_enabled = true;
};

struct InstanceConfig {
    std::string name;
    std::string module;
    std::string log_level;                   // empty = the daemon's level
    // Outbox bounds of this instance as a sink (drop-oldest beyond them); 0 = the default.
    uint64_t outbox_max_events = 0;
    uint64_t outbox_max_bytes = 0;
    // Cap of the exponential backoff (full jitter) after transient failures; 0 = the default (5 min).
    int64_t retry_max_ms = 0;
    // `outbox = false`: deliveries to this sink go through an in-memory queue
    // instead of the durable SQLite outbox (for a sink whose own output is the
    // durable record, such as filelog). Default true: durable.
    bool outbox = true;
    std::string config_json;                 // normalized: defaults applied, secrets resolved, durations in ms
    std::vector<std::string> secret_values;  // resolved secrets, so logs can mask them
    std::map<std::string, SourcePos> key_pos; // key path -> where it is written, for module-reported errors
    SourcePos pos;
    // Fingerprint for SIGHUP reload: instances whose fingerprint is unchanged keep running.
    std::string fingerprint() const {
        return module + '\n' + log_level + '\n' + std::to_string(outbox_max_events) + '\n' +
               std::to_string(outbox_max_bytes) + '\n' + std::to_string(retry_max_ms) + '\n' + (outbox ? "outbox" : "memory") + '\n' + config_json;
    }
};

struct RouteConfig {
    SourcePos pos;
    size_t index = 0; // 0-based position among [[route]]
    // field -> alternatives (globs). Fields: source, module, type, code, channel,
    // state, and "attrs.KEY". A field absent from the map matches anything.
    std::map<std::string, std::vector<std::string>> when;
    std::string to;
    std::string action;      // empty = the sink's default action ("deliver")
    std::string params_json; // JSON object whose string values are templates; "{}" when none
    int64_t throttle_ms = 0;
    int64_t debounce_ms = 0;
    int64_t max_age_ms = 0; // 0 = no age limit (stops are always delivered)
    bool final = false;
};

struct Config {
    std::string path;
    DaemonConfig daemon;
    std::vector<InstanceConfig> instances;
    std::vector<RouteConfig> routes;
    const InstanceConfig* find_instance(std::string_view name) const {
        for (const auto& i : instances)
            if (i.name == name) return &i;
        return nullptr;
    }
};

// What the validator needs to know about a module: its declared keys and actions.
struct ModuleSchema {
    std::string name;
    std::vector<pl_key_decl> keys;       // strings point into the loaded library
    std::vector<std::string> actions;    // declared action names ("deliver" is always allowed for sinks)
};

using SchemaLookup = std::function<const ModuleSchema*(std::string_view module)>;

struct ConfigResult {
    std::optional<Config> config; // set when there is no issue
    std::vector<ConfigIssue> issues;
};

// Reads only [daemon] (module dirs, state dir, log level) so modules can be
// loaded before instances are validated against them. Issues go in `issues`.
DaemonConfig read_daemon_section(const std::string& path, std::vector<ConfigIssue>& issues);

// Parses and validates the whole file; every issue is reported, not just the first.
ConfigResult load_config(const std::string& path, const SchemaLookup& schemas);
ConfigResult parse_config(std::string_view text, const std::string& path, const SchemaLookup& schemas);

} // namespace passerelle::kernel
