// One Dahua device's CGI event stream: the long poll
//   GET /cgi-bin/eventManager.cgi?action=attach&codes=[All]&heartbeat=N
// on the module's io_context through the shared HttpClient (Digest or Basic
// answered from the 401), bytes -> CgiStreamParser -> map_part_body -> events.
//
// Liveness: the only timeout once the stream is up is a read-idle timeout of
// 3 heartbeats + 2 s (a healthy stream is never recycled). A lost stream is
// reconnected with exponential backoff and full jitter (first retry within
// 2 s, ceiling `reconnect_max`). A 401 after credentials backs off slowly
// (from `auth_retry`, ceiling `auth_retry_max`): it may be a wrong password
// (Dahua locks the account after a few) or the device's connection limit.
//
// Every callback runs on the io thread. Not thread-safe: use it from there.
#pragma once

#include "backoff.hpp"

#include <passerelle/event.hpp>
#include <passerelle/http/types.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio {
class io_context;
}
namespace passerelle::http {
class HttpClient;
}

namespace passerelle::dahua {

class CgiSession {
public:
    struct Options {
        std::string base_url; // "http://host[:port]", no trailing slash
        std::optional<http::Credentials> credentials;
        std::chrono::milliseconds heartbeat{5000};
        std::chrono::milliseconds reconnect_first{2000};
        std::chrono::milliseconds reconnect_max{60000};
        std::chrono::milliseconds auth_retry{60000};
        std::chrono::milliseconds auth_retry_max{600000};
        std::chrono::milliseconds connect_timeout{10000};
        std::size_t max_part_size = 64 * 1024;
    };
    struct Callbacks {
        // Mapped events of one part (source/received not set yet).
        std::function<void(std::vector<Event>& events)> on_events;
        // "connected" | "reconnecting" | "unreachable" | "auth_failed", and why.
        std::function<void(std::string_view state, const std::string& detail)> on_health;
        // The stream is up; `reconnect` is false for the first time since start().
        std::function<void(bool reconnect)> on_connected;
        std::function<void(std::string_view counter)> on_count;
        std::function<void(bool warn, const std::string& message)> on_log;
    };
    struct Stats {
        uint64_t connects = 0, reconnects = 0, auth_failures = 0, parts = 0, heartbeats = 0, parse_errors = 0;
    };

    CgiSession(boost::asio::io_context& io, http::HttpClient& http, Options options, Callbacks callbacks);
    ~CgiSession();
    CgiSession(const CgiSession&) = delete;
    CgiSession& operator=(const CgiSession&) = delete;

    void start();
    void stop();
    bool connected() const;
    const Stats& stats() const;

    // The stream request target (for logs and tests).
    std::string attach_url() const;
    // Read idle timeout for a heartbeat: 3 heartbeats + 2 s.
    static std::chrono::milliseconds idle_timeout(std::chrono::milliseconds heartbeat);
    // boundary=... of a multipart Content-Type, without quotes or a leading "--";
    // "myboundary" when absent.
    static std::string boundary_of(std::string_view content_type);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace passerelle::dahua
