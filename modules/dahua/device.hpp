// One configured Dahua device (an instance of the module): its event session
// (CGI long poll or DHIP), and everything around it over CGI: model/serial,
// channel titles, snapshots, missed rings, actions. Runs on the module's
// IoExecutor thread only. module.cpp holds the declaration and the glue.
#pragma once

#include <passerelle/module.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace passerelle::dahua {

struct DeviceConfig {
    std::string url; // base "http(s)://host[:port]", no trailing slash
    std::string host;
    std::string user;
    std::string password;
    std::set<std::string> codes; // empty: every code
    std::chrono::milliseconds heartbeat{5000};
    bool verify_tls = true;
    std::string ca_file;
    bool dhip = false;
    uint16_t dhip_port = 5000;
    std::set<std::string> snapshot_on;
    std::map<int, std::string> channels;
    std::chrono::milliseconds reconnect_max{60000};
    std::chrono::milliseconds auth_retry{60000};
    std::chrono::milliseconds auth_retry_max{600000};
    std::string snapshot_dir; // "" -> <state_dir>/snapshots
    std::string missed_rings = "auto"; // auto | true | false
};

// Validates and reads the instance config; throws ConfigError at the key at fault.
DeviceConfig parse_device_config(const Fields& config);

class Device {
public:
    Device(Instance& self, boost::asio::io_context& io, DeviceConfig config);
    ~Device();
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;

    void start();
    void stop();
    void action(Call& call);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace passerelle::dahua
