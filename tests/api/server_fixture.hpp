// A running API server on 127.0.0.1:0 with a fake backend, for the server tests.
#pragma once

#include "api/api_server.hpp"
#include "api/server_limits.hpp"
#include "fake_backend.hpp"
#include "test_client.hpp"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace test_api {

inline const char* kToken = "s3cret-token";

struct Fixture {
    FakeBackend backend; // declared first: outlives the server
    std::unique_ptr<passerelle::kernel::ApiServer> server;
    uint16_t port = 0;

    explicit Fixture(std::string token = kToken, std::chrono::milliseconds action_timeout = std::chrono::seconds(5),
                     passerelle::kernel::ApiLimits limits = {}, size_t max_sse_clients = 64) {
        passerelle::kernel::ApiOptions o;
        o.listen = "127.0.0.1:0";
        o.token = std::move(token);
        o.action_timeout = action_timeout;
        o.max_sse_clients = max_sse_clients;
        server = passerelle::kernel::start_api_server(o, backend, limits);
        port = port_of(server->local_endpoint());
    }
    ~Fixture() { server->stop(); }
};

inline std::vector<std::pair<std::string, std::string>> bearer(const std::string& t = kToken) {
    return {{"Authorization", "Bearer " + t}};
}

} // namespace test_api
