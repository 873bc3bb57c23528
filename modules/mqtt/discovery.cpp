#include "discovery.hpp"

#include "topics.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace mqtt {

namespace {

uint32_t fnv1a(std::string_view s) {
    uint32_t h = 2166136261u;
    for (unsigned char c : s) {
        h ^= c;
        h *= 16777619u;
    }
    return h;
}

std::string attr(const passerelle::Event& e, const char* key) {
    auto it = e.attrs.find(key);
    return it == e.attrs.end() ? std::string() : it->second;
}

} // namespace

std::string discovery_id(std::string_view raw) {
    std::string out;
    bool replaced = false;
    for (char c : raw) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        out.push_back(ok ? c : '_');
        replaced |= !ok;
    }
    if (out.size() > 160) {
        out.resize(160);
        replaced = true;
    }
    if (replaced || out.empty()) {
        char hash[16];
        std::snprintf(hash, sizeof hash, "_%08x", fnv1a(raw));
        out += hash;
    }
    return out;
}

std::string config_digest(std::string_view payload) {
    uint64_t h = 14695981039346656037ull;
    for (unsigned char c : payload) {
        h ^= c;
        h *= 1099511628211ull;
    }
    char out[20];
    std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
    return out;
}

std::string device_class_for(std::string_view type) {
    if (type == "motion" || type == "pir") return "motion";
    if (type == "intrusion" || type == "line_crossing" || type == "region_entrance" || type == "region_exit" ||
        type == "face" || type == "object_left" || type == "object_removed")
        return "occupancy";
    if (type == "door") return "door";
    if (type == "audio") return "sound";
    if (type == "tamper") return "tamper";
    if (type == "io_alarm") return "safety";
    if (type == "video_loss" || type == "storage_error" || type == "network_error" || type == "login_failure")
        return "problem";
    if (type == "device") return "connectivity";
    if (type == "call" || type == "registration") return "running";
    return "";
}

DiscoveryConfig discovery_for(const DiscoveryNaming& n, const passerelle::Event& e, const DeviceInfo& device) {
    using nlohmann::json;
    const std::string region = attr(e, "region");
    const std::string target = attr(e, "target");
    const bool health = e.type == "device";
    const bool pulse = !health && is_stateless(e);
    const std::string component = health ? "sensor" : pulse ? "event" : "binary_sensor";

    // The raw combination names the entity; the id is its safe form.
    std::string raw = e.source + "_" + e.type;
    std::string name = e.type;
    if (!health) {
        if (e.channel > 0) {
            raw += "_ch" + std::to_string(e.channel);
            name += " ch" + std::to_string(e.channel);
        }
        if (!region.empty()) {
            raw += "_r" + region;
            name += " region " + region;
        }
        if (!target.empty()) {
            raw += "_t" + target;
            name += " " + target;
        }
    } else {
        name = "health";
    }
    const std::string node_id = discovery_id("passerelle_" + n.daemon);
    const std::string object_id = discovery_id(raw);
    DiscoveryConfig out;
    // One combination can be both a pulse and a start/stop (SIP and Asterisk
    // `call`: RINGING is a pulse, ANSWERED a start; Hikvision doorbell): two
    // entities, so two ids. The binary_sensor keeps the plain id (the one every
    // earlier version gave it); the event entity gets "_event". Its topic and
    // object_id stay as they were (they already differ by component), so the
    // retained config is replaced in place, never left behind.
    out.unique_id = node_id + "_" + object_id + (pulse ? "_event" : "");
    out.topic = n.discovery_prefix + "/" + component + "/" + node_id + "/" + object_id + "/config";

    json dev = {{"identifiers", json::array({discovery_id("passerelle_" + n.daemon + "_" + e.source)})},
                {"name", e.source},
                {"manufacturer", device.module.empty() ? std::string("passerelle") : device.module}};
    if (!device.model.empty()) dev["model"] = device.model;
    if (!device.serial.empty()) dev["serial_number"] = device.serial;
    if (!device.firmware.empty()) dev["sw_version"] = device.firmware;

    json cfg = {{"name", name},
                {"unique_id", out.unique_id},
                {"object_id", object_id},
                {"device", dev},
                {"availability", json::array({{{"topic", status_topic(n.topic_prefix, n.daemon)},
                                               {"payload_available", "online"},
                                               {"payload_not_available", "offline"}}})},
                {"origin", {{"name", "passerelle"}}}};
    if (health) {
        cfg["state_topic"] = health_topic(n.topic_prefix, e.source);
        cfg["entity_category"] = "diagnostic";
        cfg["icon"] = "mdi:heart-pulse";
    } else if (pulse) {
        cfg["state_topic"] = event_topic(n.topic_prefix, e);
        cfg["event_types"] = json::array({e.type});
        cfg["value_template"] = "{{ {'event_type': value_json.type} | tojson }}";
        if (e.type == "doorbell") cfg["device_class"] = "doorbell";
    } else {
        cfg["state_topic"] = state_topic(n.topic_prefix, e);
        cfg["payload_on"] = "ON";
        cfg["payload_off"] = "OFF";
        if (auto dc = device_class_for(e.type); !dc.empty()) cfg["device_class"] = dc;
    }
    out.payload = cfg.dump(-1, ' ', false, json::error_handler_t::replace);
    return out;
}

} // namespace mqtt
