// The SSE subscription filter: `source=` and `type=` query parameters, each a
// comma list of exact names or `*` globs; repeated parameters add alternatives.
// An absent field matches everything. Pure, immutable once built, so the bus
// thread may call matches() while the io thread owns the stream.
#pragma once

#include "api/query_string.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace passerelle::kernel::api {

// `*` matches any run of characters (empty too); every other character is literal.
bool glob_match(std::string_view pattern, std::string_view text);

class EventFilter {
public:
    EventFilter() = default;
    static EventFilter from_query(const QueryParams& query);
    bool matches(std::string_view source, std::string_view type) const;
    const std::vector<std::string>& sources() const { return sources_; }
    const std::vector<std::string>& types() const { return types_; }

private:
    static bool any_matches(const std::vector<std::string>& patterns, std::string_view value);
    std::vector<std::string> sources_; // empty = any
    std::vector<std::string> types_;   // empty = any
};

} // namespace passerelle::kernel::api
