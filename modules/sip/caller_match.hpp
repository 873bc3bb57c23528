// Which configured entry applies to a caller number: exact match first, then
// the French national/international forms (+33 6... <-> 06... <-> 0033 6...),
// then "*". Used for `messages` (what to say to whom).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace sip {

// The caller's number: the user part of P-Asserted-Identity if present, else of From.
std::string caller_number(std::string_view from, std::string_view p_asserted_identity);

// Forms compared after an exact miss: "+33612345678", "0033612345678" and
// "0612345678" are the same number.
std::string normalize_number(std::string_view number);

// The key of `table` that applies to `number`, or nullopt.
std::optional<std::string> match_caller(const std::map<std::string, std::string>& table, std::string_view number);

} // namespace sip
