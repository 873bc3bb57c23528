// CounterTable: the lock-free path must count exactly what a mutex and a map
// would, with several threads adding known and new names at once.
#include "core/counter_table.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <thread>
#include <vector>

using passerelle::kernel::CounterTable;

// Built with += : GCC 12 warns (-Wrestrict, a false positive) on "literal" + std::to_string().
static std::string name_of(std::string_view prefix, int64_t i) {
    std::string name(prefix);
    name += std::to_string(i);
    return name;
}

TEST_CASE("counters add up by name, first use included") {
    CounterTable t;
    t.add("parts", 1);
    t.add("parts", 4);
    t.add("heartbeats", 2);
    t.add("parts", -1);
    auto snap = t.snapshot();
    REQUIRE(snap.size() == 2);
    CHECK(snap.at("parts") == 4);
    CHECK(snap.at("heartbeats") == 2);
}

TEST_CASE("names past the fixed slots still count, in the overflow map") {
    CounterTable t;
    const std::size_t names = CounterTable::kSlots + 9;
    for (int round = 0; round < 3; ++round)
        for (std::size_t i = 0; i < names; ++i) t.add(name_of("counter_with_a_long_name_", int64_t(i)), int64_t(i) + 1);
    auto snap = t.snapshot();
    REQUIRE(snap.size() == names);
    for (std::size_t i = 0; i < names; ++i) CHECK(snap.at(name_of("counter_with_a_long_name_", int64_t(i))) == 3 * (int64_t(i) + 1));
}

TEST_CASE("threads adding the same new names at once lose no count and make no duplicate") {
    CounterTable t;
    constexpr int kThreads = 4, kRounds = 20000, kNames = CounterTable::kSlots + 4;
    std::vector<std::thread> threads;
    for (int th = 0; th < kThreads; ++th)
        threads.emplace_back([&t, th] {
            for (int r = 0; r < kRounds; ++r) t.add(name_of("n", (r + th) % kNames), 1);
        });
    // A reader meanwhile sees only names that exist and values that grow.
    int64_t last_total = 0;
    for (int i = 0; i < 200; ++i) {
        int64_t total = 0;
        for (const auto& [name, value] : t.snapshot()) {
            CHECK(name[0] == 'n');
            total += value;
        }
        CHECK(total >= last_total);
        last_total = total;
    }
    for (auto& th : threads) th.join();
    auto snap = t.snapshot();
    REQUIRE(snap.size() == std::size_t(kNames));
    int64_t total = 0;
    for (const auto& [name, value] : snap) total += value;
    CHECK(total == int64_t(kThreads) * kRounds);
}
