// The messages the module hands to its MQTT client and gets from it.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace mqtt {

struct OutMessage {
    std::string topic;
    std::string payload;
    int qos = 1;
    bool retain = false;
    std::string correlation_data; // MQTT 5 only
};

struct InMessage {
    std::string topic;
    std::string payload;
    bool retain = false;
    std::string response_topic;   // MQTT 5 only
    std::string correlation_data; // MQTT 5 only
    // > 0: the message was larger than the client takes (its size in bytes);
    // it was acknowledged and skipped, `payload` is empty.
    size_t dropped_size = 0;
};

// ok = delivered (QoS 0: written; 1: PUBACK; 2: PUBCOMP); otherwise a one-line
// reason, permanent: the broker refused this message for good.
using Done = std::function<void(bool ok, const std::string& error)>;

} // namespace mqtt
