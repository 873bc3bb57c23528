// Request targets and query strings: split, percent-decode, parse. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace passerelle::kernel::api {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// "/a/b?x=1#frag" -> path "/a/b", query "x=1" (the fragment, if a client sent one, is dropped).
struct SplitTarget {
    std::string_view path;
    std::string_view query;
};
SplitTarget split_target(std::string_view target);

// %XX -> byte; with `plus_is_space`, '+' -> ' ' (query strings and forms, not paths).
// A malformed escape ("%", "%4", "%zz") is kept literally: lenient, never throws.
std::string percent_decode(std::string_view in, bool plus_is_space);

// "a=1&b=x+y&c" -> {a,1} {b,"x y"} {c,""}; order and repeats kept, empty pieces skipped.
QueryParams parse_query(std::string_view query);

// First value of `name`, if present.
std::optional<std::string> query_value(const QueryParams& params, std::string_view name);

} // namespace passerelle::kernel::api
