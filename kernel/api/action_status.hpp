// pl_status (abi.h) -> HTTP status and the short name the API shows. Pure.
#pragma once

#include <passerelle/status_name.hpp>

#include <cstdint>
#include <string_view>

namespace passerelle::kernel::api {

// PL_OK 200, INVALID 400, UNKNOWN_ACTION 404, AUTH 502, RETRY 503, TIMEOUT 504,
// PERMANENT 502, INTERNAL (and any unknown value) 500.
unsigned http_status_for(int32_t pl_status);

using passerelle::status_name; // "ok", "retry"... (sdk: passerelle/status_name.hpp)

} // namespace passerelle::kernel::api
