// mqtt: publishes every routed event to an MQTT broker (Home Assistant
// discovery included) and runs commands it receives there. The broker link is
// client.* (our own MQTT client on this module's Asio thread); topics.* and
// discovery.* are pure; settings.* reads the config. This file is the glue.
//
// Reliability: a delivery is answered only when the broker acknowledged every
// message it made (PUBACK at QoS 1), and never with "retry" for a broken
// connection: the client keeps unacknowledged messages in order and sends them
// again first on the next connection. So the kernel's outbox can keep many
// deliveries in flight (max_inflight below) and never has to go back: nothing
// can overtake. See README.md, "Order and loss".
#include "commands.hpp"
#include "discovery.hpp"
#include "client.hpp"
#include "settings.hpp"
#include "topics.hpp"

#include <passerelle/event_json.hpp>
#include <passerelle/io_executor.hpp>
#include <passerelle/utf8.hpp>
#include <passerelle/module.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <unordered_map>
#include <memory>
#include <vector>

namespace {

using passerelle::key;

class Mqtt final : public passerelle::Instance {
public:
    using executor_type = passerelle::IoExecutor;

    static constexpr passerelle::ModuleInfo info{
        "mqtt", "1.0.0", "Publishes events to an MQTT broker with Home Assistant discovery; takes commands from it"};

    static constexpr pl_key_decl keys[] = {
        key("url", PL_KEY_STRING, nullptr, "Broker: mqtt://host:1883 or mqtts://host:8883", PL_KEY_REQUIRED),
        key("user", PL_KEY_STRING, nullptr, "User name for the broker"),
        key("password", PL_KEY_STRING, nullptr, "Password for the broker", PL_KEY_SECRET),
        key("client_id", PL_KEY_STRING, nullptr, "MQTT client id (default passerelle-<daemon_name>); unique per broker"),
        key("daemon_name", PL_KEY_STRING, nullptr,
            "This daemon's name in topics and ids: <topic_prefix>/<daemon_name>/status (default: the host name)"),
        key("keepalive", PL_KEY_DURATION, "60s", "MQTT keepalive: a dead broker is noticed after 1.5 times this"),
        key("verify_tls", PL_KEY_BOOL, "true", "Verify the mqtts certificate and host name (false logs a warning)"),
        key("ca_file", PL_KEY_PATH, nullptr, "PEM file of the CA(s) to trust for mqtts (default: the system's)"),
        key("client_cert", PL_KEY_PATH, nullptr, "PEM client certificate for mqtts (with client_key)"),
        key("client_key", PL_KEY_PATH, nullptr, "PEM private key of client_cert (unencrypted)"),
        key("protocol", PL_KEY_STRING, "3.1.1", "MQTT version: \"3.1.1\" or \"5\""),
        key("topic_prefix", PL_KEY_STRING, "passerelle", "First level(s) of every topic"),
        key("qos", PL_KEY_INT, "1", "QoS of event messages: 0, 1 (acknowledged: nothing lost) or 2"),
        key("retain_state", PL_KEY_BOOL, "true", "Publish start/stop as a retained ON/OFF .../state topic"),
        key("discovery", PL_KEY_STRING, "homeassistant", "Home Assistant discovery prefix, or \"off\""),
        key("allow_commands", PL_KEY_STRING_LIST, nullptr,
            "Instances whose actions may be run from <topic_prefix>/cmd/<instance>/<action> (none by default)"),
        key("reconnect_min", PL_KEY_DURATION, "1s", "First reconnect delay (then doubling, with jitter)"),
        key("reconnect_max", PL_KEY_DURATION, "60s", "Longest reconnect delay"),
        key("auth_retry", PL_KEY_DURATION, "60s", "Delay after the broker refused the credentials (then x2, x4, x8)"),
    };

    static constexpr pl_action_decl actions[] = {
        {"deliver", "(the routed event)",
         "Publishes the event JSON to <prefix>/<source>/<type>[/<channel>], its retained ON/OFF state and its HA discovery"},
        {"publish", "topic, payload, retain (false), qos (the instance's)", "Publishes one message of your own"},
    };

    // Deliveries awaiting their PUBACK: the broker link keeps them in order.
    // 1024 rather than 128: fewer thread wake-ups per event (bench/mqtt: ~+35 %).
    static constexpr uint32_t max_inflight = 1024;

