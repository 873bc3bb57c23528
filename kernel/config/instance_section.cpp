// [instance.NAME] tables, validated against their module's key declarations
// and normalized into InstanceConfig::config_json.
#include "config/key_values.hpp"
#include "config/module_catalog.hpp"
#include "config/suggest.hpp"
#include "config/toml_reader.hpp"

#include <nlohmann/json.hpp>

#include <sstream>

namespace passerelle::kernel::config_detail {

namespace {

bool valid_instance_name(std::string_view n) {
    if (n.empty()) return false;
    for (char c : n)
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    return true;
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string scalar_text(const toml::node& n) {
    if (const auto* i = n.as_integer()) return std::to_string(i->get());
    if (const auto* b = n.as_boolean()) return b->get() ? "true" : "false";
    if (const auto* f = n.as_floating_point()) {
        std::ostringstream out;
        out << f->get();
        return out.str();
    }
    return {};
}

// Reads one instance's declared keys. One object per instance.
class InstanceReader {
public:
    InstanceReader(Reader& r, const toml::table& t, const ModuleSchema& schema, InstanceConfig& ic, std::string path)
        : r_(r), t_(t), schema_(schema), ic_(ic), path_(std::move(path)) {}

    void run() {
        reject_unknown_keys();
        auto cfg = nlohmann::json::object();
        for (const auto& decl : schema_.keys) {
            if (!decl.name) continue;
            if (auto v = read_key(decl)) {
                if (decl.flags & PL_KEY_SECRET) remember_secret(*v);
                cfg[decl.name] = std::move(*v);
            }
        }
        ic_.config_json = cfg.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }

private:
    const pl_key_decl* decl_named(std::string_view name) const {
        for (const auto& d : schema_.keys)
            if (d.name && name == d.name) return &d;
        return nullptr;
    }

    // `KEY_file` names the file form of KEY unless the module declares a key
    // with that exact name.
    const pl_key_decl* file_form_of(std::string_view key) const {
        if (!ends_with(key, "_file") || decl_named(key)) return nullptr;
        return decl_named(key.substr(0, key.size() - 5));
    }

    void reject_unknown_keys() {
        std::vector<std::string> candidates{"module", "log_level", "outbox", "outbox_max_events", "outbox_max_bytes",
                                            "retry_max"};
        for (const auto& d : schema_.keys) {
            if (!d.name) continue;
            candidates.emplace_back(d.name);
            candidates.push_back(std::string(d.name) + "_file");
        }
        for (auto&& [k, v] : t_) {
            std::string_view key = k.str();
            if (key == "module" || key == "log_level" || key == "outbox" || key == "outbox_max_events" ||
                key == "outbox_max_bytes" || key == "retry_max" || decl_named(key) || file_form_of(key))
                continue;
            r_.error(r_.pos(k), join_path(path_, key),
                     "unknown key for module \"" + schema_.name + "\"" + did_you_mean(key, candidates));
        }
    }

    std::optional<nlohmann::json> read_key(const pl_key_decl& decl) {
        const std::string name = decl.name;
        const std::string key_path = join_path(path_, name);
        const toml::node* direct = t_.get(name);
        const toml::node* file = decl_named(name + "_file") ? nullptr : t_.get(name + "_file");
        if (direct && file) {
            r_.error(r_.pos(*file), key_path + "_file", "give either " + name + " or " + name + "_file, not both");
            return std::nullopt;
        }
        if (direct) {
            ic_.key_pos[name] = r_.pos(*direct);
            return from_node(decl, *direct, key_path);
        }
        if (file) {
            ic_.key_pos[name] = r_.pos(*file);
            return from_file(decl, *file, key_path + "_file");
        }
        if (decl.default_value) {
            auto v = key_value_from_text(decl.type, decl.default_value);
            if (v && decl.type == PL_KEY_PATH) v = nlohmann::json(r_.resolve_path(v->get<std::string>()));
            if (!v)
                r_.error(ic_.pos, key_path,
                         "module \"" + schema_.name + "\" declares a default that is not " +
                             key_type_expectation(decl.type) + ": " + quote_text(decl.default_value));
            return v;
        }
        if (decl.flags & PL_KEY_REQUIRED)
            r_.error(ic_.pos, key_path,
                     "missing required key (module \"" + schema_.name + "\"; or " + name + "_file to read it from a file)");
        return std::nullopt;
    }

    void fail(const toml::node& n, const std::string& key_path, int32_t type, const std::string& got_text,
              const std::string& hint = {}) {
        r_.error(r_.pos(n), key_path, std::string("expected ") + key_type_expectation(type) + ", " + got_text + hint);
    }

    std::string got_string(const Text& t, bool secret) const {
        return secret ? std::string("got a string (not shown: secret key)") : "got " + quote_text(t.shown);
    }

    std::optional<nlohmann::json> from_node(const pl_key_decl& decl, const toml::node& n, const std::string& key_path) {
        const bool secret = decl.flags & PL_KEY_SECRET;
        const int32_t type = decl.type;
        if (n.is_string()) {
            auto t = r_.string_value(n, key_path, secret);
            if (!t) return std::nullopt;
            remember_pieces(t->pieces);
            if (type == PL_KEY_STRING) return nlohmann::json(t->value);
            if (type == PL_KEY_PATH) return nlohmann::json(r_.resolve_path(t->value));
            // Durations and sizes are written as strings; other types only
            // when the string comes from the environment.
            if (type == PL_KEY_DURATION || type == PL_KEY_SIZE || t->substituted) {
                if (auto v = key_value_from_text(type, t->value)) return v;
                fail(n, key_path, type, got_string(*t, secret));
                return std::nullopt;
            }
            // `retries = "3"`, `verify_tls = "true"`: valid TOML without the quotes.
            bool unquoted_would_do =
                ((type == PL_KEY_INT || type == PL_KEY_FLOAT) && key_value_from_text(type, t->value).has_value()) ||
                (type == PL_KEY_BOOL && (t->value == "true" || t->value == "false"));
            fail(n, key_path, type, got_string(*t, secret), unquoted_would_do ? " (write it without quotes)" : "");
            return std::nullopt;
        }
        if (const auto* i = n.as_integer()) {
            int64_t v = i->get();
            switch (type) {
            case PL_KEY_INT: return nlohmann::json(v);
            case PL_KEY_FLOAT: return nlohmann::json(static_cast<double>(v));
            case PL_KEY_DURATION:
                if (auto ms = r_.duration_value(n, key_path)) return nlohmann::json(*ms);
                return std::nullopt;
            case PL_KEY_SIZE:
                if (v >= 0) return nlohmann::json(v);
                fail(n, key_path, type, "got " + std::to_string(v));
                return std::nullopt;
            case PL_KEY_STRING:
                fail(n, key_path, type, got(n), secret ? "" : " (write it in quotes: \"" + std::to_string(v) + "\")");
                return std::nullopt;
            default: fail(n, key_path, type, got(n)); return std::nullopt;
            }
        }
        if (const auto* f = n.as_floating_point()) {
            if (type == PL_KEY_FLOAT) return nlohmann::json(f->get());
            if (type == PL_KEY_DURATION) {
                if (auto ms = r_.duration_value(n, key_path)) return nlohmann::json(*ms);
                return std::nullopt;
            }
            fail(n, key_path, type, got(n));
            return std::nullopt;
        }
        if (const auto* b = n.as_boolean()) {
            if (type == PL_KEY_BOOL) return nlohmann::json(b->get());
            fail(n, key_path, type, got(n),
                 type == PL_KEY_STRING && !secret ? std::string(" (write it in quotes: \"") + (b->get() ? "true" : "false") + "\")" : "");
            return std::nullopt;
        }
        if (const auto* list = n.as_array()) {
            if (type != PL_KEY_STRING_LIST) {
                fail(n, key_path, type, got(n));
                return std::nullopt;
            }
            auto out = nlohmann::json::array();
            bool ok = true;
            size_t idx = 0;
            for (const auto& item : *list) {
                std::string item_path = key_path + "[" + std::to_string(idx++) + "]";
                auto t = r_.string_value(item, item_path, secret);
                if (!t) {
                    ok = false;
                    continue;
                }
                remember_pieces(t->pieces);
                out.push_back(std::move(t->value));
            }
            if (!ok) return std::nullopt;
            return out;
        }
        if (const auto* table = n.as_table()) {
            if (type != PL_KEY_TABLE) {
                fail(n, key_path, type, got(n));
                return std::nullopt;
            }
            auto out = nlohmann::json::object();
            bool ok = true;
            for (auto&& [k, v] : *table) {
                std::string item_path = join_path(key_path, k.str());
                if (v.is_string()) {
                    auto t = r_.string_value(v, item_path, secret);
                    if (!t) {
                        ok = false;
                        continue;
                    }
                    remember_pieces(t->pieces);
                    out[std::string(k.str())] = std::move(t->value);
                } else if (v.is_integer() || v.is_floating_point() || v.is_boolean()) {
                    out[std::string(k.str())] = scalar_text(v);
                } else {
                    r_.error(r_.pos(v), item_path, "expected a string, " + got(v));
                    ok = false;
                }
            }
            if (!ok) return std::nullopt;
            return out;
        }
        fail(n, key_path, type, got(n));
        return std::nullopt;
    }

    std::optional<nlohmann::json> from_file(const pl_key_decl& decl, const toml::node& n, const std::string& key_path) {
        auto t = r_.string_value(n, key_path, false);
        if (!t) return std::nullopt;
        if (decl.type == PL_KEY_TABLE) {
            r_.error(r_.pos(n), key_path, "a table cannot be read from a file");
            return std::nullopt;
        }
        const std::string path = r_.resolve_path(t->value);
        std::string err;
        auto content = read_secret_file(path, err);
        if (!content) {
            r_.error(r_.pos(n), key_path, err);
            return std::nullopt;
        }
        if (!is_valid_utf8(*content)) {
            r_.error(r_.pos(n), key_path, quote_text(path) + " is not valid UTF-8 text");
            return std::nullopt;
        }
        // What the operator keeps out of the config file is masked in logs.
        add_secret(*content);
        auto v = key_value_from_text(decl.type, *content);
        if (!v) fail(n, key_path, decl.type, "got the content of " + quote_text(path) + " (not shown)");
        return v;
    }

    void remember_pieces(const std::vector<std::string>& pieces) {
        for (const auto& p : pieces) add_secret(p);
    }

    void remember_secret(const nlohmann::json& v) {
        if (v.is_string()) add_secret(v.get<std::string>());
        else if (v.is_array() || v.is_object())
            for (const auto& item : v) remember_secret(item);
    }

    void add_secret(const std::string& s) {
        if (s.empty()) return;
        for (const auto& known : ic_.secret_values)
            if (known == s) return;
        ic_.secret_values.push_back(s);
    }

    Reader& r_;
    const toml::table& t_;
    const ModuleSchema& schema_;
    InstanceConfig& ic_;
    std::string path_;
};

} // namespace

void read_instances(Reader& r, const toml::table& root, const SchemaLookup& schemas, std::vector<InstanceConfig>& out) {
    const toml::node* node = root.get("instance");
    if (!node) return;
    const auto* instances = node->as_table();
    if (!instances) {
        r.error(r.pos(*node), "instance", "expected tables such as [instance.NAME], " + got(*node));
        return;
    }
    const std::vector<std::string> known = known_module_names(schemas);
    for (auto&& [k, v] : *instances) {
        const std::string name(k.str());
        const std::string path = join_path("instance", name);
        if (!valid_instance_name(name)) {
            r.error(r.pos(k), path, "an instance name is made of letters, digits, '_' and '-'");
            continue;
        }
        const auto* t = v.as_table();
        if (!t) {
            r.error(r.pos(v), path, "expected a table such as [instance." + name + "], " + got(v));
            continue;
        }
        InstanceConfig ic;
        ic.name = name;
        ic.pos = r.pos(v);
        ic.config_json = "{}";

        if (const auto* ll = t->get("log_level")) {
            if (auto level = r.string_value(*ll, path + ".log_level", false)) {
                if (is_log_level(level->value)) ic.log_level = level->value;
                else r.error(r.pos(*ll), path + ".log_level",
                             "expected one of trace, debug, info, warn, error, got " + quote_text(level->shown) +
                                 did_you_mean(level->value, log_levels()));
            }
        }

        // Kernel keys of any instance used as a sink: durable outbox or memory queue, its bounds.
        if (const auto* n = t->get("outbox")) {
            if (const auto* b = n->as_boolean()) ic.outbox = b->get();
            else r.error(r.pos(*n), path + ".outbox", "expected true (durable outbox, the default) or false (memory queue), " + got(*n));
        }
        if (const auto* n = t->get("outbox_max_events")) {
            const auto* i = n->as_integer();
            if (i && i->get() > 0) ic.outbox_max_events = static_cast<uint64_t>(i->get());
            else r.error(r.pos(*n), path + ".outbox_max_events", "expected a number of events above 0, " + got(*n));
        }
        if (const auto* n = t->get("outbox_max_bytes")) {
            std::optional<nlohmann::json> v;
            if (const auto* i = n->as_integer()) v = key_value_from_text(PL_KEY_SIZE, std::to_string(i->get()));
            else if (const auto* s = n->as_string()) v = key_value_from_text(PL_KEY_SIZE, s->get());
            if (v && v->is_number_integer() && v->get<int64_t>() > 0) ic.outbox_max_bytes = v->get<uint64_t>();
            else r.error(r.pos(*n), path + ".outbox_max_bytes", "expected a size above 0 such as \"64MiB\", " + got(*n));
        }

        if (const auto* n = t->get("retry_max")) {
            // The cap of the transient-failure backoff: a box that comes back after an
            // outage is tried again within this much time.
            std::optional<nlohmann::json> v;
            if (const auto* s = n->as_string()) v = key_value_from_text(PL_KEY_DURATION, s->get());
            constexpr int64_t kDay = 24 * 3600 * 1000;
            if (v && v->is_number_integer() && v->get<int64_t>() >= 100 && v->get<int64_t>() <= kDay)
                ic.retry_max_ms = v->get<int64_t>();
            else
                r.error(r.pos(*n), path + ".retry_max", "expected a duration between 100ms and 1d such as \"5m\", " + got(*n));
        }

        const toml::node* module = t->get("module");
        const ModuleSchema* schema = nullptr;
        if (!module) {
            r.error(ic.pos, path + ".module", "missing required key: every instance names its module (module = \"...\")");
        } else if (const auto* m = module->as_string()) {
            ic.module = m->get();
            ic.key_pos["module"] = r.pos(*module);
            schema = schemas ? schemas(ic.module) : nullptr;
            if (!schema) {
                std::string msg = "unknown module " + quote_text(ic.module) + did_you_mean(ic.module, known);
                if (!known.empty()) {
                    msg += "; known modules:";
                    for (size_t i = 0; i < known.size(); ++i) msg += (i ? ", " : " ") + known[i];
                }
                r.error(r.pos(*module), path + ".module", msg);
            }
        } else {
            r.error(r.pos(*module), path + ".module", "expected a module name (a string), " + got(*module));
        }
        // Without a schema the other keys cannot be checked; the instance is
        // still listed so that routes naming it do not add confusing errors.
        if (schema) InstanceReader(r, *t, *schema, ic, path).run();
        out.push_back(std::move(ic));
    }
}

} // namespace passerelle::kernel::config_detail
