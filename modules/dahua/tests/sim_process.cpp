#include "sim_process.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <signal.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>

extern char** environ;

namespace dahua_test {

SimProcess::SimProcess(std::vector<std::string> args, double lifetime_s) {
    std::random_device rd;
    dir_ = std::filesystem::temp_directory_path() / ("dahua-sim-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(dir_);
    std::vector<std::string> argv_s{PYTHON3, DAHUA_SIM, "--port", "0", "--port-file", (dir_ / "ports").string(),
                                    "--log", (dir_ / "requests.jsonl").string(), "--lifetime",
                                    std::to_string(lifetime_s)};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    for (auto& a : args)
        if (a == "--tls-cert") scheme_ = "https";
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0)
        throw std::runtime_error("cannot start the simulator");
    pid_ = pid;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
        std::ifstream in(dir_ / "ports");
        std::string line;
        if (std::getline(in, line) && std::sscanf(line.c_str(), "http=%d dhip=%d", &http_port_, &dhip_port_) == 2)
            return;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("the simulator did not start");
}

SimProcess::~SimProcess() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

std::vector<nlohmann::json> SimProcess::requests() const {
    std::vector<nlohmann::json> out;
    std::ifstream in(dir_ / "requests.jsonl");
    std::string line;
    while (std::getline(in, line)) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_object()) out.push_back(std::move(j));
    }
    return out;
}

std::vector<nlohmann::json> SimProcess::requests_to(const std::string& what) const {
    std::vector<nlohmann::json> out;
    for (auto& r : requests())
        if (r.value("path", "") == what || r.value("method", "") == what) out.push_back(r);
    return out;
}

} // namespace dahua_test
