// A canonical text of a decode result, to compare two decoders (and to show
// the difference when they disagree).
#pragma once

#include "notification.hpp"

#include <string>

namespace hiktest {

inline std::string decoded_text(const passerelle::hikvision::Decoded& d) {
    if (!d.error.empty()) return "error\n";
    std::string s;
    for (const auto& n : d.notifications) {
        const auto& e = n.event;
        s += "module=" + e.module + " type=" + e.type + " code=" + e.code + " channel=" + std::to_string(e.channel) +
             " state=" + std::string(passerelle::to_string(e.state)) + " time_ns=" + std::to_string(e.time_ns) +
             " activity=" + std::to_string(static_cast<int>(n.activity)) + " heartbeat=" + (n.heartbeat ? "1" : "0") +
             " pictures=" + std::to_string(n.pictures_expected) + "\n";
        for (const auto& [k, v] : e.attrs) s += "  " + k + "=" + v + "\n";
    }
    return s;
}

} // namespace hiktest
