// Test support: a real Mosquitto broker on a loopback port (password file, ACL,
// persistence in a temp dir) and a libmosquitto subscriber that records what
// arrives. Bounded waits everywhere.
#pragma once

#include <mosquitto.h>

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace mqtt_test {

inline int free_port() {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(s);
    return ntohs(a.sin_port);
}

inline bool port_open(int port) {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(s);
    return ok;
}

inline pid_t spawn(const std::vector<std::string>& argv, const std::string& log) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    pid_t pid = 0;
    int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw std::runtime_error("cannot run " + argv[0]);
    return pid;
}

inline std::string mosquitto_binary() {
    for (const char* p : {"/usr/sbin/mosquitto", "/usr/bin/mosquitto"})
        if (std::filesystem::exists(p)) return p;
    return "mosquitto";
}

inline std::string current_user() {
    const passwd* pw = ::getpwuid(::getuid());
    return pw && pw->pw_name ? pw->pw_name : "root";
}

// users: {user, password}; ACL: `passerelle` may use passerelle/#,
// homeassistant/#, replies/# and home/# (nothing else: "forbidden/..." is refused),
// `watcher` may use everything.
class Broker {
public:
    // `extra`: more config lines (e.g. a TLS listener), appended.
    explicit Broker(std::filesystem::path dir, const std::string& extra = "") : dir_(std::move(dir)), port_(free_port()) {
        std::filesystem::create_directories(dir_ / "data");
        std::ofstream(dir_ / "passwd") << "";
        for (auto [u, p] : {std::pair{"passerelle", "s3cret"}, std::pair{"watcher", "w4tch"}}) {
            std::string cmd = "mosquitto_passwd -b " + (dir_ / "passwd").string() + " " + u + " " + p + " >/dev/null 2>&1";
            if (std::system(cmd.c_str()) != 0) throw std::runtime_error("mosquitto_passwd failed");
        }
        std::ofstream(dir_ / "acl") << "user passerelle\ntopic readwrite passerelle/#\ntopic readwrite homeassistant/#\n"
                                       "topic readwrite replies/#\ntopic readwrite home/#\n\n"
                                       "user watcher\ntopic readwrite #\n";
        std::ofstream(dir_ / "mosquitto.conf")
            << "user " << current_user() << "\n" // as root, mosquitto would drop to a user that cannot read dir_
            << "listener " << port_ << " 127.0.0.1\n"
            << "allow_anonymous false\n"
            << "password_file " << (dir_ / "passwd").string() << "\n"
            << "acl_file " << (dir_ / "acl").string() << "\n"
            << "persistence true\n"
            << "persistence_location " << (dir_ / "data").string() << "/\n"
            << "max_queued_messages 100000\n"
            << "log_dest stderr\n"
            << extra;
        start();
    }
    ~Broker() { stop(); }

    void start() {
        pid_ = spawn({mosquitto_binary(), "-c", (dir_ / "mosquitto.conf").string()}, (dir_ / "broker.log").string());
        for (int i = 0; i < 200 && !port_open(port_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
        if (!port_open(port_)) throw std::runtime_error("mosquitto did not start");
    }
    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        int status = 0;
        for (int i = 0; i < 200; ++i) {
            if (::waitpid(pid_, &status, WNOHANG) == pid_) { pid_ = 0; return; }
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        }
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        pid_ = 0;
    }
    int port() const { return port_; }
    std::string url() const { return "mqtt://127.0.0.1:" + std::to_string(port_); }

private:
    std::filesystem::path dir_;
    int port_;
    pid_t pid_ = 0;
};

struct Message {
    std::string topic;
    std::string payload;
    bool retain = false;
    int qos = 0; // as delivered to the subscriber (which subscribes at QoS 1)
};

// A subscriber on libmosquitto's own thread.
class Subscriber {
public:
    Subscriber(int port, std::vector<std::string> filters, std::string user = "watcher", std::string pass = "w4tch") {
        mosquitto_lib_init();
        m_ = mosquitto_new(nullptr, true, this);
        mosquitto_username_pw_set(m_, user.c_str(), pass.c_str());
        filters_ = std::move(filters);
        mosquitto_connect_callback_set(m_, [](mosquitto* m, void* o, int rc) {
            auto* self = static_cast<Subscriber*>(o);
            if (rc == 0)
                for (auto& f : self->filters_) mosquitto_subscribe(m, nullptr, f.c_str(), 1);
            std::lock_guard l(self->mu_);
            self->connected_ = rc == 0;
            self->cv_.notify_all();
        });
        mosquitto_subscribe_callback_set(m_, [](mosquitto*, void* o, int, int, const int*) {
            auto* self = static_cast<Subscriber*>(o);
            std::lock_guard l(self->mu_);
            ++self->subacks_;
            self->cv_.notify_all();
        });
        mosquitto_message_callback_set(m_, [](mosquitto*, void* o, const mosquitto_message* msg) {
            auto* self = static_cast<Subscriber*>(o);
            std::lock_guard l(self->mu_);
            self->messages_.push_back({msg->topic, std::string(static_cast<const char*>(msg->payload), msg->payloadlen),
                                       msg->retain, msg->qos});
            self->cv_.notify_all();
        });
        mosquitto_connect(m_, "127.0.0.1", port, 30);
        mosquitto_loop_start(m_);
        std::unique_lock l(mu_);
        cv_.wait_for(l, std::chrono::seconds(5), [&] { return subacks_ >= static_cast<int>(filters_.size()); });
    }
    ~Subscriber() {
        mosquitto_disconnect(m_);
        mosquitto_loop_stop(m_, true);
        mosquitto_destroy(m_);
    }
    void publish(const std::string& topic, const std::string& payload, bool retain = false) {
        mosquitto_publish(m_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 1, retain);
    }
    std::vector<Message> messages() {
        std::lock_guard l(mu_);
        return messages_;
    }
    // Waits until `pred(messages)` holds or the time is up; returns the messages.
    std::vector<Message> wait(const std::function<bool(const std::vector<Message>&)>& pred,
                              std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        std::unique_lock l(mu_);
        cv_.wait_for(l, timeout, [&] { return pred(messages_); });
        return messages_;
    }
    std::vector<Message> on_topic(const std::string& topic) {
        std::vector<Message> out;
        for (auto& m : messages())
            if (m.topic == topic) out.push_back(m);
        return out;
    }

private:
    mosquitto* m_;
    std::vector<std::string> filters_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool connected_ = false;
    int subacks_ = 0;
    std::vector<Message> messages_;
};

} // namespace mqtt_test
