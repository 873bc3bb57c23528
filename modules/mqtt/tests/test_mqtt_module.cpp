// The mqtt module loaded as the daemon loads it, against a real Mosquitto
// broker on a loopback port (password file, ACL).
#include "test_broker.hpp"

#include <module_harness.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <set>

using namespace std::chrono_literals;
using passerelle::Event;
using passerelle::State;
using passerelle::testing::ModuleHarness;
using passerelle::testing::TempDir;

namespace {

std::string config(const mqtt_test::Broker& b, const std::string& extra = "") {
    return R"({"url":")" + b.url() + R"(","user":"passerelle","password":"s3cret","daemon_name":"maison",)"
           R"("reconnect_min":"50ms","reconnect_max":"500ms")" + extra + "}";
}

Event event(std::string type, int channel, State state, std::map<std::string, std::string> attrs = {}) {
    Event e;
    e.id = 42;
    e.source = "cam_garage";
    e.module = "hikvision";
    e.type = std::move(type);
    e.code = "VMD";
    e.channel = channel;
    e.state = state;
    e.time_ns = e.received_ns = 1700000000000000000;
    for (auto& [k, v] : attrs) e.attrs[k] = v;
    return e;
}

} // namespace

TEST_CASE("events arrive with their topics, payloads, retained state, status and discovery") {
    TempDir dir("mqtt-module");
    mqtt_test::Broker broker(dir.path());
    mqtt_test::Subscriber sub(broker.port(), {"passerelle/#", "homeassistant/#"});
    ModuleHarness h(passerelle::testing::module_path("mqtt"));
    REQUIRE(h.create(config(broker)).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 5s));

    auto r = h.deliver(event("motion", 1, State::start, {{"target", "human"}, {"model", "DS-2CD2185FWD-I"}}));
    REQUIRE(r.ok());
    REQUIRE(h.deliver(event("doorbell", 0, State::pulse)).ok());
    REQUIRE(h.deliver(event("motion", 1, State::stop, {{"target", "human"}})).ok());

    auto msgs = sub.wait([](auto& m) { return m.size() >= 8; }); // status, 3 events, 2 states, 2 configs
    auto events = sub.on_topic("passerelle/cam_garage/motion/1");
    REQUIRE(events.size() == 2);
    auto j = nlohmann::json::parse(events[0].payload);
    CHECK(j["type"] == "motion");
    CHECK(j["state"] == "start");
    CHECK(j["attrs"]["target"] == "human");
    CHECK(j["id"] == 42);
    CHECK_FALSE(events[0].retain);
    auto states = sub.on_topic("passerelle/cam_garage/motion/1/target-human/state");
    REQUIRE(states.size() == 2);
    CHECK(states[0].payload == "ON");
    CHECK(states[1].payload == "OFF");
    CHECK(sub.on_topic("passerelle/cam_garage/doorbell").size() == 1);
    CHECK(sub.on_topic("passerelle/maison/status").at(0).payload == "online");

    // Discovery: valid JSON, one config per combination, unique ids, the model known.
    std::set<std::string> ids;
    int configs = 0;
    for (auto& m : sub.messages()) {
        if (m.topic.rfind("homeassistant/", 0) != 0) continue;
        ++configs;
        auto cfg = nlohmann::json::parse(m.payload);
        CHECK(ids.insert(cfg["unique_id"].get<std::string>()).second);
        CHECK(cfg["availability"][0]["topic"] == "passerelle/maison/status");
        if (cfg["state_topic"] == "passerelle/cam_garage/motion/1/target-human/state")
            CHECK(cfg["device"]["model"] == "DS-2CD2185FWD-I");
        // One HA device per source: both entities of cam_garage name the same device.
        CHECK(cfg["device"]["identifiers"] == nlohmann::json::array({"passerelle_maison_cam_garage"}));
        CHECK(cfg["device"]["name"] == "cam_garage");
    }
    CHECK(configs == 2); // motion/ch1/human and doorbell; the stop reused the start's config

    // A later subscriber sees the current state (retained).
    mqtt_test::Subscriber late(broker.port(), {"passerelle/cam_garage/motion/1/target-human/state"});
    auto retained = late.wait([](auto& m) { return !m.empty(); }, 3s);
    REQUIRE(retained.size() == 1);
    CHECK(retained[0].payload == "OFF");
    CHECK(retained[0].retain);

    // The publish action.
    REQUIRE(h.invoke("publish", R"({"topic":"passerelle/custom/x","payload":"hello","retain":true})").ok());
    sub.wait([](auto& m) { return std::any_of(m.begin(), m.end(), [](auto& x) { return x.topic == "passerelle/custom/x"; }); });
    REQUIRE(sub.on_topic("passerelle/custom/x").size() == 1);
    CHECK(sub.on_topic("passerelle/custom/x")[0].payload == "hello");
    CHECK(sub.on_topic("passerelle/custom/x")[0].qos == 1); // the instance's qos by default
    REQUIRE(h.invoke("publish", R"({"topic":"passerelle/custom/q0","payload":"zero","qos":0})").ok());
    REQUIRE(h.invoke("publish", R"({"topic":"passerelle/custom/q1","payload":"one","qos":1,"retain":false})").ok());
    sub.wait([](auto& m) { return std::any_of(m.begin(), m.end(), [](auto& x) { return x.topic == "passerelle/custom/q1"; }); });
    REQUIRE(sub.on_topic("passerelle/custom/q0").size() == 1);
    REQUIRE(sub.on_topic("passerelle/custom/q1").size() == 1);
    CHECK(sub.on_topic("passerelle/custom/q0")[0].qos == 0); // a QoS 1 subscriber gets what was sent at 0 at 0
    CHECK(sub.on_topic("passerelle/custom/q1")[0].qos == 1);
    // Retain: the broker clears the flag for subscribers already there, so a new
    // subscriber tells: it gets the retained "hello" and nothing of q0/q1 (retain
    // false by default, and explicitly false).
    {
        mqtt_test::Subscriber late(broker.port(), {"passerelle/custom/#"});
        auto kept = late.wait([](auto& m) { return m.size() >= 2; }, 1500ms);
        REQUIRE(kept.size() == 1);
        CHECK(kept[0].topic == "passerelle/custom/x");
        CHECK(kept[0].payload == "hello");
        CHECK(kept[0].retain);
    }
    CHECK(h.invoke("publish", R"({"topic":"passerelle/custom/q","payload":"x","qos":3})").status == PL_ERR_INVALID);
    CHECK(h.invoke("publish", R"({"topic":"passerelle/#","payload":"x"})").status == PL_ERR_INVALID);
    // The event messages were sent at the instance's qos (1).
    CHECK(events[0].qos == 1);
    CHECK(states[0].qos == 1);

    // A clean stop leaves "offline" as the retained status.
    h.stop();
    sub.wait([](auto& m) { return std::count_if(m.begin(), m.end(), [](auto& x) { return x.topic == "passerelle/maison/status"; }) >= 2; });
    CHECK(sub.on_topic("passerelle/maison/status").back().payload == "offline");
}

TEST_CASE("discovery is not published twice across a restart (state file)") {
    TempDir dir("mqtt-module");
    mqtt_test::Broker broker(dir.path());
    ModuleHarness h(passerelle::testing::module_path("mqtt"));
    REQUIRE(h.create(config(broker)).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 5s));
    REQUIRE(h.deliver(event("motion", 1, State::start)).ok());
    CHECK(h.counter("discovery_published") == 1);
    h.destroy();

    mqtt_test::Subscriber sub(broker.port(), {"homeassistant/#"});
    sub.wait([](auto& m) { return !m.empty(); }, 2s); // the retained config from the first run
    const size_t before = sub.messages().size();
    CHECK(before == 1);
    REQUIRE(h.create(config(broker)).ok()); // same harness state dir: the daemon restarted
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 5s));
    REQUIRE(h.deliver(event("motion", 1, State::stop)).ok());
    REQUIRE(h.deliver(event("motion", 2, State::start)).ok()); // a new combination is announced
    sub.wait([&](auto& m) { return m.size() > before; }, 3s);
    CHECK(h.counter("discovery_published") == 2); // the harness keeps counters across instances: 1 + the new one
    auto msgs = sub.messages();
    REQUIRE(msgs.size() == before + 1);
    CHECK(msgs.back().topic.find("motion_ch2") != std::string::npos);
}