    explicit Mqtt(const passerelle::Init& init) : Instance(init), s_(mqtt::read_settings(init.config)) {
        for (auto [k, path] : {std::pair{"ca_file", &s_.ca_file}, std::pair{"client_cert", &s_.client_cert},
                               std::pair{"client_key", &s_.client_key}})
            if (!path->empty() && !std::ifstream(*path)) throw passerelle::ConfigError(k, "cannot be read: " + *path);
        naming_ = {s_.discovery_prefix, s_.prefix, s_.daemon_name};
        policy_.prefix = s_.prefix;
        policy_.allowed = s_.allow_commands;
    }

    ~Mqtt() override { *alive_ = false; }

    void on_start() override {
        *alive_ = true;
        if (s_.broker.tls && !s_.verify_tls)
            host().warn("verify_tls = false: the broker's certificate is not checked (anyone on the path can read and inject)");
        load_discovery_state();
        mqtt::ClientOptions o;
        o.host = s_.broker.host;
        o.port = s_.broker.port;
        o.tls = s_.broker.tls;
        o.verify_tls = s_.verify_tls;
        o.ca_file = s_.ca_file;
        o.client_cert = s_.client_cert;
        o.client_key = s_.client_key;
        o.user = s_.user;
        o.password = s_.password;
        o.client_id = s_.client_id;
        o.keepalive_s = s_.keepalive_s;
        o.protocol5 = s_.protocol5;
        o.will_topic = mqtt::status_topic(s_.prefix, s_.daemon_name);
        o.reconnect_min = s_.reconnect_min;
        o.reconnect_max = s_.reconnect_max;
        o.auth_retry = s_.auth_retry;
        mqtt::Client::Callbacks cb;
        cb.health = [this](const std::string& state, const std::string& detail) { host().health(state, detail); };
        cb.count = [this](std::string_view name) { host().count(name); };
        cb.log = [this](int level, const std::string& line) {
            host().log(level >= 3 ? passerelle::LogLevel::error : level == 2 ? passerelle::LogLevel::warn
                                                               : level == 1 ? passerelle::LogLevel::info
                                                                            : passerelle::LogLevel::debug,
                       line);
        };
        cb.message = [this](const mqtt::InMessage& m) { on_command(m); };
        client_ = std::make_unique<mqtt::Client>(io(), std::move(o), std::move(cb));
        if (!s_.allow_commands.empty()) client_->subscribe(mqtt::command_filter(s_.prefix), 1);
        host().health("reconnecting", "connecting to " + s_.broker.host + ":" + std::to_string(s_.broker.port));
        client_->start();
    }

    void on_stop() override {
        *alive_ = false;
        if (client_) client_->stop();
        client_.reset(); // unanswered deliveries are answered "retry" by the SDK: they stay in the outbox
    }

    void on_action(passerelle::Call& call) override {
        if (call.action == "deliver") return deliver(call);
        if (call.action == "publish") return publish_action(call);
        Instance::on_action(call);
    }

private:
    boost::asio::io_context& io() { return static_cast<passerelle::IoExecutor&>(executor()).io(); }

    // Answers one call when all the messages it made are acknowledged.
    struct Batch {
        passerelle::Reply reply;
        int left = 0;
        std::string error;
        void done(bool ok, const std::string& why) {
            if (!ok && error.empty()) error = why;
            if (--left > 0) return;
            if (error.empty()) reply.ok();
            else reply.fail(PL_ERR_PERMANENT, error);
        }
    };

    void send(const std::shared_ptr<Batch>& batch, mqtt::OutMessage m) {
        ++batch->left;
        client_->publish(std::move(m), [batch](bool ok, const std::string& why) { batch->done(ok, why); });
    }

    void deliver(passerelle::Call& call) {
        if (!call.event) return call.reply.fail(PL_ERR_INVALID, "deliver needs an event");
        if (!client_) return call.reply.retry("the mqtt instance is not started");
        const passerelle::Event& e = *call.event;
        auto batch = std::make_shared<Batch>();
        batch->reply = call.reply;
        batch->left = 1; // held until every message is queued, so an early ack cannot finish the batch
        if (!s_.discovery_prefix.empty()) announce(e);
        std::string json;
        passerelle::append_event_json(json, e);
        send(batch, {mqtt::event_topic(s_.prefix, e), std::move(json), s_.qos, false, {}});
        if (e.state != passerelle::State::pulse && s_.retain_state && e.type != "device") // health has its own topic
            send(batch, {mqtt::state_topic(s_.prefix, e), e.state == passerelle::State::start ? "ON" : "OFF", s_.qos, true, {}});
        if (e.type == "device") send(batch, {mqtt::health_topic(s_.prefix, e.source), e.code, s_.qos, true, {}});
        host().count("published");
        batch->done(true, {});
    }

