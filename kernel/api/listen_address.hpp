// "[daemon.api] listen" values: "127.0.0.1:8640", "[::1]:8640", "localhost:8640",
// "0.0.0.0:8640". Port 0 asks the system for a free port. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace passerelle::kernel::api {

struct ListenAddress {
    std::string host; // without brackets
    uint16_t port = 0;
};

// Throws std::runtime_error naming the bad value.
ListenAddress parse_listen_address(std::string_view text);

// "127.0.0.1:8640", "[::1]:8640": the form parse_listen_address reads back.
std::string format_endpoint(std::string_view host, uint16_t port);

} // namespace passerelle::kernel::api
