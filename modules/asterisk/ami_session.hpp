// One AMI session (TCP or TLS) on the module's io_context: connect, banner,
// login (plain or MD5 challenge), Ping keepalive, CoreSettings, reconnect with
// exponential backoff and jitter, slow retries after a refused login. Asio
// stays in ami_session.cpp (pimpl). Every callback runs on the io thread.
#pragma once

#include "action_tracker.hpp"
#include "ami_packet.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace passerelle::asterisk {

struct SessionOptions {
    std::string host = "127.0.0.1";
    uint16_t port = 5038;
    std::string user;
    std::string secret;
    bool md5 = false;             // Challenge + Key = md5(challenge + secret)
    bool tls = false;
    bool verify_tls = true;
    std::string ca_file;
    std::string events = "system,call,dtmf,user"; // Login's Events: on, off or a class list
    std::chrono::milliseconds ping_interval{20000};
    std::chrono::milliseconds connect_timeout{10000};
    std::chrono::milliseconds login_timeout{10000};
    std::chrono::milliseconds retry_max{60000};      // reconnect backoff cap
    std::chrono::milliseconds auth_retry_min{60000}; // after a refused login
    std::chrono::milliseconds auth_retry_max{600000};
    std::chrono::milliseconds events_check{5000};    // FullyBooted expected within this after login
};

class AmiSession {
public:
    struct Callbacks {
        std::function<void(const AmiPacket&)> on_event;               // events no action consumed
        std::function<void(const std::string& reason)> on_disconnected; // after a logged-in session ends
        std::function<void(std::string_view state, std::string_view detail, const nlohmann::json& info)> on_health;
        std::function<void(int level, const std::string& message)> log; // pl_log_level
        std::function<void(std::string_view counter)> count;
    };

    AmiSession(boost::asio::io_context& io, SessionOptions options, Callbacks callbacks);
    ~AmiSession();
    AmiSession(const AmiSession&) = delete;
    AmiSession& operator=(const AmiSession&) = delete;

    void start();
    void stop(); // no callback runs after this returns (call it on the io thread)

    bool logged_in() const;
    // Sends an action (an ActionID is added) and calls `done` once: with the
    // response (or list, or await_event), an error, a timeout or a connection loss.
    // Returns the ActionID used.
    std::string send(Fields fields, std::chrono::milliseconds timeout, ActionTracker::Callback done,
                     std::string await_event = {});
    nlohmann::json info() const;

    // md5hex(challenge + secret), the Key of an MD5 login.
    static std::string md5_key(std::string_view challenge, std::string_view secret);

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

} // namespace passerelle::asterisk