namespace {

// Publishes a marker through the module and waits for it: the broker keeps the
// order of one client's messages, so everything the module sent before has
// arrived at `sub` once the marker is there.
void drain(ModuleHarness& h, mqtt_test::Subscriber& sub, const std::string& marker) {
    REQUIRE(h.invoke("publish", R"({"topic":")" + marker + R"(","payload":"x"})").ok());
    sub.wait([&](auto& m) { return std::any_of(m.begin(), m.end(), [&](auto& x) { return x.topic == marker; }); }, 5s);
    REQUIRE(sub.on_topic(marker).size() == 1);
}

} // namespace

TEST_CASE("a pulse and a start/stop of one combination: two entities, two ids, neither republished after a restart") {
    TempDir dir("mqtt-module");
    mqtt_test::Broker broker(dir.path());
    auto call = [](State s) {
        Event e = event("call", 1, s);
        e.source = "sip";
        e.module = "sip";
        return e;
    };
    ModuleHarness h(passerelle::testing::module_path("mqtt"));
    {
        mqtt_test::Subscriber sub(broker.port(), {"homeassistant/#"});
        REQUIRE(h.create(config(broker)).ok());
        REQUIRE(h.start() == PL_OK);
        REQUIRE(h.wait_for_health("connected", 5s));
        REQUIRE(h.deliver(call(State::pulse)).ok()); // RINGING
        REQUIRE(h.deliver(call(State::start)).ok()); // ANSWERED
        REQUIRE(h.deliver(call(State::stop)).ok());  // ENDED
        REQUIRE(h.deliver(call(State::pulse)).ok());
        drain(h, sub, "homeassistant/marker1");
        std::set<std::string> ids, topics;
        for (auto& m : sub.messages()) {
            if (m.topic == "homeassistant/marker1") continue;
            CHECK(topics.insert(m.topic).second); // each config sent once
            ids.insert(nlohmann::json::parse(m.payload)["unique_id"].get<std::string>());
        }
        CHECK(topics.size() == 2); // an event entity and a binary_sensor
        CHECK(ids.size() == 2);    // with their own ids
        CHECK(h.counter("discovery_published") == 2);
        h.destroy();
    }

    mqtt_test::Subscriber sub(broker.port(), {"homeassistant/#"});
    auto retained = sub.wait([](auto& m) { return m.size() >= 2; }, 3s); // the two retained configs
    REQUIRE(retained.size() == 2);
    for (auto& m : retained) CHECK(m.retain);
    const size_t before = sub.messages().size();
    REQUIRE(h.create(config(broker)).ok()); // the daemon restarted (same state dir)
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 5s));
    for (int round = 0; round < 2; ++round)
        for (State s : {State::pulse, State::start, State::pulse, State::stop}) REQUIRE(h.deliver(call(s)).ok());
    drain(h, sub, "homeassistant/marker2");
    CHECK(sub.messages().size() == before + 1); // only the marker: nothing republished
    CHECK(h.counter("discovery_published") == 2); // counters survive the restart in the harness
}

