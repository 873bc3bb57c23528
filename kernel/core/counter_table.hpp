#pragma once
// An instance's named counters ("parts", "heartbeats", "events_written"...):
// bumped by its module for every event, read by the control API now and then.
//
// A count takes no lock. The names an instance uses are few and fixed, so a
// known name is found by scanning a small array and bumped with one atomic
// add; only a name seen for the first time takes the mutex. (A mutex and a
// std::map walk per count cost ~3% of the daemon's CPU at 5,000 events/s over
// 1,000 instances: their cache lines are cold by the time a device speaks again.)
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace passerelle::kernel {

class CounterTable {
public:
    // Thread-safe, from any number of threads.
    void add(std::string_view name, int64_t delta);
    // Every counter with its value (each value read atomically).
    std::map<std::string, int64_t> snapshot() const;

    static constexpr std::size_t kSlots = 16; // past that, names go to a map under the mutex

private:
    struct Slot {
        std::string name; // written once, before `used_` publishes the slot
        std::atomic<int64_t> value{0};
    };
    bool add_to_known(std::string_view name, int64_t delta, std::size_t from, std::size_t to);

    std::array<Slot, kSlots> slots_;
    std::atomic<std::size_t> used_{0}; // slots_[0, used_) are published
    mutable std::mutex mutex_;         // adding a name; overflow_
    std::map<std::string, int64_t, std::less<>> overflow_;
};

} // namespace passerelle::kernel
