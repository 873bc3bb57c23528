// The module's MQTT client (MQTT 3.1.1 and 5, QoS 0/1/2, TCP or TLS) on the
// module's Asio io_context: no extra thread, every method and callback on that
// thread. Built from packets.* (the codec), session.* (queue, in-flight window,
// order across reconnects) and transport.* (TCP/TLS).
//
// Throughput: every PUBLISH made in one io turn goes into one buffer written
// with one write, and each read takes every complete packet the broker sent
// (a burst of PUBACKs is one read): far below one syscall per message.
//
// Order and loss: see session.hpp. A publish is answered with an error only
// when the broker refuses it for good (MQTT 5 reason code), or it could never
// be sent (bad topic, larger than the broker accepts).
#pragma once

#include "messages.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace boost::asio { class io_context; }

namespace mqtt {

struct ClientOptions {
    std::string host;
    int port = 1883;
    bool tls = false;
    bool verify_tls = true;
    std::string ca_file;
    std::string client_cert;
    std::string client_key;
    std::string user;
    std::string password;
    std::string client_id;
    int keepalive_s = 60;
    bool protocol5 = false;
    std::string will_topic; // retained "offline"; "online" is published on connect
    std::chrono::milliseconds reconnect_min{1000};
    std::chrono::milliseconds reconnect_max{60000};
    std::chrono::milliseconds auth_retry{60000};
    std::chrono::milliseconds connack_timeout{10000};
};

class Client {
public:
    struct Callbacks {
        // Health changes: connected, reconnecting, unreachable, auth_failed.
        std::function<void(const std::string& state, const std::string& detail)> health;
        std::function<void(const InMessage&)> message;
        std::function<void(std::string_view counter)> count; // connect_attempts, reconnects
        std::function<void(int level, const std::string& line)> log; // 0 debug, 1 info, 2 warn, 3 error
    };

    Client(boost::asio::io_context& io, ClientOptions options, Callbacks callbacks);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    void start();
    void stop(); // sends "offline" and DISCONNECT when it can, drops the connection
    void subscribe(std::string filter, int qos); // (re)done on every connection
    void publish(OutMessage message, Done done);

    bool connected() const;
    size_t waiting() const;   // publishes not yet handed to a connection
    size_t in_flight() const; // sent, not yet acknowledged

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

} // namespace mqtt
