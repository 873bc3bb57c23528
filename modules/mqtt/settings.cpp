#include "settings.hpp"

#include <passerelle/module.hpp>

#include <unistd.h>

#include <charconv>

namespace mqtt {

BrokerUrl parse_broker_url(std::string_view url) {
    BrokerUrl out;
    std::string_view rest;
    if (url.substr(0, 7) == "mqtt://") {
        rest = url.substr(7);
        out.port = 1883;
    } else if (url.substr(0, 8) == "mqtts://") {
        rest = url.substr(8);
        out.tls = true;
        out.port = 8883;
    } else {
        throw std::invalid_argument("must start with mqtt:// or mqtts://");
    }
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    if (rest.find_first_of("/?#@") != std::string_view::npos)
        throw std::invalid_argument("must be mqtt[s]://host[:port] (no path; put credentials in user/password)");
    std::string_view port_text;
    bool has_port = false; // a ':' after the host, even with nothing behind it
    if (!rest.empty() && rest.front() == '[') {
        size_t close = rest.find(']');
        if (close == std::string_view::npos) throw std::invalid_argument("has an unclosed IPv6 bracket");
        out.host = std::string(rest.substr(1, close - 1));
        std::string_view after = rest.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') throw std::invalid_argument("has garbage after the IPv6 address");
            port_text = after.substr(1);
            has_port = true;
        }
    } else {
        size_t colon = rest.rfind(':');
        if (colon != std::string_view::npos) {
            out.host = std::string(rest.substr(0, colon));
            port_text = rest.substr(colon + 1);
            has_port = true;
        } else {
            out.host = std::string(rest);
        }
    }
    if (out.host.empty()) throw std::invalid_argument("has no host");
    if (has_port && port_text.empty()) throw std::invalid_argument("has an empty port");
    if (has_port) {
        int port = 0;
        auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (ec != std::errc() || p != port_text.data() + port_text.size() || port < 1 || port > 65535)
            throw std::invalid_argument("has a bad port (1-65535)");
        out.port = port;
    }
    return out;
}

std::string local_hostname() {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
    std::string name(buf);
    // A dotted FQDN makes an awkward topic level; the short name is what users see.
    if (auto dot = name.find('.'); dot != std::string::npos && dot > 0) name.resize(dot);
    return name;
}

bool is_topic_level(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c == '/' || c == '+' || c == '#' || c == '\0') return false;
    return true;
}

namespace {

bool is_topic_filter_free(std::string_view s) { // several levels allowed, no wildcards
    if (s.empty() || s.front() == '/' || s.back() == '/') return false;
    for (char c : s)
        if (c == '+' || c == '#' || c == '\0') return false;
    return s.find("//") == std::string_view::npos;
}

} // namespace

Settings read_settings(const passerelle::Fields& c) {
    using passerelle::ConfigError;
    Settings s;
    try {
        s.broker = parse_broker_url(c.string("url"));
    } catch (const std::invalid_argument& e) {
        throw ConfigError("url", e.what());
    }
    s.user = c.string("user", "");
    s.password = c.string("password", "");
    if (!s.password.empty() && s.user.empty()) throw ConfigError("user", "is needed when a password is given");
    s.daemon_name = c.string("daemon_name", "");
    if (s.daemon_name.empty()) s.daemon_name = local_hostname();
    if (!is_topic_level(s.daemon_name)) throw ConfigError("daemon_name", "must be one topic level (no / + #)");
    s.client_id = c.string("client_id", "");
    if (s.client_id.empty()) s.client_id = "passerelle-" + s.daemon_name;
    if (s.client_id.size() > 65535) throw ConfigError("client_id", "is too long");
    int64_t keepalive_ms = c.integer("keepalive", 60000);
    if (keepalive_ms < 5000 || keepalive_ms > 65535000) throw ConfigError("keepalive", "must be between 5s and 18h");
    s.keepalive_s = static_cast<int>(keepalive_ms / 1000);
    s.verify_tls = c.boolean("verify_tls", true);
    s.ca_file = c.string("ca_file", "");
    s.client_cert = c.string("client_cert", "");
    s.client_key = c.string("client_key", "");
    if (s.client_cert.empty() != s.client_key.empty())
        throw ConfigError(s.client_cert.empty() ? "client_cert" : "client_key", "client_cert and client_key go together");
    if (!s.broker.tls && (!s.ca_file.empty() || !s.client_cert.empty()))
        throw ConfigError("url", "TLS files are given but the url is not mqtts://");
    std::string protocol = c.string("protocol", "3.1.1");
    if (protocol == "3.1.1" || protocol == "311") s.protocol5 = false;
    else if (protocol == "5" || protocol == "5.0") s.protocol5 = true;
    else throw ConfigError("protocol", "must be \"3.1.1\" or \"5\"");
    s.prefix = c.string("topic_prefix", "passerelle");
    if (!is_topic_filter_free(s.prefix)) throw ConfigError("topic_prefix", "must be a topic without wildcards or empty levels");
    int64_t qos = c.integer("qos", 1);
    if (qos < 0 || qos > 2) throw ConfigError("qos", "must be 0, 1 or 2");
    s.qos = static_cast<int>(qos);
    s.retain_state = c.boolean("retain_state", true);
    s.discovery_prefix = c.string("discovery", "homeassistant");
    if (s.discovery_prefix == "off" || s.discovery_prefix == "false" || s.discovery_prefix == "none")
        s.discovery_prefix.clear();
    if (!s.discovery_prefix.empty() && !is_topic_filter_free(s.discovery_prefix))
        throw ConfigError("discovery", "must be a topic prefix without wildcards, or \"off\"");
    for (const auto& name : c.list("allow_commands", std::vector<std::string>{})) {
        if (!is_topic_level(name)) throw ConfigError("allow_commands", "'" + name + "' is not an instance name");
        s.allow_commands.insert(name);
    }
    s.reconnect_min = std::chrono::milliseconds(c.integer("reconnect_min", 1000));
    s.reconnect_max = std::chrono::milliseconds(c.integer("reconnect_max", 60000));
    s.auth_retry = std::chrono::milliseconds(c.integer("auth_retry", 60000));
    if (s.reconnect_min.count() < 10) throw ConfigError("reconnect_min", "must be at least 10ms");
    if (s.reconnect_max < s.reconnect_min) throw ConfigError("reconnect_max", "must not be below reconnect_min");
    if (s.auth_retry.count() < 100) throw ConfigError("auth_retry", "must be at least 100ms");
    return s;
}

} // namespace mqtt
