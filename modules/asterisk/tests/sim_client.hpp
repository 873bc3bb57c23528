// Shared by the module tests: ami_sim.py as a child process (commands on its
// stdin, what the client sent read back from its JSON log) and small helpers.
#pragma once

#include "module_harness.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <thread>

namespace ami_test {

using nlohmann::json;
using passerelle::Event;
using passerelle::testing::TempDir;
using namespace std::chrono_literals;

// The simulator as a child process; commands go to its stdin.
class Sim {
public:
    // --port 0: the sim binds a free port itself and prints it (no race with
    // another process taking a port picked in advance).
    explicit Sim(const std::string& version = "20.20.1", const std::string& extra = "") {
        std::string cmd = std::string(PYTHON3) + " " + AMI_SIM + " --port 0 --version " + version +
                          " --log " + (dir_ / "sim.jsonl").string() + " " + extra + " > " + (dir_ / "sim.out").string() + " 2>&1";
        pipe_ = ::popen(cmd.c_str(), "w");
        REQUIRE(pipe_);
        for (int i = 0; i < 300 && !listening(); ++i) std::this_thread::sleep_for(50ms); // Python may start slowly on a loaded machine
        REQUIRE(listening());
    }
    ~Sim() {
        command("quit");
        ::pclose(pipe_);
    }
    void command(const std::string& c) {
        std::fputs((c + "\n").c_str(), pipe_);
        std::fflush(pipe_);
    }
    int port() const { return port_; }
    // Every packet the client sent, as [[key, value], ...].
    std::vector<json> received() const {
        std::vector<json> out;
        std::ifstream in(dir_ / "sim.jsonl");
        for (std::string line; std::getline(in, line);)
            if (!line.empty()) out.push_back(json::parse(line)["fields"]);
        return out;
    }
    std::vector<json> actions(const std::string& name) const {
        std::vector<json> out;
        for (auto& f : received())
            if (!f.empty() && f[0][0] == "Action" && f[0][1] == name) out.push_back(f);
        return out;
    }

private:
    bool listening() {
        std::ifstream in(dir_ / "sim.out");
        std::string line;
        if (!std::getline(in, line) || line.rfind("PORT ", 0) != 0) return false;
        port_ = std::stoi(line.substr(5));
        return port_ > 0;
    }
    TempDir dir_{"ami-sim"};
    int port_ = 0;
    FILE* pipe_ = nullptr;
};

inline std::string config(int port, const std::string& extra = "{}") {
    json c = {{"host", "127.0.0.1"}, {"port", port}, {"user", "passerelle"}, {"secret", "Amisecret42"},
              {"context", "test"}, {"channel_tech", "SIP"}, {"message_tech", "sip"}, {"caller_id", "\"eedomus\" <101>"},
              {"timeout", "20s"}, {"ping_interval", "1s"}};
    c.update(json::parse(extra));
    return c.dump();
}

inline std::string value(const json& fields, const std::string& key) {
    for (auto& kv : fields)
        if (kv[0] == key) return kv[1];
    return "";
}

inline std::vector<Event> of(const std::vector<Event>& es, const std::string& type) {
    std::vector<Event> out;
    for (auto& e : es)
        if (e.type == type) out.push_back(e);
    return out;
}

inline bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) return true;
        std::this_thread::sleep_for(20ms);
    }
    return pred();
}

} // namespace ami_test
