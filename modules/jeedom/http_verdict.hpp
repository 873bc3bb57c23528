// What a failed HTTP exchange (no usable 200) means for a delivery: transport
// errors, timeouts, 5xx and 429 are retried; 401/403 and a certificate that
// does not verify are configuration (auth: the sink pauses); other 4xx are
// permanent. Pure: the response in, a verdict out.
#pragma once

#include "outcome.hpp"

#include <passerelle/http/types.hpp>

namespace passerelle::homeauto {

// Only for !response.ok(). `box` names the peer in the message ("Jeedom").
Verdict classify_http_failure(const http::Response& response, std::string_view box);

} // namespace passerelle::homeauto