TEST_CASE("the device's model and serial reach every config of its source, also those announced before; one HA device per source") {
    TempDir dir("mqtt-module");
    mqtt_test::Broker broker(dir.path());
    // The device event as the kernel makes it from a source's health and its info
    // {"model":..., "serial":..., "firmware":...} (kernel/core/instance_host.cpp).
    auto device_event = [](const std::string& firmware) {
        Event e = event("device", 0, State::start,
                        {{"detail", "ISAPI ok"}, {"model", "DS-2CD2185FWD-I"}, {"serial", "DS-2CD2185FWD-I20180101AAWR123"},
                         {"firmware", firmware}});
        e.code = "connected";
        return e;
    };
    Event porch = event("motion", 1, State::start);
    porch.source = "cam_porch";
    // topic -> payloads of every config sent there, in order
    auto configs = [](mqtt_test::Subscriber& sub) {
        std::map<std::string, std::vector<nlohmann::json>> out;
        for (auto& m : sub.messages())
            if (m.topic.size() > 7 && m.topic.compare(m.topic.size() - 7, 7, "/config") == 0)
                out[m.topic].push_back(nlohmann::json::parse(m.payload));
        return out;
    };
    ModuleHarness h(passerelle::testing::module_path("mqtt"));
    {
        mqtt_test::Subscriber sub(broker.port(), {"homeassistant/#"});
        REQUIRE(h.create(config(broker)).ok());
        REQUIRE(h.start() == PL_OK);
        REQUIRE(h.wait_for_health("connected", 5s));
        // Events come first: the identity is not known yet.
        REQUIRE(h.deliver(event("motion", 1, State::start)).ok());
        REQUIRE(h.deliver(event("doorbell", 0, State::pulse)).ok());
        REQUIRE(h.deliver(porch).ok());
        drain(h, sub, "homeassistant/marker1");
        auto before = configs(sub);
        REQUIRE(before.size() == 3);
        for (auto& [topic, list] : before) CHECK_FALSE(list.back()["device"].contains("model"));

        // Then the source learns its identity: every config of cam_garage is sent again with it.
        REQUIRE(h.deliver(device_event("V5.5.0")).ok());
        drain(h, sub, "homeassistant/marker2");
        auto after = configs(sub);
        REQUIRE(after.size() == 4); // + the health sensor
        nlohmann::json garage_ids;
        for (auto& [topic, list] : after) {
            INFO(topic);
            const auto& dev = list.back()["device"];
            if (topic.find("cam_porch") != std::string::npos) {
                CHECK(list.size() == 1); // another source, another device: untouched
                CHECK_FALSE(dev.contains("model"));
                CHECK(dev["identifiers"] != garage_ids);
                continue;
            }
            CHECK(list.size() == (topic.find("/sensor/") != std::string::npos ? 1u : 2u)); // sent once more, not more
            CHECK(dev["model"] == "DS-2CD2185FWD-I");
            CHECK(dev["serial_number"] == "DS-2CD2185FWD-I20180101AAWR123");
            CHECK(dev["sw_version"] == "V5.5.0");
            CHECK(dev["manufacturer"] == "hikvision");
            // One HA device per source: every entity of cam_garage names the same identifiers.
            if (garage_ids.is_null()) garage_ids = dev["identifiers"];
            CHECK(dev["identifiers"] == garage_ids);
            CHECK(dev["name"] == "cam_garage");
        }
        CHECK(h.counter("discovery_published") == 6);

        // Later events with or without the attrs change nothing.
        REQUIRE(h.deliver(event("motion", 1, State::stop)).ok());
        REQUIRE(h.deliver(event("doorbell", 0, State::pulse, {{"model", "DS-2CD2185FWD-I"}})).ok());
        REQUIRE(h.deliver(device_event("V5.5.0")).ok());
        drain(h, sub, "homeassistant/marker3");
        CHECK(h.counter("discovery_published") == 6);
        h.destroy();
    }

    // Restart: the identity is remembered, so the first events (before the device
    // event comes again) do not send configs without it, and the device event
    // with the same identity sends nothing.
    mqtt_test::Subscriber sub(broker.port(), {"homeassistant/#"});
    REQUIRE(sub.wait([](auto& m) { return m.size() >= 4; }, 3s).size() == 4); // the retained configs
    REQUIRE(h.create(config(broker)).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 5s));
    REQUIRE(h.deliver(event("motion", 1, State::start)).ok());
    REQUIRE(h.deliver(event("doorbell", 0, State::pulse)).ok());
    REQUIRE(h.deliver(porch).ok());
    REQUIRE(h.deliver(device_event("V5.5.0")).ok());
    drain(h, sub, "homeassistant/marker4");
    CHECK(sub.messages().size() == 5); // the 4 retained + the marker
    CHECK(h.counter("discovery_published") == 6);

    // A firmware upgrade is a new identity: the three configs of cam_garage again.
    REQUIRE(h.deliver(device_event("V5.7.3")).ok());
    drain(h, sub, "homeassistant/marker5");
    CHECK(sub.messages().size() == 5 + 3 + 1);
    for (auto& [topic, list] : configs(sub))
        if (topic.find("cam_garage") != std::string::npos) CHECK(list.back()["device"]["sw_version"] == "V5.7.3");
    CHECK(h.counter("discovery_published") == 9);
}

