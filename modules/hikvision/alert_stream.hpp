// One Hikvision device's long-lived alertStream session, on the module's
// io_context: connect (GET /ISAPI/Event/notification/alertStream, falling back
// to /Event/notification/alertStream on 404), authenticate from the 401 (the
// shared HttpClient answers Digest MD5/SHA-256 or Basic), feed the body to the
// MultipartParser (boundary from the response Content-Type), decode parts,
// run EventState and hand the resulting events over. Heartbeats are health.
//
// Liveness: the read-idle timeout is heartbeat_timeout. A device that never
// sends heartbeats is detected (a session timed out without any heartbeat
// ever seen): from then on it is re-attached quietly every reattach_interval
// of silence (health stays "connected" when the re-attach succeeds). Lost
// streams reconnect with exponential backoff and full jitter (first retry
// within 2 s, capped at reconnect_max); a 401 after credentials backs off
// slowly (auth_backoff doubling up to auth_backoff_max: devices lock out IPs
// after repeated failed logins).
//
// Everything runs on the io_context's thread; construct, start, stop and
// destroy it there. Asio stays out of this header.
#pragma once

#include "event_state.hpp"

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

namespace passerelle::hikvision {

struct AlertStreamOptions {
    std::string base_url; // "http://host:port", no trailing slash
    std::optional<http::Credentials> credentials;
    std::chrono::milliseconds heartbeat_timeout{40'000};
    std::chrono::milliseconds reattach_interval{300'000};
    std::chrono::milliseconds reconnect_first{2'000}; // full-jitter window of the first retry
    std::chrono::milliseconds reconnect_max{60'000};
    std::chrono::milliseconds auth_backoff{60'000};
    std::chrono::milliseconds auth_backoff_max{600'000};
    EventStateOptions state;
};

struct AlertStreamCallbacks {
    // Events out of EventState, in order (state start/stop/pulse set).
    std::function<void(std::vector<Event>&)> on_events;
    // A counter to add to: reconnects, parts, parse_errors, heartbeats, images
    // (parts, heartbeats and images are summed over one read of the stream).
    std::function<void(std::string_view name, int64_t delta)> on_count;
    // "connected" / "reconnecting" / "unreachable" / "auth_failed" + a safe detail.
    std::function<void(std::string_view state, std::string_view detail)> on_health;
    // warn/info lines (never hold a secret).
    std::function<void(bool warning, std::string_view message)> on_log;
    // A stream head was accepted (after a (re)connect).
    std::function<void()> on_connected;
    // Optional: runs before each re-attach (not the first attach); the stream
    // opens when `proceed` is called (at most once; ignored once stopped).
    // after_auth_failure: the last attempt was refused (401/403).
    std::function<void(bool after_auth_failure, std::function<void()> proceed)> before_reconnect;
};

class AlertStream {
public:
    AlertStream(boost::asio::io_context& io, http::HttpClient& http, AlertStreamOptions options,
                AlertStreamCallbacks callbacks);
    ~AlertStream(); // stops without flushing
    AlertStream(const AlertStream&) = delete;
    AlertStream& operator=(const AlertStream&) = delete;

    void start();
    // Closes the stream, cancels timers and flushes EventState (synthesized
    // stops with attrs.reason = reason) through on_events.
    void stop(std::string_view reason = "stopped");

    struct Stats {
        uint64_t connects = 0, reconnects = 0, parts = 0, parse_errors = 0, heartbeats = 0, images = 0;
        bool connected = false;
        bool heartbeats_seen = false;
        std::string path; // the alertStream path in use
    };
    const Stats& stats() const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

} // namespace passerelle::hikvision
