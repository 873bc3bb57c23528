// The `data={...}` JSON of a Dahua event, read fast. Every event of a busy NVR
// carries one; nlohmann's own lexer spent ~5,000 instructions on a 60-byte
// object, more than the rest of the event's parsing. This reader builds the
// same nlohmann::json DOM for the plain subset cameras send (objects, arrays,
// ASCII strings with simple escapes, integers, true/false/null) and declines
// anything else -- fractions, exponents, integers beyond 64 bits, -0,
// \u escapes, bytes above 0x7F, deep nesting, and every malformed input -- so
// that nlohmann's parser decides those: the result is always what
// nlohmann::json::parse gives (fuzz_dahua_data_json checks exactly that).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string_view>

namespace passerelle::dahua {

// The DOM of `text` when it lies in the plain subset, std::nullopt otherwise.
std::optional<nlohmann::json> parse_plain_json(std::string_view text);

// parse_plain_json, else nlohmann::json::parse (a discarded value when invalid).
nlohmann::json parse_data_json(std::string_view text);

} // namespace passerelle::dahua
