// Home Assistant MQTT discovery: which entity an event stands for and its
// retained config message. Pure: an event in, a topic and a JSON text out.
//
// One entity per (source, channel, type, region, target) combination:
//   start/stop events -> binary_sensor on the combination's retained ON/OFF topic,
//   pulses (doorbell, dtmf, call...) -> event entity on the event topic,
//   `device` events (instance health) -> a diagnostic sensor on the health topic.
// Entities of one source are grouped in one HA device; availability follows the
// daemon's status topic.
#pragma once

#include <passerelle/event.hpp>

#include <optional>
#include <string>

namespace mqtt {

struct DiscoveryNaming {
    std::string discovery_prefix; // "homeassistant"
    std::string topic_prefix;     // "passerelle"
    std::string daemon;           // the daemon name (status topic, ids)
};

// What is known of the device behind a source (from attrs model/serial/firmware).
struct DeviceInfo {
    std::string module;
    std::string model;
    std::string serial;
    std::string firmware;
    bool operator==(const DeviceInfo&) const = default;
};

struct DiscoveryConfig {
    std::string unique_id; // stable across restarts; the state file is keyed by it
    std::string topic;     // <discovery>/<component>/<node_id>/<object_id>/config
    std::string payload;   // JSON object
};

// [A-Za-z0-9_-] only, as HA requires for node and object ids; a short hash of
// the raw text is appended when characters had to be replaced, so that two
// different names never share an id.
std::string discovery_id(std::string_view raw);

// A digest of a config payload that stays the same across builds and runs
// (the state file compares it after a restart): FNV-1a 64 in hex.
std::string config_digest(std::string_view payload);

// The HA device_class for a normalized event type ("" = none).
std::string device_class_for(std::string_view type);

DiscoveryConfig discovery_for(const DiscoveryNaming& naming, const passerelle::Event& e, const DeviceInfo& device);

} // namespace mqtt