    void publish_action(passerelle::Call& call) {
        if (!client_) return call.reply.retry("the mqtt instance is not started");
        std::string topic = call.params.string("topic");
        if (topic.empty() || topic.find_first_of("+#") != std::string::npos || topic.find('\0') != std::string::npos ||
            !passerelle::is_valid_utf8(topic))
            throw passerelle::ConfigError("topic", "must be a topic name without wildcards");
        int64_t qos = call.params.integer("qos", s_.qos);
        if (qos < 0 || qos > 2) throw passerelle::ConfigError("qos", "must be 0, 1 or 2");
        auto batch = std::make_shared<Batch>();
        batch->reply = call.reply;
        batch->left = 1;
        send(batch, {std::move(topic), call.params.string("payload", ""), static_cast<int>(qos),
                     call.params.boolean("retain", false), {}});
        batch->done(true, {});
    }

    // --- Home Assistant discovery ---------------------------------------------

    // A source's identity (model, serial, firmware) usually comes after its
    // first events: the kernel puts it on the source's `device` event when the
    // module learns it. Every config of the source names the device, so when
    // the identity changes, every combination already announced is announced
    // again with it (nothing waits for the next event of each combination).
    void announce(const passerelle::Event& e) {
        mqtt::DeviceInfo& dev = devices_[e.source];
        mqtt::DeviceInfo seen = dev;
        if (seen.module.empty()) seen.module = e.module;
        for (auto [k, field] : {std::pair{"model", &seen.model}, std::pair{"serial", &seen.serial},
                                std::pair{"firmware", &seen.firmware}})
            if (auto it = e.attrs.find(k); it != e.attrs.end() && !it->second.empty()) *field = it->second;
        const bool identity_changed = !(seen == dev);
        dev = seen;
        // Fast path (every event goes through here): the same combination with the
        // same device info was already handled, no JSON to build.
        std::string combo = e.source;
        for (const std::string* part : {&e.type, &attr_or_empty(e, "region"), &attr_or_empty(e, "target")})
            (combo += '\x1f') += *part;
        combo += '\x1f' + std::to_string(e.channel) + (e.state == passerelle::State::pulse ? "p" : "s");
        auto [it, fresh] = combos_.try_emplace(combo);
        if (!fresh && it->second.device == dev) return;
        if (fresh) it->second.sample = discovery_sample(e);
        announce_combo(combo, it->second, dev);
        if (!identity_changed) return;
        std::vector<std::string> stale; // collected first: a refused publish erases its combination
        for (auto& [other, c] : combos_)
            if (c.sample.source == e.source && !(c.device == dev)) stale.push_back(other);
        for (auto& other : stale)
            if (auto c = combos_.find(other); c != combos_.end()) announce_combo(other, c->second, dev);
    }

    // What discovery_for reads of an event, kept to announce the combination again.
    static passerelle::Event discovery_sample(const passerelle::Event& e) {
        passerelle::Event s;
        s.source = e.source;
        s.module = e.module;
        s.type = e.type;
        s.channel = e.channel;
        s.state = e.state;
        for (const char* k : {"region", "target"})
            if (auto it = e.attrs.find(k); it != e.attrs.end()) s.attrs[k] = it->second;
        return s;
    }

    struct Combo {
        mqtt::DeviceInfo device; // what its config was last announced with
        passerelle::Event sample;
    };

    void announce_combo(const std::string& combo, Combo& c, const mqtt::DeviceInfo& dev) {
        c.device = dev;
        mqtt::DiscoveryConfig cfg = mqtt::discovery_for(naming_, c.sample, dev);
        const std::string digest = mqtt::config_digest(cfg.payload);
        auto& known = announced_[cfg.unique_id];
        if (known == digest) return; // same config already on the broker: publish nothing twice
        known = digest;              // optimistic: not sent again while in flight
        client_->publish({cfg.topic, cfg.payload, 1, true, {}},
                         [this, alive = alive_, id = cfg.unique_id, digest, combo](bool ok, const std::string& why) {
                             if (!*alive) return;
                             if (!ok) { // announced again by the next event of this combination
                                 if (auto a = announced_.find(id); a != announced_.end() && a->second == digest)
                                     announced_.erase(a);
                                 combos_.erase(combo);
                                 host().warn("discovery config refused: " + why);
                                 return;
                             }
                             confirmed_[id] = digest;
                             save_discovery_state();
                         });
        host().count("discovery_published");
    }