TEST_CASE("topic_prefix, retain_state = false and qos = 0 are what goes on the wire") {
    TempDir dir("mqtt-module");
    mqtt_test::Broker broker(dir.path());
    mqtt_test::Subscriber sub(broker.port(), {"home/#", "passerelle/#", "homeassistant/#"});
    ModuleHarness h(passerelle::testing::module_path("mqtt"));
    REQUIRE(h.create(config(broker, R"(,"topic_prefix":"home/p","retain_state":false,"qos":0)")).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 5s));
    REQUIRE(h.deliver(event("motion", 1, State::start)).ok());
    REQUIRE(h.deliver(event("motion", 1, State::stop)).ok());
    // A marker at QoS 1 after the events: once it is here, all before it is too.
    REQUIRE(h.invoke("publish", R"({"topic":"home/marker","payload":"x","qos":1})").ok());
    sub.wait([](auto& m) { return std::any_of(m.begin(), m.end(), [](auto& x) { return x.topic == "home/marker"; }); });
    REQUIRE(sub.on_topic("home/marker").size() == 1);

    auto events = sub.on_topic("home/p/cam_garage/motion/1");
    REQUIRE(events.size() == 2);
    for (auto& m : events) {
        CHECK(m.qos == 0); // published at QoS 0 (the subscriber asked for 1)
        CHECK_FALSE(m.retain);
    }
    CHECK(nlohmann::json::parse(events[0].payload)["state"] == "start");
    CHECK(nlohmann::json::parse(events[1].payload)["state"] == "stop");
    bool online = false;
    for (auto& m : sub.messages()) {
        INFO(m.topic);
        CHECK(m.topic.find("/state") == std::string::npos);     // retain_state = false: no ON/OFF topic
        CHECK(m.topic.rfind("passerelle/", 0) == std::string::npos); // nothing under the default prefix
        online |= m.topic == "home/p/maison/status" && m.payload == "online";
        if (m.topic.rfind("homeassistant/", 0) == 0) {
            auto cfg = nlohmann::json::parse(m.payload);
            CHECK(cfg["availability"][0]["topic"] == "home/p/maison/status");
        }
    }
    CHECK(online);
    // The status is under the prefix and retained.
    mqtt_test::Subscriber late(broker.port(), {"home/p/maison/status"});
    auto status = late.wait([](auto& m) { return !m.empty(); }, 3s);
    REQUIRE(status.size() == 1);
    CHECK(status[0].payload == "online");
    CHECK(status[0].retain);
}

