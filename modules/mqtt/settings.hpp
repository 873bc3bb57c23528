// The mqtt module's settings: the instance config checked and normalized,
// without any I/O (tested alone). Reading the hostname is the one call out.
#pragma once

#include <chrono>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

namespace passerelle { class Fields; }

namespace mqtt {

struct BrokerUrl {
    bool tls = false;
    std::string host;
    int port = 0;
};

// mqtt://host[:port] or mqtts://host[:port] (IPv6 as [::1]); no path, no user
// info (credentials have their own keys so that they stay secret).
// Throws std::invalid_argument with a sentence for a human.
BrokerUrl parse_broker_url(std::string_view url);

struct Settings {
    BrokerUrl broker;
    std::string user;
    std::string password;
    std::string client_id;
    int keepalive_s = 60;
    bool verify_tls = true;
    std::string ca_file;
    std::string client_cert;
    std::string client_key;
    bool protocol5 = false;
    std::string prefix = "passerelle";
    int qos = 1;
    bool retain_state = true;
    std::string discovery_prefix = "homeassistant"; // empty = discovery off
    std::string daemon_name;
    std::set<std::string> allow_commands;
    std::chrono::milliseconds reconnect_min{1000};
    std::chrono::milliseconds reconnect_max{60000};
    std::chrono::milliseconds auth_retry{60000};
};

// The machine's host name, or "localhost" when it cannot be read.
std::string local_hostname();

// Reads every key; a bad value throws passerelle::ConfigError naming the key.
Settings read_settings(const passerelle::Fields& config);

// True when `s` may be one topic level (non-empty, no '/', '+', '#', NUL).
bool is_topic_level(std::string_view s);

} // namespace mqtt
