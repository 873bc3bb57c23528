// [[route]] blocks: match fields (globs), target instance and action, params
// templates, throttle/debounce/max_age.
#include "config/suggest.hpp"
#include "config/toml_reader.hpp"
#include "router/router.hpp"

#include <nlohmann/json.hpp>

namespace passerelle::kernel::config_detail {

namespace {

const std::vector<std::string> route_keys{"when", "to", "action", "params", "throttle", "debounce", "max_age", "final"};
const std::vector<std::string> when_fields{"source", "module", "type", "code", "channel", "state", "attrs"};

bool has_glob_chars(std::string_view s) { return s.find_first_of("*?[\\") != std::string_view::npos; }

class RouteReader {
public:
    RouteReader(Reader& r, const std::vector<InstanceConfig>& instances, const SchemaLookup& schemas)
        : r_(r), instances_(instances), schemas_(schemas) {
        for (const auto& i : instances_) instance_names_.push_back(i.name);
    }

    void read(const toml::table& t, RouteConfig& rc, const std::string& path) {
        r_.reject_unknown_keys(t, path, route_keys);
        if (const auto* n = t.get("when")) read_when(*n, rc, path + ".when");
        const InstanceConfig* target = nullptr;
        if (const auto* n = t.get("to")) {
            if (const auto* s = n->as_string()) {
                rc.to = s->get();
                for (const auto& i : instances_)
                    if (i.name == rc.to) target = &i;
                if (!target)
                    r_.error(r_.pos(*n), path + ".to",
                             "no instance named " + quote_text(rc.to) + did_you_mean(rc.to, instance_names_));
            } else {
                r_.error(r_.pos(*n), path + ".to", "expected an instance name (a string), " + got(*n));
            }
        } else {
            r_.error(r_.pos(t), path + ".to", "missing required key: the instance this route delivers to");
        }
        if (const auto* n = t.get("action")) {
            if (const auto* s = n->as_string()) {
                rc.action = s->get();
                check_action(*n, rc.action, target, path + ".action");
            } else {
                r_.error(r_.pos(*n), path + ".action", "expected an action name (a string), " + got(*n));
            }
        }
        rc.params_json = "{}";
        if (const auto* n = t.get("params")) {
            if (n->is_table()) {
                auto params = to_json(*n, path + ".params");
                rc.params_json = params.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
            } else {
                r_.error(r_.pos(*n), path + ".params", "expected a table such as { id = \"12\" }, " + got(*n));
            }
        }
        if (const auto* n = t.get("throttle")) rc.throttle_ms = r_.duration_value(*n, path + ".throttle").value_or(0);
        if (const auto* n = t.get("debounce")) rc.debounce_ms = r_.duration_value(*n, path + ".debounce").value_or(0);
        if (const auto* n = t.get("max_age")) rc.max_age_ms = r_.duration_value(*n, path + ".max_age").value_or(0);
        if (const auto* n = t.get("final")) {
            if (const auto* b = n->as_boolean()) rc.final = b->get();
            else r_.error(r_.pos(*n), path + ".final", "expected true or false, " + got(*n));
        }
    }

private:
    void check_action(const toml::node& n, const std::string& action, const InstanceConfig* target,
                      const std::string& path) {
        if (!target || action == "deliver") return; // "deliver" is what an absent action means
        const ModuleSchema* schema = schemas_ && !target->module.empty() ? schemas_(target->module) : nullptr;
        if (!schema) return; // the unknown module is reported on the instance
        for (const auto& a : schema->actions)
            if (a == action) return;
        std::string msg = "module " + quote_text(schema->name) + " (instance " + quote_text(target->name) +
                          ") has no action " + quote_text(action) + did_you_mean(action, schema->actions);
        if (schema->actions.empty()) msg += "; it declares no action";
        else {
            msg += "; its actions:";
            for (size_t i = 0; i < schema->actions.size(); ++i) msg += (i ? ", " : " ") + schema->actions[i];
        }
        r_.error(r_.pos(n), path, msg);
    }

    void read_when(const toml::node& n, RouteConfig& rc, const std::string& path) {
        const auto* when = n.as_table();
        if (!when) {
            r_.error(r_.pos(n), path, "expected a table such as { source = \"cam\", type = \"motion\" }, " + got(n));
            return;
        }
        for (auto&& [k, v] : *when) {
            std::string_view key = k.str();
            if (key == "attrs") {
                read_attrs(v, join_path(path, key), "attrs", rc);
            } else if (key.substr(0, 6) == "attrs." && key.size() > 6) { // "attrs.target" = ... (quoted key)
                read_alternatives(v, join_path(path, key), std::string(key), rc);
            } else if (key == "source" || key == "module" || key == "type" || key == "code" || key == "channel" ||
                       key == "state") {
                read_alternatives(v, join_path(path, key), std::string(key), rc);
            } else {
                r_.error(r_.pos(k), join_path(path, key), "unknown match field" + did_you_mean(key, when_fields));
            }
        }
    }