namespace {

// A TCP "broker" that accepts one client, answers its CONNECT with a CONNACK,
// then reads and never answers anything again (no PINGRESP, no PUBACK): a
// broker that hangs without closing the connection.
class SilentBroker {
public:
    SilentBroker() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        ::listen(fd_, 4);
        thread_ = std::thread([this] { run(); });
    }
    ~SilentBroker() {
        stop_ = true;
        ::shutdown(fd_, SHUT_RDWR);
        thread_.join();
        ::close(fd_);
    }
    int port() const { return port_; }
    std::vector<uint8_t> packet_types() {
        std::lock_guard l(mu_);
        return types_;
    }
    int connections() const { return connections_; }

private:
    void run() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) continue;
            ++connections_;
            serve(c);
            ::close(c);
        }
    }
    // Splits the byte stream into MQTT packets (fixed header + remaining length).
    void serve(int c) {
        std::string buf;
        bool connack_sent = false;
        while (!stop_) {
            pollfd p{c, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            char tmp[4096];
            ssize_t n = ::read(c, tmp, sizeof tmp);
            if (n <= 0) return; // the client gave up on us
            buf.append(tmp, static_cast<size_t>(n));
            for (;;) {
                size_t len = 0, i = 1;
                int shift = 0;
                bool complete = false;
                while (i < buf.size() && i <= 4) {
                    uint8_t b = static_cast<uint8_t>(buf[i++]);
                    len |= static_cast<size_t>(b & 0x7F) << shift;
                    shift += 7;
                    if (!(b & 0x80)) { complete = true; break; }
                }
                if (!complete || buf.size() < i + len) break;
                {
                    std::lock_guard l(mu_);
                    types_.push_back(static_cast<uint8_t>(buf[0]) >> 4);
                }
                if ((static_cast<uint8_t>(buf[0]) >> 4) == 1 && !connack_sent) { // CONNECT
                    const char connack[] = {0x20, 0x02, 0x00, 0x00};
                    (void)!::write(c, connack, sizeof connack);
                    connack_sent = true;
                }
                buf.erase(0, i + len);
            }
        }
    }
    int fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> connections_{0};
    std::thread thread_;
    std::mutex mu_;
    std::vector<uint8_t> types_;
};

} // namespace

TEST_CASE("keepalive: a broker that stops answering (no PINGRESP) is noticed and left") {
    SilentBroker silent;
    ModuleHarness h(passerelle::testing::module_path("mqtt"));
    REQUIRE(h.create(R"({"url":"mqtt://127.0.0.1:)" + std::to_string(silent.port()) +
                     R"(","daemon_name":"maison","keepalive":"5s","reconnect_min":"50ms","reconnect_max":"200ms","discovery":"off"})")
                .ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 5s));
    const auto connected_at = std::chrono::steady_clock::now();
    // Dead after 1.5 x keepalive without a byte from the broker (checked every second).
    REQUIRE(h.wait_for_health("reconnecting", 12s));
    const auto noticed = std::chrono::steady_clock::now() - connected_at;
    CHECK(noticed >= 6s);  // not before 1.5 x 5 s (minus the time wait_for_health took to see "connected")
    CHECK(noticed <= 11s);
    CHECK(h.health().detail.find("keepalive") != std::string::npos);
    auto types = silent.packet_types();
    CHECK(std::count(types.begin(), types.end(), 12) >= 1); // a PINGREQ was sent while idle, never answered
    REQUIRE(h.wait_for_health("connected", 5s)); // it tries again
    CHECK(silent.connections() >= 2);
}

