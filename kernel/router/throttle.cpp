#include "router/throttle.hpp"

namespace passerelle::kernel::routing {

bool Throttle::admit(std::string_view key, int64_t window_ns, bool is_stop, int64_t now_ns) {
    maybe_sweep(now_ns);
    auto it = entries_.find(key);
    if (it == entries_.end()) it = entries_.emplace(std::string(key), Entry{}).first;
    Entry& en = it->second;
    en.last_seen_ns = now_ns;
    en.window_ns = window_ns;
    if (is_stop) return true; // never swallowed, and does not consume the window
    if (en.last_delivered_ns != kNever && now_ns - en.last_delivered_ns < window_ns) return false;
    en.last_delivered_ns = now_ns;
    return true;
}

void Throttle::maybe_sweep(int64_t now_ns) {
    if (last_sweep_ns_ == kNever) last_sweep_ns_ = now_ns;
    if (now_ns - last_sweep_ns_ < sweep_interval_ns_) return;
    expire(now_ns);
}

void Throttle::expire(int64_t now_ns) {
    last_sweep_ns_ = now_ns;
    for (auto it = entries_.begin(); it != entries_.end();) {
        if (now_ns - it->second.last_seen_ns > 10 * it->second.window_ns) it = entries_.erase(it);
        else ++it;
    }
}

} // namespace passerelle::kernel::routing
