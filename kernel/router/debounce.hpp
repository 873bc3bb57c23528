// Debounce: a delivery is held for `delay`; a newer event for the same key
// replaces the held one (latest wins) and restarts the delay, so a burst
// yields one delivery, `delay` after it went quiet. Exception: a held `stop`
// is never replaced: when anything newer arrives for its key, the stop is
// emitted at once (before the newer one is held), so a sink never misses the
// end of an alarm.
//
// Held deliveries come out of poll() in due order (ties: in the order they
// were held). Keys with nothing held and unseen for more than 10 delays are
// forgotten; a key with something held is always kept until it is emitted.
#pragma once

#include "router/key_map.hpp"
#include "router/router.hpp"

#include <cstdint>
#include <limits>
#include <map>
#include <string_view>
#include <vector>

namespace passerelle::kernel::routing {

class Debounce {
public:
    explicit Debounce(int64_t sweep_interval_ns) : sweep_interval_ns_(sweep_interval_ns > 0 ? sweep_interval_ns : 1) {}
    Debounce(const Debounce&) = delete;
    Debounce& operator=(const Debounce&) = delete;

    // Holds `d` for `delay_ns` under `key`; a pending stop it displaces is appended to `out`.
    void offer(std::string_view key, int64_t delay_ns, Dispatch&& d, bool is_stop, int64_t now_ns,
               std::vector<Dispatch>& out);

    // Appends the held deliveries due by `now_ns`.
    void poll(int64_t now_ns, std::vector<Dispatch>& out);

    int64_t next_deadline_ns() const {
        return due_.empty() ? std::numeric_limits<int64_t>::max() : due_.begin()->first;
    }

    void expire(int64_t now_ns);
    size_t size() const { return entries_.size(); }
    size_t pending() const { return due_.size(); }

private:
    struct Entry;
    using DueMap = std::multimap<int64_t, Entry*>;
    struct Entry {
        int64_t last_seen_ns = 0;
        int64_t delay_ns = 0;
        bool has_pending = false;
        bool pending_is_stop = false;
        Dispatch pending;
        DueMap::iterator due_it;
    };
    void maybe_sweep(int64_t now_ns);

    // Unordered_map nodes never move, so due_ can point at entries; an entry
    // is erased only when nothing is held, i.e. when due_ does not point at it.
    KeyMap<Entry> entries_;
    DueMap due_;
    int64_t sweep_interval_ns_;
    int64_t last_sweep_ns_ = std::numeric_limits<int64_t>::min() / 2;
    bool swept_once_ = false;
};

} // namespace passerelle::kernel::routing
