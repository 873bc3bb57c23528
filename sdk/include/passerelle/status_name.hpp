// The short name of a pl_status (abi.h), as logs and the control API show it.
#pragma once

#include <passerelle/abi.h>

#include <cstdint>
#include <string_view>

namespace passerelle {

// "ok", "invalid", "retry", "permanent", "auth", "unknown_action", "timeout",
// "internal"; "unknown" for a value abi.h does not define.
inline std::string_view status_name(int32_t pl_status) {
    switch (pl_status) {
    case PL_OK: return "ok";
    case PL_ERR_INVALID: return "invalid";
    case PL_ERR_RETRY: return "retry";
    case PL_ERR_PERMANENT: return "permanent";
    case PL_ERR_AUTH: return "auth";
    case PL_ERR_UNKNOWN_ACTION: return "unknown_action";
    case PL_ERR_TIMEOUT: return "timeout";
    case PL_ERR_INTERNAL: return "internal";
    default: return "unknown";
    }
}

} // namespace passerelle
