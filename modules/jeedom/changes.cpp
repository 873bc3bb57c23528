#include "changes.hpp"

#include <passerelle/utf8.hpp>

#include <cmath>
#include <cstdlib>

namespace passerelle::jeedom {

namespace {

constexpr size_t max_text = 1024; // one attribute; Jeedom values are short, a 1 MB one is hostile

// Jeedom writes numbers as JSON numbers or as strings depending on the version.
std::optional<double> number(const nlohmann::json& v) {
    if (v.is_number()) {
        double d = v.get<double>();
        if (std::isfinite(d)) return d;
        return std::nullopt;
    }
    if (v.is_string()) {
        const std::string& s = v.get_ref<const std::string&>();
        if (s.empty() || s.size() > 40) return std::nullopt;
        char* end = nullptr;
        double d = std::strtod(s.c_str(), &end);
        if (end == s.c_str() + s.size() && std::isfinite(d)) return d;
    }
    return std::nullopt;
}

std::string text(const nlohmann::json& obj, const char* field) {
    auto it = obj.find(field);
    if (it == obj.end() || it->is_null()) return {};
    std::string s;
    if (it->is_string()) s = it->get<std::string>();
    else if (it->is_boolean()) s = it->get<bool>() ? "1" : "0";
    else s = it->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (s.size() > max_text) s.resize(max_text);
    return repair_utf8(s);
}

// A plausible epoch time in seconds: after 2001, before 5138.
bool plausible(double t) { return t > 1e9 && t < 1e11; }

} // namespace

ChangesBatch parse_changes(const nlohmann::json& result, double since, const ListenFilter& filter,
                           size_t max_changes) {
    ChangesBatch out;
    if (!result.is_object()) {
        out.error = "event::changes result is not an object";
        return out;
    }
    auto dt = result.find("datetime");
    auto cursor = dt == result.end() ? std::nullopt : number(*dt);
    if (!cursor || !plausible(*cursor)) {
        out.error = "event::changes result has no usable datetime";
        return out;
    }
    auto list = result.find("result");
    if (list == result.end() || !(list->is_array() || list->is_null())) {
        out.error = "event::changes result has no result list";
        return out;
    }
    out.valid = true;
    out.cursor = *cursor;
    if (list->is_null()) return out;
    for (const auto& entry : *list) {
        if (!entry.is_object()) {
            ++out.skipped, ++out.malformed;
            continue;
        }
        auto name = entry.find("name");
        if (name == entry.end() || !name->is_string() || name->get_ref<const std::string&>() != "cmd::update") {
            ++out.skipped; // eqLogic::update, scenario::update, jeeObject::summary::update, notify...
            continue;
        }
        auto option = entry.find("option");
        if (option == entry.end() || !option->is_object()) {
            ++out.skipped, ++out.malformed;
            continue;
        }
        CommandChange c;
        c.cmd_id = text(*option, "cmd_id");
        if (c.cmd_id.empty() || c.cmd_id.size() > 32) {
            ++out.skipped, ++out.malformed;
            continue;
        }
        auto when = entry.find("datetime");
        if (when != entry.end()) {
            if (auto t = number(*when); t && plausible(*t)) c.datetime = *t;
        }
        if (c.datetime != 0 && c.datetime <= since) {
            ++out.skipped; // already seen
            continue;
        }
        if (!filter.wants(c.cmd_id)) {
            ++out.skipped;
            continue;
        }
        if (out.changes.size() >= max_changes) {
            ++out.skipped;
            continue;
        }
        c.value = text(*option, "value");
        c.display_value = text(*option, "display_value");
        c.unit = text(*option, "unit");
        c.value_date = text(*option, "valueDate");
        c.collect_date = text(*option, "collectDate");
        out.changes.push_back(std::move(c));
    }
    return out;
}

Event change_to_event(const CommandChange& c, std::string_view source, int64_t now_ns) {
    Event e;
    e.source = std::string(source);
    e.module = "jeedom";
    e.type = "command";
    e.code = "cmd::update";
    e.state = State::pulse;
    // Jeedom's clock in epoch seconds; a value nanoseconds cannot hold (after
    // 2255, or garbage) is no time at all: the receive time stands in.
    constexpr double kMaxEpochSeconds = 9e9;
    e.time_ns = c.datetime > 0 && c.datetime < kMaxEpochSeconds
                    ? static_cast<int64_t>(std::llround(c.datetime * 1e6)) * 1000
                    : now_ns;
    e.attrs["cmd_id"] = c.cmd_id;
    e.attrs["value"] = c.value;
    if (!c.display_value.empty() && c.display_value != c.value) e.attrs["display_value"] = c.display_value;
    if (!c.unit.empty()) e.attrs["unit"] = c.unit;
    if (!c.value_date.empty()) e.attrs["value_date"] = c.value_date;
    if (!c.collect_date.empty()) e.attrs["collect_date"] = c.collect_date;
    return e;
}

nlohmann::json changes_params(double since, int64_t long_poll_s) {
    nlohmann::json p{{"datetime", since}};
    if (long_poll_s > 0) p["longPolling"] = long_poll_s;
    return p;
}

} // namespace passerelle::jeedom