    static const std::string& attr_or_empty(const passerelle::Event& e, const char* k) {
        static const std::string none;
        auto it = e.attrs.find(k);
        return it == e.attrs.end() ? none : it->second;
    }

    std::filesystem::path state_file() const {
        std::string dir = host().state_dir();
        return dir.empty() ? std::filesystem::path() : std::filesystem::path(dir) / "discovery.json";
    }

    void load_discovery_state() {
        auto path = state_file();
        if (path.empty()) return;
        std::ifstream in(path);
        if (!in) return;
        try {
            auto j = nlohmann::json::parse(in);
            for (auto& [id, digest] : j.at("announced").items())
                if (digest.is_string()) confirmed_[id] = announced_[id] = digest.get<std::string>();
            // The identities known before the restart: the first event of a source
            // then gives the config already on the broker, not one without model
            // (re-sent, then re-sent again when the device event comes).
            if (auto d = j.find("devices"); d != j.end() && d->is_object())
                for (auto& [source, v] : d->items()) {
                    if (!v.is_object()) continue;
                    mqtt::DeviceInfo& dev = devices_[source];
                    for (auto [k, field] : {std::pair{"module", &dev.module}, std::pair{"model", &dev.model},
                                            std::pair{"serial", &dev.serial}, std::pair{"firmware", &dev.firmware}})
                        if (auto f = v.find(k); f != v.end() && f->is_string()) *field = f->get<std::string>();
                }
        } catch (const std::exception& e) {
            host().warn("ignoring a damaged " + path.string() + ": " + e.what());
        }
    }

    void save_discovery_state() {
        auto path = state_file();
        if (path.empty()) return;
        nlohmann::json devices = nlohmann::json::object();
        for (auto& [source, dev] : devices_)
            devices[source] = {{"module", dev.module}, {"model", dev.model}, {"serial", dev.serial}, {"firmware", dev.firmware}};
        nlohmann::json j = {{"announced", confirmed_}, {"devices", devices}};
        auto tmp = path;
        tmp += ".tmp";
        {
            std::ofstream out(tmp, std::ios::trunc);
            out << j.dump(1);
            if (!out) return host().warn("cannot write " + tmp.string());
        }
        std::error_code ec;
        std::filesystem::rename(tmp, path, ec);
    }

    // --- commands ----------------------------------------------------------------

    void on_command(const mqtt::InMessage& m) {
        mqtt::CommandDecision d = mqtt::judge_command(policy_, m.topic, m.payload, m.retain, m.response_topic, m.dropped_size);
        if (d.kind == mqtt::CommandDecision::ignore) {
            if (!d.error.empty()) host().warn(d.error);
            return;
        }
        host().count("commands");
        const std::string result_topic = std::move(d.result_topic);
        const std::string correlation = m.correlation_data;
        if (d.kind == mqtt::CommandDecision::refuse) return answer(result_topic, correlation, d.status, d.error);
        host().invoke(d.instance, d.action, d.params,
                      [this, alive = alive_, result_topic, correlation, ex = &executor()](int32_t status, std::string result) {
                          ex->post([this, alive, result_topic, correlation, status, result = std::move(result)] {
                              if (*alive) answer(result_topic, correlation, status, result);
                          });
                      });
    }

    void answer(const std::string& topic, const std::string& correlation, int32_t status, const std::string& result) {
        nlohmann::json j = {{"ok", status == PL_OK}, {"status", status}};
        if (status == PL_OK) {
            auto parsed = nlohmann::json::parse(result, nullptr, false);
            j["result"] = parsed.is_discarded() ? nlohmann::json(result) : parsed;
        } else {
            j["error"] = result;
        }
        if (!client_) return;
        client_->publish({topic, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), 1, false, correlation},
                         [](bool, const std::string&) {});
    }

    mqtt::Settings s_;
    mqtt::DiscoveryNaming naming_;
    mqtt::CommandPolicy policy_; // 64 KiB of params at most: refused before parsing
    std::unique_ptr<mqtt::Client> client_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(false);
    std::map<std::string, mqtt::DeviceInfo> devices_;
    std::unordered_map<std::string, Combo> combos_; // combination -> device info last announced with, sample event
    std::map<std::string, std::string> announced_; // unique_id -> digest sent (or in flight)
    std::map<std::string, std::string> confirmed_; // unique_id -> digest acknowledged (the state file)
};

} // namespace

PL_DEFINE_MODULE(Mqtt)
