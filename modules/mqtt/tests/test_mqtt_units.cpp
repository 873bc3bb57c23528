// Pure parts of the mqtt module: URL and settings, topics, discovery configs.
#include "backoff.hpp"
#include "commands.hpp"
#include "discovery.hpp"
#include "settings.hpp"
#include "topics.hpp"

#include <passerelle/module.hpp>
#include <passerelle/utf8.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <map>
#include <random>
#include <set>

using passerelle::Event;
using passerelle::State;

namespace {

Event event(std::string source, std::string type, int channel, State state,
            std::map<std::string, std::string> attrs = {}) {
    Event e;
    e.id = 7;
    e.source = std::move(source);
    e.module = "hikvision";
    e.type = std::move(type);
    e.code = "VMD";
    e.channel = channel;
    e.state = state;
    for (auto& [k, v] : attrs) e.attrs[k] = v;
    return e;
}

passerelle::Fields fields(const char* json) { return passerelle::Fields(nlohmann::json::parse(json)); }

} // namespace

TEST_CASE("broker URLs: schemes, ports, IPv6, and what is refused") {
    auto u = mqtt::parse_broker_url("mqtt://broker.lan");
    CHECK((u.host == "broker.lan" && u.port == 1883 && !u.tls));
    u = mqtt::parse_broker_url("mqtts://10.0.0.2:18883/");
    CHECK((u.host == "10.0.0.2" && u.port == 18883 && u.tls));
    u = mqtt::parse_broker_url("mqtt://[::1]:1884");
    CHECK((u.host == "::1" && u.port == 1884));
    u = mqtt::parse_broker_url("mqtts://[fe80::1]");
    CHECK((u.host == "fe80::1" && u.port == 8883));
    for (const char* bad : {"http://x", "mqtt://", "mqtt://:1883", "mqtt://h:0", "mqtt://h:65536", "mqtt://h:12a",
                            "mqtt://user:pw@h", "mqtt://h/path", "mqtt://[::1", "mqtt://[::1]x", "mqtt://h:",
                            "mqtt://h:99999999999999999999"})
        CHECK_THROWS_AS(mqtt::parse_broker_url(bad), std::invalid_argument);
}