TEST_CASE("a wrong password gives auth_failed without a tight loop") {
    TempDir dir("mqtt-module");
    mqtt_test::Broker broker(dir.path());
    ModuleHarness h(passerelle::testing::module_path("mqtt"));
    std::string cfg = R"({"url":")" + broker.url() +
                      R"(","user":"passerelle","password":"wrong","daemon_name":"maison","reconnect_min":"10ms","auth_retry":"5s"})";
    REQUIRE(h.create(cfg).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("auth_failed", 5s));
    std::this_thread::sleep_for(1500ms);
    CHECK(h.counter("connect_attempts") == 1); // the next try waits auth_retry, not reconnect_min
    CHECK(h.health().detail.find("wrong") == std::string::npos); // never the secret
    for (auto& l : h.logs()) CHECK(l.message.find("wrong") == std::string::npos);
}

TEST_CASE("an unreachable broker is reported and retried with backoff; events wait, then go in order") {
    TempDir dir("mqtt-module");
    mqtt_test::Broker broker(dir.path());
    mqtt_test::Subscriber sub(broker.port(), {"passerelle/cam_garage/#"});
    broker.stop();
    ModuleHarness h(passerelle::testing::module_path("mqtt"));
    REQUIRE(h.create(config(broker, R"(,"discovery":"off")")).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("unreachable", 5s));
    // A delivery while the broker is down is held, not refused.
    auto pending = std::async(std::launch::async, [&] { return h.deliver(event("motion", 1, State::start), 15s); });
    // 2 s down with reconnect_min 50ms, reconnect_max 500ms: tries at ceilings 50, 100, 200,
    // 400, 500, 500 ... ms (uniform in [25ms, ceiling]): about 10 tries on average. A loop
    // that does not back off (every 25-50 ms) would try 40 to 80 times.
    std::this_thread::sleep_for(2s);
    const int64_t attempts_while_down = h.counter("connect_attempts");
    CHECK(attempts_while_down >= 4);
    CHECK(attempts_while_down <= 25);
    broker.start();
    REQUIRE(pending.get().ok());
    REQUIRE(h.wait_for_health("connected", 5s));
    CHECK(h.counter("connect_attempts") > attempts_while_down);
    mqtt_test::Subscriber after(broker.port(), {"passerelle/cam_garage/motion/1/state"});
    auto m = after.wait([](auto& x) { return !x.empty(); }, 3s);
    REQUIRE(m.size() == 1);
    CHECK(m[0].payload == "ON");
}

TEST_CASE("a command for an instance not in allow_commands is refused on the result topic") {
    TempDir dir("mqtt-module");
    mqtt_test::Broker broker(dir.path());
    mqtt_test::Subscriber sub(broker.port(), {"passerelle/cmd/#"});
    ModuleHarness h(passerelle::testing::module_path("mqtt"));
    REQUIRE(h.create(config(broker, R"(,"allow_commands":["demo"])")).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 5s));
    std::this_thread::sleep_for(200ms); // the SUBSCRIBE is in
    sub.publish("passerelle/cmd/secret_box/open", "{}");
    auto m = sub.wait([](auto& x) {
        return std::any_of(x.begin(), x.end(), [](auto& y) { return y.topic == "passerelle/cmd/secret_box/open/result"; });
    }, 5s);
    auto results = sub.on_topic("passerelle/cmd/secret_box/open/result");
    REQUIRE(results.size() == 1);
    auto j = nlohmann::json::parse(results[0].payload);
    CHECK(j["ok"] == false);
    CHECK(j["error"].get<std::string>().find("not allowed") != std::string::npos);

    sub.publish("passerelle/cmd/demo/emit", "not json");
    sub.wait([](auto& x) {
        return std::any_of(x.begin(), x.end(), [](auto& y) { return y.topic == "passerelle/cmd/demo/emit/result"; });
    }, 5s);
    auto bad = sub.on_topic("passerelle/cmd/demo/emit/result");
    REQUIRE(bad.size() == 1);
    CHECK(nlohmann::json::parse(bad[0].payload)["status"] == PL_ERR_INVALID);
}

