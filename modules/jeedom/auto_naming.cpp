#include "auto_naming.hpp"

#include <passerelle/utf8.hpp>

namespace passerelle::jeedom {

std::string equipment_logical_id(std::string_view source) { return "passerelle::" + std::string(source); }

std::string sanitize_name(std::string_view name) {
    std::string out;
    for (char c : repair_utf8(name)) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || c == '#' || c == '"' || c == '\'' || c == '\\' || c == '<' || c == '>') out.push_back(' ');
        else out.push_back(c);
    }
    // 127 bytes, cut on a UTF-8 character boundary.
    if (out.size() > 127) {
        size_t cut = 127;
        while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
        out.resize(cut);
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

CommandSpec alarm_command(const Event& e, NameBy by) {
    const std::string what = by == NameBy::code && !e.code.empty() ? e.code : e.type;
    const std::string_view region = e.attr("region");
    const std::string_view target = e.attr("target");
    std::string name;
    if (e.channel != 0) {
        name = "Chan ";
        name += std::to_string(e.channel);
        name += ' ';
    }
    name += what;
    if (!region.empty()) {
        name += " Region ";
        name += region;
    }
    if (!target.empty()) {
        name += ' ';
        name += target;
    }
    CommandSpec spec;
    spec.name = sanitize_name(name);
    spec.logical_id = "alarm:" + std::to_string(e.channel) + ":" + what + ":" + std::string(region) + ":" +
                      std::string(target);
    spec.sub_type = "binary";
    return spec;
}

CommandSpec heartbeat_command() { return {"heartbeat", "Heartbeat", "binary"}; }
CommandSpec last_alarm_command() { return {"last_alarm", "Last alarm", "string"}; }

int alarm_value(State s) { return s == State::stop ? 0 : 1; }

} // namespace passerelle::jeedom