TEST_CASE("settings: defaults, client id from the daemon name, bad values name their key") {
    auto s = mqtt::read_settings(fields(R"({"url":"mqtt://h","daemon_name":"maison"})"));
    CHECK(s.client_id == "passerelle-maison");
    CHECK(s.prefix == "passerelle");
    CHECK(s.qos == 1);
    CHECK(s.retain_state);
    CHECK(s.discovery_prefix == "homeassistant");
    CHECK_FALSE(s.protocol5);
    CHECK(s.allow_commands.empty());
    CHECK_FALSE(mqtt::read_settings(fields(R"({"url":"mqtt://h"})")).daemon_name.empty()); // the host name

    s = mqtt::read_settings(fields(R"({"url":"mqtt://h","protocol":"5","discovery":"off","allow_commands":["cam","sip"]})"));
    CHECK(s.protocol5);
    CHECK(s.discovery_prefix.empty());
    CHECK(s.allow_commands == std::set<std::string>{"cam", "sip"});

    auto key_of = [](const char* json) {
        try {
            mqtt::read_settings(fields(json));
        } catch (const passerelle::ConfigError& e) {
            return e.key;
        }
        return std::string("(accepted)");
    };
    CHECK(key_of(R"({"url":"tcp://h"})") == "url");
    CHECK(key_of(R"({"url":"mqtt://h","qos":3})") == "qos");
    CHECK(key_of(R"({"url":"mqtt://h","protocol":"4"})") == "protocol");
    CHECK(key_of(R"({"url":"mqtt://h","topic_prefix":"a/+/b"})") == "topic_prefix");
    CHECK(key_of(R"({"url":"mqtt://h","topic_prefix":"a//b"})") == "topic_prefix");
    CHECK(key_of(R"({"url":"mqtt://h","daemon_name":"a/b"})") == "daemon_name");
    CHECK(key_of(R"({"url":"mqtt://h","allow_commands":["a/#"]})") == "allow_commands");
    CHECK(key_of(R"({"url":"mqtt://h","password":"x"})") == "user");
    CHECK(key_of(R"({"url":"mqtt://h","ca_file":"/etc/ssl/ca.pem"})") == "url");
    CHECK(key_of(R"({"url":"mqtts://h","client_cert":"/c.pem"})") == "client_key");
    CHECK(key_of(R"({"url":"mqtt://h","keepalive":1000})") == "keepalive");
}

TEST_CASE("topics: event, state per combination, health, status") {
    auto e = event("cam_garage", "motion", 2, State::start);
    CHECK(mqtt::event_topic("passerelle", e) == "passerelle/cam_garage/motion/2");
    CHECK(mqtt::state_topic("passerelle", e) == "passerelle/cam_garage/motion/2/state");
    e.channel = 0;
    CHECK(mqtt::event_topic("home/p", e) == "home/p/cam_garage/motion");
    auto r = event("nvr", "intrusion", 1, State::start, {{"region", "3"}, {"target", "human"}});
    CHECK(mqtt::state_topic("p", r) == "p/nvr/intrusion/1/region-3/target-human/state");
    CHECK(mqtt::health_topic("p", "nvr") == "p/nvr/device/health");
    CHECK(mqtt::status_topic("p", "maison") == "p/maison/status");
    CHECK(mqtt::command_filter("p") == "p/cmd/+/+");
}

TEST_CASE("topics: hostile device strings never make wildcards, empty levels or bad UTF-8") {
    auto e = event("cam", "motion", 1, State::start,
                   {{"region", "a/b+#c"}, {"target", std::string("\xff\xfe\x00x", 4)}});
    std::string t = mqtt::state_topic("p", e);
    CHECK(t.find_first_of("+#") == std::string::npos);
    CHECK(t.find("//") == std::string::npos);
    CHECK(t.find('\0') == std::string::npos);
    CHECK(passerelle::is_valid_utf8(t));
    CHECK(mqtt::safe_level("") == "_");
    CHECK(mqtt::safe_level(std::string(10000, 'x')).size() == 128);
    std::string accents;
    for (int i = 0; i < 100; ++i) accents += "é";
    CHECK(passerelle::is_valid_utf8(mqtt::safe_level(accents))); // cut on a character boundary
}

TEST_CASE("command topics: only <prefix>/cmd/<instance>/<action>") {
    auto c = mqtt::parse_command_topic("passerelle", "passerelle/cmd/sip/call");
    REQUIRE(c);
    CHECK(c->instance == "sip");
    CHECK(c->action == "call");
    for (const char* bad : {"passerelle/cmd/sip/call/result", "passerelle/cmd/sip", "passerelle/cmd//call",
                            "passerelle/cmd/sip/", "other/cmd/sip/call", "passerelle/cmdx/sip/call", "passerelle/cmd/",
                            ""})
        CHECK_FALSE(mqtt::parse_command_topic("passerelle", bad));
}

TEST_CASE("discovery: component and device class by event kind, valid JSON, availability") {
    mqtt::DiscoveryNaming n{"homeassistant", "passerelle", "maison"};
    mqtt::DeviceInfo dev{"hikvision", "DS-2CD2185FWD-I", "DS123", ""};
    auto cfg = mqtt::discovery_for(n, event("cam_garage", "motion", 1, State::start), dev);
    CHECK(cfg.topic == "homeassistant/binary_sensor/passerelle_maison/cam_garage_motion_ch1/config");
    auto j = nlohmann::json::parse(cfg.payload);
    CHECK(j["device_class"] == "motion");
    CHECK(j["state_topic"] == "passerelle/cam_garage/motion/1/state");
    CHECK(j["unique_id"] == cfg.unique_id);
    CHECK(j["device"]["model"] == "DS-2CD2185FWD-I");
    CHECK(j["device"]["serial_number"] == "DS123");
    CHECK(j["availability"][0]["topic"] == "passerelle/maison/status");

    auto bell = mqtt::discovery_for(n, event("door", "doorbell", 0, State::pulse), {});
    CHECK(bell.topic.rfind("homeassistant/event/", 0) == 0);
    auto bj = nlohmann::json::parse(bell.payload);
    CHECK(bj["event_types"] == nlohmann::json::array({"doorbell"}));
    CHECK(bj["state_topic"] == "passerelle/door/doorbell");

    auto health = mqtt::discovery_for(n, event("cam_garage", "device", 0, State::stop), {});
    CHECK(health.topic.rfind("homeassistant/sensor/", 0) == 0);
    CHECK(nlohmann::json::parse(health.payload)["state_topic"] == "passerelle/cam_garage/device/health");
}

TEST_CASE("discovery: ids are unique per combination, HA-safe, stable") {
    mqtt::DiscoveryNaming n{"homeassistant", "passerelle", "maison"};
    std::set<std::string> ids;
    std::vector<Event> events = {
        event("cam", "motion", 1, State::start),
        event("cam", "motion", 2, State::start),
        event("cam", "motion", 1, State::start, {{"target", "human"}}),
        event("cam", "motion", 1, State::start, {{"target", "vehicle"}}),
        event("cam", "intrusion", 1, State::start, {{"region", "a b"}}),
        event("cam", "intrusion", 1, State::start, {{"region", "a_b"}}),
        event("cam", "intrusion", 1, State::start, {{"region", "a/b"}}),
        event("cam2", "motion", 1, State::start),
    };
    for (auto& e : events) {
        auto cfg = mqtt::discovery_for(n, e, {});
        CHECK(ids.insert(cfg.unique_id).second);
        for (char c : cfg.unique_id) CHECK((std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'));
        CHECK(mqtt::discovery_for(n, e, {}).payload == cfg.payload); // same input, same config
    }
    CHECK(ids.size() == events.size());
}

TEST_CASE("discovery: every entity has its own unique_id and topic, over all kinds (pulse, start/stop, health)") {
    // SIP/Asterisk `call` and Hikvision `doorbell` come both as pulses (RINGING)
    // and as start/stop (ANSWERED ... ENDED) for one combination: two entities.
    mqtt::DiscoveryNaming n{"homeassistant", "passerelle", "maison"};
    std::map<std::string, std::string> id_of_entity;    // component + combination -> unique_id
    std::map<std::string, std::string> entity_of_id;    // unique_id -> component + combination
    std::map<std::string, std::string> entity_of_topic; // config topic -> component + combination
    int configs = 0;
    for (const char* source : {"sip", "cam"})
        for (const char* type : {"call", "doorbell", "motion", "dtmf", "device"})
            for (int channel : {0, 1})
                for (const std::map<std::string, std::string>& attrs :
                     {std::map<std::string, std::string>{}, {{"target", "human"}}, {{"region", "2"}}})
                    for (State state : {State::start, State::stop, State::pulse}) {
                        Event e = event(source, type, channel, state, attrs);
                        auto cfg = mqtt::discovery_for(n, e, {});
                        auto j = nlohmann::json::parse(cfg.payload);
                        CHECK(j["unique_id"] == cfg.unique_id);
                        const std::string component = cfg.topic.substr(0, cfg.topic.find('/', 14));
                        // start and stop are one entity; a pulse is another (health: one sensor).
                        std::string entity = component + "|" + source + "|" + type;
                        if (std::string(type) != "device") {
                            entity += "|" + std::to_string(channel);
                            for (auto& [k, v] : attrs) entity += "|" + k + "=" + v;
                        }
                        ++configs;
                        auto [it, fresh] = id_of_entity.try_emplace(entity, cfg.unique_id);
                        CHECK(it->second == cfg.unique_id); // the same entity keeps its id
                        auto [owner, fresh_id] = entity_of_id.try_emplace(cfg.unique_id, entity);
                        INFO(cfg.unique_id << " for " << entity << " and " << owner->second);
                        CHECK(owner->second == entity); // never two entities on one id
                        auto [topic_owner, fresh_topic] = entity_of_topic.try_emplace(cfg.topic, entity);
                        CHECK(topic_owner->second == entity);
                    }
    CHECK(configs == 2 * 5 * 2 * 3 * 3);
    CHECK(id_of_entity.size() == entity_of_id.size());
    // 4 non-health types x 2 channels x 3 attr sets x 2 components + 1 health sensor, per source.
    CHECK(id_of_entity.size() == 2 * (4 * 2 * 3 * 2 + 1));

    // The binary_sensor keeps the id earlier versions gave it (no duplicate in HA after an
    // upgrade); the event entity's config stays on its topic, with its own id.
    auto state = mqtt::discovery_for(n, event("sip", "call", 0, State::start), {});
    auto pulse = mqtt::discovery_for(n, event("sip", "call", 0, State::pulse), {});
    CHECK(state.unique_id == "passerelle_maison_sip_call");
    CHECK(pulse.unique_id == "passerelle_maison_sip_call_event");
    CHECK(pulse.topic == "homeassistant/event/passerelle_maison/sip_call/config");
    CHECK(state.topic == "homeassistant/binary_sensor/passerelle_maison/sip_call/config");
}

TEST_CASE("commands: judged before anything runs (allow list, retained, size, JSON object)") {
    mqtt::CommandPolicy p{"passerelle", {"sip", "cam"}, 1024};
    auto d = mqtt::judge_command(p, "passerelle/cmd/sip/call", R"({"to":"100"})", false, "");
    CHECK(d.kind == mqtt::CommandDecision::run);
    CHECK(d.instance == "sip");
    CHECK(d.action == "call");
    CHECK(d.params == R"({"to":"100"})");
    CHECK(d.result_topic == "passerelle/cmd/sip/call/result");

    d = mqtt::judge_command(p, "passerelle/cmd/cam/snapshot", "", false, "replies/me");
    CHECK(d.kind == mqtt::CommandDecision::run);
    CHECK(d.params == "{}");
    CHECK(d.result_topic == "replies/me"); // MQTT 5 response topic
    CHECK(mqtt::judge_command(p, "passerelle/cmd/cam/x", "{}", false, "bad/#").result_topic ==
          "passerelle/cmd/cam/x/result"); // a wildcard response topic could not be published

    d = mqtt::judge_command(p, "passerelle/cmd/alarm/disarm", "{}", false, "");
    CHECK(d.kind == mqtt::CommandDecision::refuse);
    CHECK(d.status == PL_ERR_AUTH);
    CHECK(d.error.find("not allowed") != std::string::npos);

    for (std::string_view bad : {std::string_view("not json"), std::string_view("[1]"), std::string_view("\"x\""),
                                 std::string_view("42"), std::string_view("\xff\xfe", 2), std::string_view("{\"a\":", 5)}) {
        d = mqtt::judge_command(p, "passerelle/cmd/sip/call", bad, false, "");
        CHECK(d.kind == mqtt::CommandDecision::refuse);
        CHECK(d.status == PL_ERR_INVALID);
    }
    d = mqtt::judge_command(p, "passerelle/cmd/sip/call", "{\"x\":\"" + std::string(2000, 'a') + "\"}", false, "");
    CHECK(d.kind == mqtt::CommandDecision::refuse);
    CHECK(d.error.find("too large") != std::string::npos);

    d = mqtt::judge_command(p, "passerelle/cmd/sip/call", "{}", true, "");
    CHECK(d.kind == mqtt::CommandDecision::ignore);
    CHECK(d.error.find("retained") != std::string::npos);
    // Results and other topics under the filter are not commands (no loop on our own answers).
    d = mqtt::judge_command(p, "passerelle/cmd/sip/call/result", "{}", false, "");
    CHECK(d.kind == mqtt::CommandDecision::ignore);
    CHECK(d.error.empty());
}

TEST_CASE("discovery config digest: stable text, differs with the payload") {
    CHECK(mqtt::config_digest("") == "cbf29ce484222325"); // FNV-1a 64 offset basis: the same in every build
    CHECK(mqtt::config_digest("{\"a\":1}") != mqtt::config_digest("{\"a\":2}"));
    CHECK(mqtt::config_digest("x").size() == 16);
}

TEST_CASE("reconnect backoff: the ceiling doubles per failure up to reconnect_max; delays are jittered within it") {
    using std::chrono::milliseconds;
    const milliseconds min(1000), max(60000);
    // The ceiling: 1, 2, 4 ... 32 s, then capped at 60 s for good.
    int64_t expected = 1000;
    for (unsigned failures = 1; failures <= 7; ++failures, expected *= 2)
        CHECK(mqtt::reconnect_ceiling(failures, min, max).count() == std::min<int64_t>(expected, 60000));
    CHECK(mqtt::reconnect_ceiling(50, min, max) == max);
    CHECK(mqtt::reconnect_ceiling(4000000000u, min, max) == max); // no overflow however long the outage
    CHECK(mqtt::reconnect_ceiling(3, milliseconds(10), milliseconds(15)).count() == 15); // a max that is no power of 2

    std::mt19937_64 rng(12345);
    for (unsigned failures : {1u, 2u, 3u, 6u, 7u, 20u}) {
        INFO("failures " << failures);
        const int64_t ceiling = mqtt::reconnect_ceiling(failures, min, max).count();
        std::set<int64_t> seen;
        int64_t lowest = INT64_MAX, highest = 0;
        double sum = 0;
        const int draws = 2000;
        for (int i = 0; i < draws; ++i) {
            const int64_t d = mqtt::reconnect_delay(failures, min, max, rng).count();
            CHECK(d >= 500); // never below reconnect_min / 2: no tight loop
            CHECK(d <= ceiling);
            seen.insert(d);
            lowest = std::min(lowest, d);
            highest = std::max(highest, d);
            sum += static_cast<double>(d);
        }
        // Jitter: spread over the whole range, not one fixed value.
        CHECK(seen.size() > 100);
        CHECK(highest - lowest > (ceiling - 500) * 8 / 10);
        // Uniform in [min/2, ceiling]: the mean sits near the middle (and grows with the failures).
        CHECK(sum / draws == Approx((500.0 + static_cast<double>(ceiling)) / 2).epsilon(0.1));
    }
    // A long outage waits much longer between tries than a fresh one.
    double first = 0, later = 0;
    for (int i = 0; i < 500; ++i) {
        first += static_cast<double>(mqtt::reconnect_delay(1, min, max, rng).count());
        later += static_cast<double>(mqtt::reconnect_delay(8, min, max, rng).count());
    }
    CHECK(later > first * 10);
}