TEST_CASE("MQTT 5: a message the broker's ACL refuses is a permanent failure, not a retry loop") {
    TempDir dir("mqtt-module");
    mqtt_test::Broker broker(dir.path());
    ModuleHarness h(passerelle::testing::module_path("mqtt"));
    REQUIRE(h.create(config(broker, R"(,"protocol":"5","discovery":"off")")).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 5s));
    auto refused = h.invoke("publish", R"({"topic":"forbidden/x","payload":"no"})");
    CHECK(refused.status == PL_ERR_PERMANENT);
    CHECK(refused.result.find("forbidden/x") != std::string::npos);
    // The connection is still fine for what is allowed.
    CHECK(h.invoke("publish", R"({"topic":"passerelle/ok","payload":"yes"})").ok());
    CHECK(h.health().state == "connected");
}

namespace {

// A throwaway CA and a server certificate for 127.0.0.1, made with the openssl CLI.
void make_tls_files(const std::filesystem::path& d) {
    const std::string q = d.string();
    std::ofstream(d / "san.ext") << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
    std::string cmd =
        "cd " + q + " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca"
        " && openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost"
        " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2"
        " -extfile san.ext"
        " && openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other-ca.pem -days 2 -subj /CN=other-ca";
    cmd = "(" + cmd + ") >/dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
}

} // namespace

TEST_CASE("mqtts: verified with ca_file; an unknown CA is refused; verify_tls = false connects with a warning") {
    TempDir dir("mqtt-module");
    make_tls_files(dir.path());
    const int tls_port = mqtt_test::free_port();
    const std::string d = dir.path().string();
    mqtt_test::Broker broker(dir.path(), "listener " + std::to_string(tls_port) + " 127.0.0.1\n" +
                                             "cafile " + d + "/ca.pem\ncertfile " + d + "/server.pem\nkeyfile " + d +
                                             "/server.key\n");
    const std::string url = "mqtts://127.0.0.1:" + std::to_string(tls_port);
    auto cfg = [&](const std::string& extra) {
        return R"({"url":")" + url + R"(","user":"passerelle","password":"s3cret","daemon_name":"maison",)"
               R"("reconnect_min":"50ms","reconnect_max":"300ms","discovery":"off")" + extra + "}";
    };
    mqtt_test::Subscriber sub(broker.port(), {"passerelle/cam_garage/#"});

    SECTION("the right CA") {
        ModuleHarness h(passerelle::testing::module_path("mqtt"));
        REQUIRE(h.create(cfg(R"(,"ca_file":")" + d + R"(/ca.pem")")).ok());
        REQUIRE(h.start() == PL_OK);
        REQUIRE(h.wait_for_health("connected", 5s));
        REQUIRE(h.deliver(event("motion", 1, State::start)).ok());
        auto m = sub.wait([](auto& x) { return !x.empty(); }, 3s);
        CHECK_FALSE(m.empty());
    }
    SECTION("another CA: not connected, nothing delivered") {
        ModuleHarness h(passerelle::testing::module_path("mqtt"));
        REQUIRE(h.create(cfg(R"(,"ca_file":")" + d + R"(/other-ca.pem")")).ok());
        REQUIRE(h.start() == PL_OK);
        std::this_thread::sleep_for(1500ms);
        CHECK(h.health().state != "connected");
        CHECK(h.counter("connect_attempts") >= 2); // retried with backoff
    }
    SECTION("verify_tls = false") {
        ModuleHarness h(passerelle::testing::module_path("mqtt"));
        REQUIRE(h.create(cfg(R"(,"verify_tls":false)")).ok());
        REQUIRE(h.start() == PL_OK);
        REQUIRE(h.wait_for_health("connected", 5s));
        bool warned = false;
        for (auto& l : h.logs()) warned |= l.message.find("verify_tls = false") != std::string::npos;
        CHECK(warned);
    }
}

