// An action's params as one JSON object, from the query string and/or the
// request body. Pure.
//
// - body: a JSON object (Content-Type application/json, */*+json, or none), or
//   an HTML form (application/x-www-form-urlencoded, values become strings);
//   an empty body is no params. Any other JSON value -> 400; another type -> 415.
// - query: every parameter except `token` and `format` becomes a JSON string.
//   Query parameters are applied after the body, so a key present in both takes
//   the query's value (the URL is what a home-automation box lets users edit);
//   a key repeated in the query keeps its last value.
#pragma once

#include "api/query_string.hpp"

#include <string>
#include <string_view>

namespace passerelle::kernel::api {

struct ActionParams {
    unsigned error_status = 0; // 0 = ok; otherwise 400 or 415 with `error`
    std::string error;
    std::string json; // a JSON object, when ok
};

ActionParams build_action_params(const QueryParams& query, std::string_view content_type, std::string_view body);

} // namespace passerelle::kernel::api
