#include "topics.hpp"

#include <passerelle/utf8.hpp>

namespace mqtt {

std::string safe_level(std::string_view raw) {
    std::string s = passerelle::is_valid_utf8(raw) ? std::string(raw) : passerelle::repair_utf8(raw);
    if (s.size() > 128) {
        size_t cut = 128;
        while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut; // keep UTF-8 whole
        s.resize(cut);
    }
    for (char& c : s) {
        unsigned char u = static_cast<unsigned char>(c);
        if (c == '/' || c == '+' || c == '#' || u < 0x20 || u == 0x7F) c = '_';
    }
    if (s.empty()) s.assign(1, '_'); // not s = "_": a GCC 12 -Wrestrict false positive
    return s;
}

std::string event_topic(std::string_view prefix, const passerelle::Event& e) {
    std::string t(prefix);
    t += '/';
    t += safe_level(e.source);
    t += '/';
    t += safe_level(e.type);
    if (e.channel > 0) {
        t += '/';
        t += std::to_string(e.channel);
    }
    return t;
}

std::string state_topic(std::string_view prefix, const passerelle::Event& e) {
    std::string t = event_topic(prefix, e);
    if (auto it = e.attrs.find("region"); it != e.attrs.end() && !it->second.empty()) t += "/region-" + safe_level(it->second);
    if (auto it = e.attrs.find("target"); it != e.attrs.end() && !it->second.empty()) t += "/target-" + safe_level(it->second);
    return t + "/state";
}

std::string health_topic(std::string_view prefix, std::string_view source) {
    return std::string(prefix) + "/" + safe_level(source) + "/device/health";
}

std::string status_topic(std::string_view prefix, std::string_view daemon) {
    return std::string(prefix) + "/" + safe_level(daemon) + "/status";
}

std::string command_filter(std::string_view prefix) { return std::string(prefix) + "/cmd/+/+"; }

std::optional<CommandTopic> parse_command_topic(std::string_view prefix, std::string_view topic) {
    const std::string head = std::string(prefix) + "/cmd/";
    if (topic.size() <= head.size() || topic.substr(0, head.size()) != head) return std::nullopt;
    std::string_view rest = topic.substr(head.size());
    size_t slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0) return std::nullopt;
    std::string_view instance = rest.substr(0, slash);
    std::string_view action = rest.substr(slash + 1);
    if (action.empty() || action.find('/') != std::string_view::npos) return std::nullopt;
    return CommandTopic{std::string(instance), std::string(action)};
}

bool is_stateless(const passerelle::Event& e) { return e.state == passerelle::State::pulse; }

} // namespace mqtt
