// Values of a module's declared config keys written as plain text: declared
// defaults ("5s", "true", "10", "a,b"), `KEY_file` contents and `${ENV}`
// expansions. Pure: text in, normalized JSON out.
#pragma once

#include <passerelle/abi.h>

#include <nlohmann/json.hpp>

#include <optional>
#include <string_view>

namespace passerelle::kernel {

// Parses `text` as a value of `type` (pl_key_type), normalized as instances
// receive it: durations in ms, sizes in bytes, lists as arrays, tables
// ("k=v,k2=v2") as objects of strings. nullopt when the text does not parse.
std::optional<nlohmann::json> key_value_from_text(int32_t type, std::string_view text);

// What a value of `type` looks like, for "expected ..." messages.
const char* key_type_expectation(int32_t type);

} // namespace passerelle::kernel
