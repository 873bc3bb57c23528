// Topic names: pure functions from an event (or a name) to MQTT topics, and
// the parsing of command topics. Every level built from device data is made
// safe first (no '/', '+', '#', NUL or invalid UTF-8 can reach a topic).
#pragma once

#include <passerelle/event.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace mqtt {

// One topic level from arbitrary bytes: UTF-8 repaired, '/', '+', '#' and
// control characters replaced by '_', at most 128 bytes, "_" when empty.
std::string safe_level(std::string_view raw);

// <prefix>/<source>/<type>[/<channel>]: the event JSON, not retained.
std::string event_topic(std::string_view prefix, const passerelle::Event& e);

// The retained ON/OFF topic of one (source, type, channel, region, target)
// combination: event_topic [+ /region-<r>] [+ /target-<t>] + /state.
std::string state_topic(std::string_view prefix, const passerelle::Event& e);

// <prefix>/<source>/device/health: the retained health word of an instance.
std::string health_topic(std::string_view prefix, std::string_view source);

// <prefix>/<daemon>/status: "online" (retained) while connected, the last will "offline".
std::string status_topic(std::string_view prefix, std::string_view daemon);

// <prefix>/cmd/+/+ : what the module subscribes to for commands.
std::string command_filter(std::string_view prefix);

struct CommandTopic {
    std::string instance;
    std::string action;
};
// <prefix>/cmd/<instance>/<action> -> {instance, action}; anything else (a
// result topic, an empty level, another prefix) -> nullopt.
std::optional<CommandTopic> parse_command_topic(std::string_view prefix, std::string_view topic);

// True for a pulse-like event that has no ON/OFF state (state pulse).
bool is_stateless(const passerelle::Event& e);

} // namespace mqtt
