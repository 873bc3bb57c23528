// Runs dahua_sim.py for a test: on a free port, with a bounded lifetime, killed
// (by its pid) when the object dies. The request log is read back as JSON lines.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace dahua_test {

class SimProcess {
public:
    // `args`: extra simulator options ("--events", "VideoMotion:Start:0", ...).
    explicit SimProcess(std::vector<std::string> args, double lifetime_s = 40);
    ~SimProcess();
    SimProcess(const SimProcess&) = delete;
    SimProcess& operator=(const SimProcess&) = delete;

    int http_port() const { return http_port_; }
    int dhip_port() const { return dhip_port_; }
    // https:// when the simulator was started with --tls-cert.
    std::string url() const { return scheme_ + "://127.0.0.1:" + std::to_string(http_port_); }
    // Every logged request so far.
    std::vector<nlohmann::json> requests() const;
    // Requests whose path (or DHIP method) equals `what`.
    std::vector<nlohmann::json> requests_to(const std::string& what) const;

private:
    std::filesystem::path dir_;
    int pid_ = -1;
    int http_port_ = 0;
    int dhip_port_ = -1;
    std::string scheme_ = "http";
};

} // namespace dahua_test
