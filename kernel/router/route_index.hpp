// Which routes can match an event, decided by one hash look-up of its type.
//
// Most routes name their types literally (`type = "motion"` or a list of
// words), so instead of testing every route against every event the router
// asks the index for the candidates of the event's type: the routes listing
// that type plus the routes that do not constrain the type by literals, in
// route order. An event type no route names costs one look-up and only the
// unconstrained routes. The matchers still run on the candidates, so the
// index only ever skips routes that could not match.
#pragma once

#include "router/key_map.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace passerelle::kernel::routing {

class RouteIndex {
public:
    // types[i]: route i's literal type alternatives, or nullopt when its type is not limited to literals.
    void build(const std::vector<std::optional<std::vector<std::string>>>& types);

    const std::vector<uint32_t>& candidates(std::string_view type) const {
        auto it = by_type_.find(type);
        return it == by_type_.end() ? untyped_ : it->second;
    }

private:
    KeyMap<std::vector<uint32_t>> by_type_;
    std::vector<uint32_t> untyped_;
};

} // namespace passerelle::kernel::routing
