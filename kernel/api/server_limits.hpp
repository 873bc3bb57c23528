// The server's fixed limits, gathered so tests can shrink them (a 15 s
// keep-alive or a 4 MiB queue is too slow to exercise in a unit test).
// The daemon calls the two-argument start_api_server, which uses the defaults.
#pragma once

#include "api/api_server.hpp"

#include <chrono>
#include <cstddef>
#include <memory>

namespace passerelle::kernel {

struct ApiLimits {
    size_t max_header_bytes = 16 * 1024;
    size_t max_body_bytes = 1024 * 1024;              // 413 beyond
    std::chrono::milliseconds read_timeout{30000};    // idle keep-alive and slow requests
    std::chrono::milliseconds write_timeout{30000};   // a client that stops reading
    size_t max_connections = 256;                     // HTTP and SSE together; 503 beyond
    std::chrono::milliseconds sse_keepalive{15000};   // ": keepalive" comment period
    size_t sse_max_queued_events = 1024;              // per client; a client further behind
    size_t sse_max_queued_bytes = 4 * 1024 * 1024;    //   is disconnected
};

std::unique_ptr<ApiServer> start_api_server(const ApiOptions& options, ApiBackend& backend, const ApiLimits& limits);

} // namespace passerelle::kernel
