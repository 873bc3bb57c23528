// Auto mode's names: one Virtuel equipment per source, one binary info
// command per (channel, type or vendor code, region, target), named the way
// the Jeedom "Hikvision Event" plugin named them ("Chan 1 regionEntrance
// Region 1 human"), plus "Heartbeat" and "Last alarm" per source. The
// logicalId is what passerelle finds its own objects by after a restart or
// after the user renamed them. Pure.
#pragma once

#include <passerelle/event.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace passerelle::jeedom {

enum class NameBy { code, type }; // the vendor code (the seed plugin) or the normalized type

struct CommandSpec {
    std::string logical_id;
    std::string name;
    std::string sub_type; // "binary" or "string"
};

// "passerelle::<source>"
std::string equipment_logical_id(std::string_view source);

// The alarm command an event updates. `Chan <channel> <code> Region <region> <target>`,
// leaving out the parts the event does not have (channel 0, no region, no target).
CommandSpec alarm_command(const Event& e, NameBy by);
CommandSpec heartbeat_command();
CommandSpec last_alarm_command();

// 1 on start and pulse, 0 on stop.
int alarm_value(State s);

// Jeedom refuses some characters in names and caps their length: keep the rest.
std::string sanitize_name(std::string_view name);

} // namespace passerelle::jeedom
