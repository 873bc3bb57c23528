// A small threaded HTTP/1.1 server on 127.0.0.1:0 for the client tests. It
// parses requests with Beast and lets each test answer with raw bytes, so a
// test can trickle, go silent, lie about framing or close mid-body.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace test {

struct ServerRequest {
    std::string method;
    std::string target;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;
    int connection = 0;                          // 1-based connection number
    std::string header(const std::string& name) const {
        auto it = headers.find(name);
        return it == headers.end() ? std::string() : it->second;
    }
};

class TestServer;

// What a handler writes to; every call is bounded by the server's shutdown.
class Peer {
public:
    virtual ~Peer() = default;
    virtual bool write(std::string_view bytes) = 0;  // false once the peer is gone
    // Sleeps up to `d`; returns false early when the server is stopping.
    bool pause(std::chrono::milliseconds d);
    TestServer* server = nullptr;
};

// Returns true to keep the connection open for the next request.
using Handler = std::function<bool(const ServerRequest&, Peer&)>;

struct TlsFiles {
    std::string cert;  // PEM
    std::string key;   // PEM
};

class TestServer {
public:
    explicit TestServer(Handler handler, const TlsFiles* tls = nullptr);
    ~TestServer();

    uint16_t port() const { return port_; }
    std::string url(std::string_view path, bool https = false) const;
    int connections() const { return connections_.load(); }
    int requests() const { return requests_.load(); }
    bool stopping() const { return stopping_.load(); }
    // Waits (bounded) for a condition on the server side.
    bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit);

    // Live connections closed by the peer so far.
    int closed_connections() const { return closed_.load(); }
    // Server names the TLS clients sent (SNI), in handshake order; "" for none.
    std::vector<std::string> sni_names() const;

private:
    friend class Peer;
    struct Impl;
    void accept_loop();

    Handler handler_;
    std::unique_ptr<Impl> impl_;
    uint16_t port_ = 0;
    std::atomic<int> connections_{0};
    std::atomic<int> requests_{0};
    std::atomic<int> closed_{0};
    std::atomic<bool> stopping_{false};
    std::mutex mutex_;
    std::condition_variable cv_;
    std::thread acceptor_thread_;
};

// "HTTP/1.1 <status> <reason>\r\n" + headers + Content-Length + body.
std::string response(int status, const std::string& reason, const std::vector<std::string>& headers,
                     const std::string& body);

} // namespace test
