#include "core/counter_table.hpp"

namespace passerelle::kernel {

bool CounterTable::add_to_known(std::string_view name, int64_t delta, std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i) {
        if (slots_[i].name == name) {
            slots_[i].value.fetch_add(delta, std::memory_order_relaxed);
            return true;
        }
    }
    return false;
}

void CounterTable::add(std::string_view name, int64_t delta) {
    const std::size_t used = used_.load(std::memory_order_acquire);
    if (add_to_known(name, delta, 0, used)) return;
    std::lock_guard lock(mutex_);
    // Another thread may have added it meanwhile: only adders write used_, under this mutex.
    const std::size_t now_used = used_.load(std::memory_order_relaxed);
    if (add_to_known(name, delta, used, now_used)) return;
    if (now_used < kSlots) {
        Slot& slot = slots_[now_used];
        slot.name.assign(name);
        slot.value.store(delta, std::memory_order_relaxed);
        used_.store(now_used + 1, std::memory_order_release);
        return;
    }
    if (auto it = overflow_.find(name); it != overflow_.end()) it->second += delta;
    else overflow_.emplace(std::string(name), delta);
}

std::map<std::string, int64_t> CounterTable::snapshot() const {
    std::map<std::string, int64_t> out;
    const std::size_t used = used_.load(std::memory_order_acquire);
    for (std::size_t i = 0; i < used; ++i) out.emplace(slots_[i].name, slots_[i].value.load(std::memory_order_relaxed));
    std::lock_guard lock(mutex_);
    for (const auto& [name, value] : overflow_) out.emplace(name, value);
    return out;
}

} // namespace passerelle::kernel