TEST_CASE("mqtts with a client certificate: accepted with client_cert + client_key, refused without") {
    TempDir dir("mqtt-module");
    make_tls_files(dir.path());
    const std::string d = dir.path().string();
    std::string cmd = "(cd " + d +
                      " && openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=passerelle"
                      " && openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2"
                      ") >/dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
    const int tls_port = mqtt_test::free_port();
    mqtt_test::Broker broker(dir.path(), "listener " + std::to_string(tls_port) + " 127.0.0.1\n" + "cafile " + d +
                                             "/ca.pem\ncertfile " + d + "/server.pem\nkeyfile " + d +
                                             "/server.key\nrequire_certificate true\n");
    auto cfg = [&](const std::string& extra) {
        return R"({"url":"mqtts://127.0.0.1:)" + std::to_string(tls_port) +
               R"(","user":"passerelle","password":"s3cret","daemon_name":"maison","ca_file":")" + d +
               R"(/ca.pem","reconnect_min":"50ms","reconnect_max":"300ms","discovery":"off")" + extra + "}";
    };
    mqtt_test::Subscriber sub(broker.port(), {"passerelle/cam_garage/#"});
    SECTION("with the client certificate") {
        ModuleHarness h(passerelle::testing::module_path("mqtt"));
        REQUIRE(h.create(cfg(R"(,"client_cert":")" + d + R"(/client.pem","client_key":")" + d + R"(/client.key")")).ok());
        REQUIRE(h.start() == PL_OK);
        REQUIRE(h.wait_for_health("connected", 5s));
        REQUIRE(h.deliver(event("motion", 1, State::start)).ok());
        CHECK_FALSE(sub.wait([](auto& x) { return !x.empty(); }, 3s).empty());
    }
    SECTION("without it: the handshake fails, retried, never connected") {
        ModuleHarness h(passerelle::testing::module_path("mqtt"));
        REQUIRE(h.create(cfg("")).ok());
        REQUIRE(h.start() == PL_OK);
        std::this_thread::sleep_for(1500ms);
        CHECK(h.health().state != "connected");
        CHECK(h.counter("connect_attempts") >= 2);
    }
}

TEST_CASE("persistent session (3.1.1 and 5): a QoS 1 command sent while the daemon is away reaches it on return") {
    for (const char* protocol : {"3.1.1", "5"}) {
        INFO("protocol " << protocol);
        TempDir dir("mqtt-module");
        mqtt_test::Broker broker(dir.path());
        mqtt_test::Subscriber sub(broker.port(), {"passerelle/cmd/#"});
        const std::string cfg =
            config(broker, std::string(R"(,"discovery":"off","allow_commands":["demo"],"protocol":")") + protocol + "\"");
        ModuleHarness h(passerelle::testing::module_path("mqtt"));
        REQUIRE(h.create(cfg).ok());
        REQUIRE(h.start() == PL_OK);
        REQUIRE(h.wait_for_health("connected", 5s));
        std::this_thread::sleep_for(300ms); // the SUBSCRIBE is in
        h.destroy();                         // a clean DISCONNECT
        sub.publish("passerelle/cmd/demo/emit", R"({"type":"doorbell"})");
        std::this_thread::sleep_for(200ms);
        REQUIRE(h.create(cfg).ok());
        REQUIRE(h.start() == PL_OK);
        // The harness host cannot run actions (no ABI 1.1 invoke): the answer is an error, but it
        // proves the broker kept the command for us.
        auto m = sub.wait([](auto& x) {
            return std::any_of(x.begin(), x.end(), [](auto& y) { return y.topic == "passerelle/cmd/demo/emit/result"; });
        }, 5s);
        CHECK(sub.on_topic("passerelle/cmd/demo/emit/result").size() == 1);
    }
}

TEST_CASE("a source's health (device event): retained health word and one HA diagnostic sensor") {
    TempDir dir("mqtt-module");
    mqtt_test::Broker broker(dir.path());
    mqtt_test::Subscriber sub(broker.port(), {"passerelle/cam_garage/device/#", "homeassistant/sensor/#"});
    ModuleHarness h(passerelle::testing::module_path("mqtt"));
    REQUIRE(h.create(config(broker)).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 5s));
    Event e = event("device", 0, State::stop);
    e.code = "auth_failed";
    REQUIRE(h.deliver(e).ok());
    e.code = "connected";
    e.state = State::start;
    REQUIRE(h.deliver(e).ok());
    auto msgs = sub.wait([](auto& m) { return m.size() >= 3; }, 5s);
    auto health = sub.on_topic("passerelle/cam_garage/device/health");
    REQUIRE(health.size() == 2);
    CHECK(health[0].payload == "auth_failed");
    CHECK(health[1].payload == "connected");
    int sensors = 0;
    for (auto& m : msgs) {
        if (m.topic.rfind("homeassistant/sensor/", 0) != 0) continue;
        ++sensors;
        auto cfg = nlohmann::json::parse(m.payload);
        CHECK(cfg["state_topic"] == "passerelle/cam_garage/device/health");
        CHECK(cfg["entity_category"] == "diagnostic");
    }
    CHECK(sensors == 1); // start and stop of the health share one entity
    // Retained: a later subscriber sees the current health.
    mqtt_test::Subscriber late(broker.port(), {"passerelle/cam_garage/device/health"});
    auto r = late.wait([](auto& m) { return !m.empty(); }, 3s);
    REQUIRE(r.size() == 1);
    CHECK(r[0].payload == "connected");
}
