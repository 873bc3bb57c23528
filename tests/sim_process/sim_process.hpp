// Runs a Python simulator (jeedom_sim.py, eedomus_sim.py...) as a child process
// for module tests, and talks to its JSON control port with a tiny blocking
// HTTP client (127.0.0.1 only, Connection: close, bounded by a timeout).
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace passerelle::testing {

class SimProcess {
public:
    // Starts `python3 script args... --port-file <tmp>` and waits (10 s at
    // most) for the ports. Throws std::runtime_error when it does not start.
    SimProcess(const std::string& script, std::vector<std::string> args);
    ~SimProcess(); // SIGTERM, then SIGKILL after 2 s
    SimProcess(const SimProcess&) = delete;
    SimProcess& operator=(const SimProcess&) = delete;

    int port() const { return port_; }
    int control_port() const { return control_; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

    nlohmann::json get(const std::string& path) const;
    nlohmann::json post(const std::string& path, const nlohmann::json& body) const;

private:
    int pid_ = -1;
    int port_ = 0;
    int control_ = 0;
    std::string port_file_;
};

// One HTTP/1.1 exchange on 127.0.0.1:port (Connection: close): the body, or
// throws std::runtime_error. For tests only.
std::string http_exchange(int port, const std::string& method, const std::string& target, const std::string& body,
                          std::chrono::milliseconds timeout = std::chrono::seconds(5));

} // namespace passerelle::testing
