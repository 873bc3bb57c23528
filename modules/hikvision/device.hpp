// One configured Hikvision device: its alertStream session, the device and
// channel information read on connect, snapshots and image retention, the
// actions (snapshot, motion detection, event notification, outputs, doors,
// arm/disarm) and the optional intercom call-status poll. module.cpp declares
// the keys and actions and forwards the instance's lifecycle here.
#pragma once

#include <passerelle/module.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>

namespace boost::asio {
class io_context;
}

namespace passerelle::hikvision {

struct DeviceConfig {
    std::string base_url; // scheme://host[:port]
    std::string user, password;
    bool verify_tls = true;
    std::string ca_file;
    std::chrono::milliseconds inactive_timeout{5'000}, heartbeat_timeout{40'000}, reattach_interval{300'000};
    std::chrono::milliseconds reconnect_max{60'000}, auth_backoff{60'000}, auth_backoff_max{600'000};
    std::chrono::milliseconds image_wait{2'000}, request_timeout{10'000};
    bool hold_smart_events = false;
    std::string image_dir;
    std::chrono::milliseconds image_retention{7LL * 24 * 3600 * 1000};
    std::set<std::string> snapshot_on; // event types or codes
    std::map<int, std::string> channel_names; // config overrides
    std::chrono::milliseconds call_status_poll{0};
};

// Reads and checks the instance config (throws ConfigError naming the key).
DeviceConfig read_device_config(const Fields& config);

class Device {
public:
    Device(Instance& instance, DeviceConfig config);
    ~Device();
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;

    void start(boost::asio::io_context& io);
    void stop();
    // True when the action is one of ours (answered now or later).
    bool handle(Call& call);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace passerelle::hikvision
