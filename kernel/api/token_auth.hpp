// Bearer-token checks for the API. Pure; the comparison takes the same time
// whatever the given token is (both sides are hashed, then compared with
// CRYPTO_memcmp), so a caller cannot guess the token byte by byte.
#pragma once

#include "api/query_string.hpp"

#include <optional>
#include <string_view>

namespace passerelle::kernel::api {

// "Bearer abc" -> "abc" (scheme case-insensitive, spaces around tolerated); otherwise nullopt.
std::optional<std::string_view> bearer_token(std::string_view authorization);

bool token_matches(std::string_view expected, std::string_view given);

// True when `expected` is empty (auth disabled), or the Authorization header
// or the `token` query parameter carries it.
bool is_authorized(std::string_view expected, std::string_view authorization_header, const QueryParams& query);

} // namespace passerelle::kernel::api
