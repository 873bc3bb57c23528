// [daemon] and [daemon.api].
#include "config/suggest.hpp"
#include "config/toml_reader.hpp"

#include <cctype>

namespace passerelle::kernel::config_detail {

namespace {

// host:port where host is a name, an IPv4 address or a bracketed IPv6 address.
bool valid_listen(std::string_view s) {
    size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) return false;
    std::string_view host = s.substr(0, colon), port = s.substr(colon + 1);
    if (port.empty() || port.size() > 5) return false;
    unsigned value = 0;
    for (char c : port) {
        if (c < '0' || c > '9') return false;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value > 65535) return false;
    if (host.empty()) return false;
    if (host.front() == '[') {
        if (host.size() < 4 || host.back() != ']') return false;
        for (char c : host.substr(1, host.size() - 2))
            if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return false;
        return true;
    }
    for (char c : host)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-')) return false;
    return true;
}

void read_api(Reader& r, const toml::node& node, DaemonConfig& out) {
    const auto* api = node.as_table();
    if (!api) {
        r.error(r.pos(node), "daemon.api", "expected a table, " + got(node));
        return;
    }
    r.reject_unknown_keys(*api, "daemon.api", {"listen", "token", "token_file", "enabled", "action_timeout"});
    if (const auto* n = api->get("listen")) {
        if (auto t = r.string_value(*n, "daemon.api.listen", false)) {
            if (valid_listen(t->value)) out.api.listen = t->value;
            else r.error(r.pos(*n), "daemon.api.listen",
                         "expected host:port such as \"127.0.0.1:8640\", got " + quote_text(t->shown));
        }
    }
    const auto* token = api->get("token");
    const auto* token_file = api->get("token_file");
    if (token && token_file) {
        r.error(r.pos(*token_file), "daemon.api.token_file", "give either token or token_file, not both");
    } else if (token) {
        if (auto t = r.string_value(*token, "daemon.api.token", true)) {
            if (t->value.empty()) r.error(r.pos(*token), "daemon.api.token", "is empty");
            else out.api.token = std::move(t->value);
        }
    } else if (token_file) {
        if (auto t = r.string_value(*token_file, "daemon.api.token_file", false)) {
            std::string err;
            std::string path = r.resolve_path(t->value);
            if (auto content = read_secret_file(path, err)) {
                if (content->empty()) r.error(r.pos(*token_file), "daemon.api.token_file", quote_text(path) + " is empty");
                else out.api.token = std::move(*content);
            } else {
                r.error(r.pos(*token_file), "daemon.api.token_file", err);
            }
        }
    }
    if (const auto* n = api->get("action_timeout")) {
        if (auto ms = r.duration_value(*n, "daemon.api.action_timeout")) {
            if (*ms < 1000 || *ms > 3'600'000)
                r.error(r.pos(*n), "daemon.api.action_timeout", "expected between 1s and 1h");
            else out.api.action_timeout_ms = *ms;
        }
    }
    if (const auto* n = api->get("enabled")) {
        if (const auto* b = n->as_boolean()) out.api_enabled = b->get();
        else r.error(r.pos(*n), "daemon.api.enabled", "expected true or false, " + got(*n));
    }
}

} // namespace

void read_daemon(Reader& r, const toml::table& root, DaemonConfig& out) {
    out.state_dir = r.resolve_path("state");
    const toml::node* node = root.get("daemon");
    if (!node) return;
    const auto* d = node->as_table();
    if (!d) {
        r.error(r.pos(*node), "daemon", "expected a table ([daemon]), " + got(*node));
        return;
    }
    r.reject_unknown_keys(*d, "daemon", {"state_dir", "modules", "log_level", "coalesce", "api"});

    if (const auto* n = d->get("state_dir")) {
        if (auto t = r.string_value(*n, "daemon.state_dir", false)) {
            if (t->value.empty()) r.error(r.pos(*n), "daemon.state_dir", "is empty");
            else out.state_dir = r.resolve_path(t->value);
        }
    }
    if (const auto* n = d->get("modules")) {
        if (const auto* list = n->as_array()) {
            size_t i = 0;
            for (const auto& item : *list) {
                std::string path = "daemon.modules[" + std::to_string(i++) + "]";
                if (auto t = r.string_value(item, path, false)) {
                    if (t->value.empty()) r.error(r.pos(item), path, "is empty");
                    else out.module_dirs.push_back(r.resolve_path(t->value));
                }
            }
        } else {
            r.error(r.pos(*n), "daemon.modules", "expected a list of directories such as [\"modules\"], " + got(*n));
        }
    }
    if (const auto* n = d->get("log_level")) {
        if (auto t = r.string_value(*n, "daemon.log_level", false)) {
            if (is_log_level(t->value)) out.log_level = t->value;
            else r.error(r.pos(*n), "daemon.log_level",
                         "expected one of trace, debug, info, warn, error, got " + quote_text(t->shown) +
                             did_you_mean(t->value, log_levels()));
        }
    }
    if (const auto* n = d->get("coalesce")) {
        if (auto ms = r.duration_value(*n, "daemon.coalesce")) {
            if (*ms > 20) r.error(r.pos(*n), "daemon.coalesce", "expected between 0ms (off) and 20ms");
            else {
                out.coalesce_ms = *ms;
                out.coalesce_configured = true;
            }
        }
    }
    if (const auto* n = d->get("api")) read_api(r, *n, out);
}

} // namespace passerelle::kernel::config_detail
