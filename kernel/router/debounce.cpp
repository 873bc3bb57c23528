#include "router/debounce.hpp"

namespace passerelle::kernel::routing {

void Debounce::offer(std::string_view key, int64_t delay_ns, Dispatch&& d, bool is_stop, int64_t now_ns,
                     std::vector<Dispatch>& out) {
    maybe_sweep(now_ns);
    auto it = entries_.find(key);
    if (it == entries_.end()) it = entries_.emplace(std::string(key), Entry{}).first;
    Entry& en = it->second;
    en.last_seen_ns = now_ns;
    en.delay_ns = delay_ns;
    if (en.has_pending) {
        due_.erase(en.due_it);
        if (en.pending_is_stop) out.push_back(std::move(en.pending)); // a stop is never replaced
    }
    en.pending = std::move(d);
    en.pending_is_stop = is_stop;
    en.has_pending = true;
    en.due_it = due_.emplace(now_ns + delay_ns, &en);
}

void Debounce::poll(int64_t now_ns, std::vector<Dispatch>& out) {
    while (!due_.empty() && due_.begin()->first <= now_ns) {
        Entry* en = due_.begin()->second;
        due_.erase(due_.begin());
        en->has_pending = false;
        out.push_back(std::move(en->pending));
        en->pending = Dispatch{};
    }
    maybe_sweep(now_ns);
}

void Debounce::maybe_sweep(int64_t now_ns) {
    if (!swept_once_) {
        swept_once_ = true;
        last_sweep_ns_ = now_ns;
    }
    if (now_ns - last_sweep_ns_ < sweep_interval_ns_) return;
    expire(now_ns);
}

void Debounce::expire(int64_t now_ns) {
    last_sweep_ns_ = now_ns;
    for (auto it = entries_.begin(); it != entries_.end();) {
        const Entry& en = it->second;
        if (!en.has_pending && now_ns - en.last_seen_ns > 10 * en.delay_ns) it = entries_.erase(it);
        else ++it;
    }
}

} // namespace passerelle::kernel::routing
