#include "router/route_index.hpp"

#include <algorithm>

namespace passerelle::kernel::routing {

void RouteIndex::build(const std::vector<std::optional<std::vector<std::string>>>& types) {
    by_type_.clear();
    untyped_.clear();
    for (uint32_t i = 0; i < types.size(); ++i) {
        if (!types[i]) {
            untyped_.push_back(i);
            for (auto& [type, list] : by_type_) list.push_back(i);
            continue;
        }
        for (const auto& t : *types[i]) {
            auto it = by_type_.find(t);
            if (it == by_type_.end()) it = by_type_.emplace(t, untyped_).first; // the unconstrained routes before i
            if (it->second.empty() || it->second.back() != i) it->second.push_back(i);
        }
    }
}

} // namespace passerelle::kernel::routing