    // attrs = { target = "human" } or attrs.target = "human": flattened to "attrs.target".
    void read_attrs(const toml::node& n, const std::string& path, const std::string& field, RouteConfig& rc) {
        const auto* t = n.as_table();
        if (!t) {
            r_.error(r_.pos(n), path, "expected a table such as attrs.target = \"human\", " + got(n));
            return;
        }
        for (auto&& [k, v] : *t) {
            std::string sub = field + "." + std::string(k.str());
            if (v.is_table()) read_attrs(v, join_path(path, k.str()), sub, rc);
            else read_alternatives(v, join_path(path, k.str()), sub, rc);
        }
    }

    // A string or a list of strings, each a glob (channel may also be an integer).
    void read_alternatives(const toml::node& n, const std::string& path, const std::string& field, RouteConfig& rc) {
        std::vector<std::string> values;
        bool ok = true;
        auto one = [&](const toml::node& item, const std::string& item_path) {
            if (field == "channel") {
                if (const auto* i = item.as_integer()) {
                    if (i->get() < 0) {
                        r_.error(r_.pos(item), item_path, "expected a channel number >= 0, got " + std::to_string(i->get()));
                        ok = false;
                    } else {
                        values.push_back(std::to_string(i->get()));
                    }
                    return;
                }
            }
            const auto* s = item.as_string();
            if (!s) {
                r_.error(r_.pos(item), item_path,
                         std::string(field == "channel" ? "expected a channel number or a glob, " : "expected a string (a glob), ") +
                             got(item));
                ok = false;
                return;
            }
            const std::string& text = s->get();
            std::string err;
            if (!validate_glob(text, err)) {
                r_.error(r_.pos(item), item_path, "bad glob " + quote_text(text) + ": " + err);
                ok = false;
                return;
            }
            if (field == "state" && text != "start" && text != "stop" && text != "pulse" && !has_glob_chars(text)) {
                r_.error(r_.pos(item), item_path,
                         "expected start, stop or pulse, got " + quote_text(text) +
                             did_you_mean(text, {"start", "stop", "pulse"}));
                ok = false;
                return;
            }
            if (field == "source" && !has_glob_chars(text)) {
                bool found = false;
                for (const auto& name : instance_names_) found = found || name == text;
                if (!found) {
                    // A typo here would make the route silently never match.
                    r_.error(r_.pos(item), item_path,
                             "no instance named " + quote_text(text) + did_you_mean(text, instance_names_));
                    ok = false;
                    return;
                }
            }
            values.push_back(text);
        };
        if (const auto* list = n.as_array()) {
            if (list->empty()) {
                r_.error(r_.pos(n), path, "an empty list matches nothing; leave the field out to match anything");
                return;
            }
            size_t i = 0;
            for (const auto& item : *list) one(item, path + "[" + std::to_string(i++) + "]");
        } else {
            one(n, path);
        }
        if (ok) rc.when[field] = std::move(values);
    }

    // Params: any TOML value; strings are templates.
    nlohmann::json to_json(const toml::node& n, const std::string& path) {
        if (const auto* t = n.as_table()) {
            auto out = nlohmann::json::object();
            for (auto&& [k, v] : *t) out[std::string(k.str())] = to_json(v, join_path(path, k.str()));
            return out;
        }
        if (const auto* a = n.as_array()) {
            auto out = nlohmann::json::array();
            size_t i = 0;
            for (const auto& v : *a) out.push_back(to_json(v, path + "[" + std::to_string(i++) + "]"));
            return out;
        }
        if (const auto* s = n.as_string()) {
            std::string err;
            if (!validate_template(s->get(), err))
                r_.error(r_.pos(n), path, "bad template " + quote_text(s->get()) + ": " + err);
            return s->get();
        }
        if (const auto* i = n.as_integer()) return i->get();
        if (const auto* f = n.as_floating_point()) return f->get();
        if (const auto* b = n.as_boolean()) return b->get();
        r_.error(r_.pos(n), path, "expected a string, a number, a boolean, a list or a table, " + got(n));
        return nullptr;
    }

    Reader& r_;
    const std::vector<InstanceConfig>& instances_;
    const SchemaLookup& schemas_;
    std::vector<std::string> instance_names_;
};

} // namespace

void read_routes(Reader& r, const toml::table& root, const std::vector<InstanceConfig>& instances,
                 const SchemaLookup& schemas, std::vector<RouteConfig>& out) {
    const toml::node* node = root.get("route");
    if (!node) return;
    const auto* routes = node->as_array();
    if (!routes) {
        r.error(r.pos(*node), "route", "expected [[route]] blocks (a list of tables), " + got(*node));
        return;
    }
    RouteReader reader(r, instances, schemas);
    size_t index = 0;
    for (const auto& item : *routes) {
        const std::string path = "route[" + std::to_string(index) + "]";
        RouteConfig rc;
        rc.index = index++;
        rc.pos = r.pos(item);
        if (const auto* t = item.as_table()) reader.read(*t, rc, path);
        else r.error(r.pos(item), path, "expected a table ([[route]]), " + got(item));
        out.push_back(std::move(rc));
    }
}

} // namespace passerelle::kernel::config_detail
