#include "auto_mapping.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <iterator>
#include <system_error>

namespace passerelle::jeedom {

void AutoMapping::load() {
    sources_.clear();
    if (file_.empty()) return;
    std::ifstream in(file_);
    if (!in) return;
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object() || j.value("url", std::string()) != box_) return;
    auto eqs = j.find("equipments");
    if (eqs == j.end() || !eqs->is_object()) return;
    for (auto it = eqs->begin(); it != eqs->end(); ++it) {
        const auto& e = it.value();
        if (!e.is_object() || !e.contains("id") || !e["id"].is_number_integer()) continue;
        Source s;
        s.equipment = e["id"].get<int64_t>();
        if (auto c = e.find("commands"); c != e.end() && c->is_object())
            for (auto ci = c->begin(); ci != c->end(); ++ci)
                if (ci.value().is_number_integer()) s.commands[ci.key()] = ci.value().get<int64_t>();
        sources_[it.key()] = std::move(s);
    }
}

bool AutoMapping::save(std::string& error) const {
    if (file_.empty()) return true;
    nlohmann::json eqs = nlohmann::json::object();
    for (const auto& [name, s] : sources_) {
        if (s.equipment == 0) continue;
        eqs[name] = {{"id", s.equipment}, {"commands", s.commands}};
    }
    nlohmann::json j{{"url", box_}, {"equipments", std::move(eqs)}};
    const std::filesystem::path tmp = file_.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << j.dump(1) << "\n";
        out.flush();
        if (!out) {
            error = "cannot write " + tmp.string();
            return false;
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, file_, ec);
    if (ec) {
        error = "cannot rename " + tmp.string() + ": " + ec.message();
        return false;
    }
    return true;
}

std::optional<int64_t> AutoMapping::equipment(const std::string& source) const {
    auto it = sources_.find(source);
    if (it == sources_.end() || it->second.equipment == 0) return std::nullopt;
    return it->second.equipment;
}

std::optional<int64_t> AutoMapping::command(const std::string& source, const std::string& logical_id) const {
    auto it = sources_.find(source);
    if (it == sources_.end()) return std::nullopt;
    auto c = it->second.commands.find(logical_id);
    if (c == it->second.commands.end()) return std::nullopt;
    return c->second;
}

bool AutoMapping::commands_listed(const std::string& source) const {
    auto it = sources_.find(source);
    return it != sources_.end() && it->second.listed;
}

void AutoMapping::set_equipment(const std::string& source, int64_t id) { sources_[source].equipment = id; }
void AutoMapping::set_command(const std::string& source, const std::string& logical_id, int64_t id) {
    sources_[source].commands[logical_id] = id;
}
void AutoMapping::set_commands_listed(const std::string& source) { sources_[source].listed = true; }
void AutoMapping::forget(const std::string& source) { sources_.erase(source); }

} // namespace passerelle::jeedom
