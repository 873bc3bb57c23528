// The control API: health, metrics, instances, live events (SSE) and actions,
// over HTTP on loopback by default. Beast stays inside api_server.cpp.
#pragma once

#include "config/config.hpp"

#include <passerelle/event.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace passerelle::kernel {

// What the API asks of the daemon. Every method is thread-safe.
class ApiBackend {
public:
    virtual ~ApiBackend() = default;
    virtual std::string metrics_text() = 0;   // Prometheus text exposition
    virtual std::string instances_json() = 0; // {"instances":[{name,module,health,detail,last_error,...}]}
    // Runs an action; `done` is called exactly once, from any thread, with a
    // pl_status and either the JSON result (PL_OK) or a one-line error message.
    // `instance`/`action` unknown -> done(PL_ERR_UNKNOWN_ACTION or PL_ERR_INVALID, message).
    using ActionDone = std::function<void(int32_t status, std::string result)>;
    virtual void invoke_action(const std::string& instance, const std::string& action, std::string params_json,
                               ActionDone done) = 0;
    // Live events for SSE. The callback runs on the publishing thread, under the bus lock: it must only copy and post.
    using EventSink = std::function<void(const Event& e, const std::string& json)>;
    virtual uint64_t subscribe(EventSink sink) = 0;
    virtual void unsubscribe(uint64_t id) = 0;
};

class ApiServer {
public:
    virtual ~ApiServer() = default;
    virtual void stop() = 0; // closes the listener and every connection, joins the thread
    virtual std::string local_endpoint() const = 0; // "127.0.0.1:8640" (the real port when 0 was asked)
};

struct ApiOptions {
    std::string listen = "127.0.0.1:8640"; // "0" as port picks a free one (tests)
    std::string token;                     // empty = no auth (refused on non-loopback addresses)
    std::chrono::milliseconds action_timeout{30000};
    size_t max_sse_clients = 64;
};

// Binds and starts serving on its own thread. Throws std::runtime_error with a
// clear message (port in use, bad address, non-loopback without a token).
std::unique_ptr<ApiServer> start_api_server(const ApiOptions& options, ApiBackend& backend);

} // namespace passerelle::kernel
