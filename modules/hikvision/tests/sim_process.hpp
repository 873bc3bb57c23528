// Runs tests/hik_sim.py on a free 127.0.0.1 port for one test (bounded
// lifetime, killed by pid in the destructor) and reads its request log.
#pragma once

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

class HikSim {
public:
    explicit HikSim(std::vector<std::string> args, double lifetime_s = 30) {
        int fds[2];
        if (pipe(fds) != 0) throw std::runtime_error("pipe");
        pid_ = fork();
        if (pid_ == 0) {
            dup2(fds[1], 1);
            close(fds[0]);
            close(fds[1]);
            std::vector<std::string> argv_s = {PYTHON3, HIK_SIM, "--port", "0", "--lifetime", std::to_string(lifetime_s)};
            argv_s.insert(argv_s.end(), args.begin(), args.end());
            std::vector<char*> argv;
            for (auto& a : argv_s) argv.push_back(a.data());
            argv.push_back(nullptr);
            execv(argv[0], argv.data());
            _exit(127);
        }
        close(fds[1]);
        FILE* out = fdopen(fds[0], "r");
        char line[128] = {};
        if (!out || !fgets(line, sizeof line, out) || sscanf(line, "PORT %d", &port_) != 1) {
            if (out) fclose(out);
            kill_sim();
            throw std::runtime_error("hik_sim.py did not start");
        }
        fclose(out);
    }
    ~HikSim() { kill_sim(); }
    HikSim(const HikSim&) = delete;
    HikSim& operator=(const HikSim&) = delete;

    int port() const { return port_; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

    // GET path (no auth) -> body; "" on failure.
    std::string get(const std::string& path) const {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<uint16_t>(port_));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        timeval tv{5, 0};
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        std::string resp;
        if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
            std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
            (void)!write(s, req.data(), req.size());
            char buf[65536];
            for (ssize_t n; (n = read(s, buf, sizeof buf)) > 0;) resp.append(buf, static_cast<size_t>(n));
        }
        close(s);
        auto body = resp.find("\r\n\r\n");
        return body == std::string::npos ? std::string() : resp.substr(body + 4);
    }

    nlohmann::json requests() const {
        auto j = nlohmann::json::parse(get("/sim/requests"), nullptr, false);
        return j.is_array() ? j : nlohmann::json::array();
    }
    // Requests whose path is `path` (and method, if given).
    std::vector<nlohmann::json> requests_to(const std::string& path, const std::string& method = "") const {
        std::vector<nlohmann::json> out;
        for (auto& r : requests())
            if (r.value("path", "") == path && (method.empty() || r.value("method", "") == method)) out.push_back(r);
        return out;
    }

private:
    void kill_sim() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            int st = 0;
            for (int i = 0; i < 50 && waitpid(pid_, &st, WNOHANG) == 0; ++i)
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            if (waitpid(pid_, &st, WNOHANG) == 0) {
                ::kill(pid_, SIGKILL);
                waitpid(pid_, &st, 0);
            }
            pid_ = -1;
        }
    }
    pid_t pid_ = -1;
    int port_ = 0;
};
