#include "api/action_status.hpp"

#include <passerelle/abi.h>

namespace passerelle::kernel::api {

unsigned http_status_for(int32_t s) {
    switch (s) {
    case PL_OK: return 200;
    case PL_ERR_INVALID: return 400;
    case PL_ERR_UNKNOWN_ACTION: return 404;
    case PL_ERR_AUTH: return 502;     // the device refused *us*: not the caller's credentials
    case PL_ERR_RETRY: return 503;
    case PL_ERR_TIMEOUT: return 504;
    case PL_ERR_PERMANENT: return 502;
    default: return 500;
    }
}

} // namespace passerelle::kernel::api
