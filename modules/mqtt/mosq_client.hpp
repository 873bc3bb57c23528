// One MQTT connection with libmosquitto, driven by the module's Asio
// io_context through libmosquitto's external-loop API (mosquitto_socket,
// mosquitto_loop_read/write/misc, mosquitto_want_write): no extra thread.
// Every method and every callback runs on that io_context's thread.
//
// Order and loss: publishes are handed to libmosquitto in call order on one
// connection, so the broker takes them in that order; `done` runs on the
// PUBACK (QoS 1) / PUBCOMP (QoS 2), in that same order. While disconnected,
// publishes wait in a FIFO; when a connection drops, every publish not yet
// acknowledged goes back to the head of that FIFO in its order, and a fresh
// libmosquitto client is made for the next attempt (so libmosquitto never
// resends anything on its own and nothing can overtake). A publish is answered
// with an error only when the broker refuses it for good (MQTT 5 reason code)
// or libmosquitto rejects it (bad topic, too large).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

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
};

struct OutMessage {
    std::string topic;
    std::string payload;
    int qos = 1;
    bool retain = false;
    std::string correlation_data; // MQTT 5 only
};

struct InMessage {
    std::string topic;
    std::string payload;
    bool retain = false;
    std::string response_topic;   // MQTT 5 only
    std::string correlation_data; // MQTT 5 only
};

class MosqClient {
public:
    struct Callbacks {
        // Health changes: connected, reconnecting, unreachable, auth_failed.
        std::function<void(const std::string& state, const std::string& detail)> health;
        std::function<void(const InMessage&)> message;
        std::function<void(std::string_view counter)> count; // connect_attempts, reconnects
        std::function<void(int level, const std::string& line)> log; // 0 debug, 1 info, 2 warn, 3 error
    };
    // ok = delivered; otherwise a one-line reason (permanent: the broker or
    // libmosquitto refused this message).
    using Done = std::function<void(bool ok, const std::string& error)>;

    MosqClient(boost::asio::io_context& io, ClientOptions options, Callbacks callbacks);
    ~MosqClient();
    MosqClient(const MosqClient&) = delete;
    MosqClient& operator=(const MosqClient&) = delete;

    void start();
    void stop(); // sends DISCONNECT when connected (no last will), drops the socket
    void subscribe(std::string filter, int qos); // (re)done on every connection
    void publish(OutMessage message, Done done);

    bool connected() const;
    size_t waiting() const;   // publishes not yet handed to a connection
    size_t in_flight() const; // handed, not yet acknowledged

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

} // namespace mqtt
