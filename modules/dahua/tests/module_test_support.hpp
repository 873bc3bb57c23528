// Helpers shared by the module tests (dahua.so through the harness against
// dahua_sim.py). Every wait is bounded.
#pragma once

#include "sim_process.hpp"

#include "module_harness.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <thread>

namespace dahua_test {

using namespace std::chrono_literals;

// An instance config for `sim` (digest admin/secret, 1 s heartbeat), `extra` on top.
inline std::string config(const SimProcess& sim, nlohmann::json extra = nlohmann::json::object()) {
    nlohmann::json c = {{"url", sim.url()}, {"user", "admin"}, {"password", "secret"}, {"heartbeat", "1s"}};
    for (auto it = extra.begin(); it != extra.end(); ++it) c[it.key()] = it.value();
    return c.dump();
}

inline std::string script_file(const nlohmann::json& events) {
    auto p = std::filesystem::temp_directory_path() /
             ("dahua-script-" + std::to_string(std::random_device{}()) + ".json");
    std::ofstream(p) << events.dump();
    return p.string();
}

inline bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) return true;
        std::this_thread::sleep_for(20ms);
    }
    return pred();
}

inline size_t count_code(const passerelle::testing::ModuleHarness& h, std::string_view code) {
    size_t n = 0;
    for (auto& e : h.events()) n += e.code == code;
    return n;
}

// Logged requests to `path` that got HTTP `status`.
inline size_t count_status(const SimProcess& sim, const std::string& path, int status) {
    size_t n = 0;
    for (auto& r : sim.requests_to(path)) n += r.value("status", 0) == status;
    return n;
}

// Waits (the simulator logs a request after answering it) for a request to
// `path` whose query has key = value.
inline bool logged(const SimProcess& sim, const std::string& path, const std::string& key, const std::string& value) {
    return wait_until([&] {
        for (auto& r : sim.requests_to(path))
            if (r.contains("query") && r["query"].value(key, "\x01") == value) return true;
        return false;
    }, 5s);
}

// How many times the harness saw health `state`.
inline size_t health_reports(const passerelle::testing::ModuleHarness& h, std::string_view state) {
    size_t n = 0;
    for (auto& hh : h.health_history()) n += hh.state == state;
    return n;
}

} // namespace dahua_test
