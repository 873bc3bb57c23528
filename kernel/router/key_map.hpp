// An unordered_map keyed by std::string that can be searched with a
// string_view, so looking up a throttle/debounce key built in a reused buffer
// never allocates; only a first sighting does.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace passerelle::kernel::routing {

struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

template <class V>
using KeyMap = std::unordered_map<std::string, V, KeyHash, std::equal_to<>>;

} // namespace passerelle::kernel::routing
