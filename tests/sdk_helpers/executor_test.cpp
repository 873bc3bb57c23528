// The SDK executors' wake-up coalescing (pl_host_api.coalesce_us): a loop that
// ran out of work lingers, unwoken, and runs what arrived meanwhile as one
// burst; stopping interrupts nothing that was queued; timers still fire.
#include <passerelle/io_executor.hpp>
#include <passerelle/module.hpp>

#include <boost/asio/steady_timer.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace {

// Bursts are counted through the host's burst calls, as the kernel sees them.
std::atomic<int> g_bursts_begun{0};
std::atomic<int> g_depth{0};

pl_host_api host_with_coalescing(int64_t coalesce_us) {
    pl_host_api api{};
    api.struct_size = sizeof(api);
    api.burst_begin = [](void*) {
        if (g_depth.fetch_add(1) == 0) g_bursts_begun.fetch_add(1);
    };
    api.burst_end = [](void*) { g_depth.fetch_sub(1); };
    api.coalesce_us = coalesce_us;
    return api;
}

// Bounded wait for a flag set by the executor's thread (5 s, never forever).
bool wait_for(const std::atomic<bool>& flag) {
    for (int i = 0; i < 5000 && !flag.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return flag.load();
}

// Posts A, waits until it ran, then posts B and C back to back: with a long
// window the loop is still lingering after A, so B does not wake it and both
// run in the burst that ends the linger.
template <class ExecutorT>
void check_stragglers_share_one_burst(ExecutorT& ex) {
    std::atomic<bool> a_ran{false}, c_ran{false};
    std::atomic<int> burst_of_a{-1}, burst_of_b{-2}, burst_of_c{-3};
    ex.post([&] {
        burst_of_a = g_bursts_begun.load();
        a_ran = true;
    });
    REQUIRE(wait_for(a_ran));
    ex.post([&] { burst_of_b = g_bursts_begun.load(); });
    ex.post([&] {
        burst_of_c = g_bursts_begun.load();
        c_ran = true;
    });
    REQUIRE(wait_for(c_ran));
    CHECK(burst_of_b.load() == burst_of_c.load());
    CHECK(burst_of_b.load() > burst_of_a.load());
}

} // namespace

TEST_CASE("a worker thread that ran out of work runs the stragglers of its linger as one burst", "[sdk][executor]") {
    auto api = host_with_coalescing(300'000); // long enough that B and C are posted within it
    passerelle::WorkerThread worker;
    worker.attach_host(&api);
    check_stragglers_share_one_burst(worker);
}

TEST_CASE("a worker thread stops during a long linger and runs what was queued first", "[sdk][executor]") {
    auto api = host_with_coalescing(int64_t(3600) * 1'000'000); // an hour: only a stop can end it
    std::atomic<int> ran{0};
    std::atomic<bool> first_ran{false};
    {
        passerelle::WorkerThread worker;
        worker.attach_host(&api);
        worker.post([&] {
            ++ran;
            first_ran = true;
        });
        REQUIRE(wait_for(first_ran)); // now lingering for an hour
        for (int i = 0; i < 10; ++i) worker.post([&] { ++ran; });
    } // the destructor must end the linger (else ctest's timeout fails this test)
    CHECK(ran.load() == 11);
}

TEST_CASE("without coalescing a worker thread still runs every post in order", "[sdk][executor]") {
    auto api = host_with_coalescing(0);
    std::vector<int> order;
    std::atomic<bool> done{false};
    {
        passerelle::WorkerThread worker;
        worker.attach_host(&api);
        for (int i = 0; i < 1000; ++i) worker.post([&order, i] { order.push_back(i); });
        worker.post([&] { done = true; });
        REQUIRE(wait_for(done));
    }
    REQUIRE(order.size() == 1000);
    for (int i = 0; i < 1000; ++i) CHECK(order[i] == i);
}

TEST_CASE("a worker thread runs a burst taken at once; what its handlers post runs after it, in order",
          "[sdk][executor]") {
    auto api = host_with_coalescing(300'000);
    std::vector<int> order;
    std::vector<int> burst_of;
    std::atomic<bool> first_ran{false}, done{false};
    {
        passerelle::WorkerThread worker;
        worker.attach_host(&api);
        // Posted from the worker itself, the 150 handlers (more than one burst
        // takes) are all queued before the next burst is taken; each posts a
        // follower when it runs.
        worker.post([&] {
            for (int i = 0; i < 150; ++i)
                worker.post([&, i] {
                    order.push_back(i);
                    burst_of.push_back(g_bursts_begun.load());
                    worker.post([&, i] { order.push_back(1000 + i); });
                });
            worker.post([&] { done = true; });
            first_ran = true;
        });
        REQUIRE(wait_for(first_ran));
        REQUIRE(wait_for(done));
    } // the destructor runs what is still queued (the followers) before joining
    REQUIRE(order.size() == 300);
    for (int i = 0; i < 150; ++i) CHECK(order[i] == i);
    // Followers come after every handler queued before them, in their own order.
    for (int i = 0; i < 150; ++i) CHECK(order[150 + i] == 1000 + i);
    // Handlers queued together ran in bursts of at most 64, each burst begun once.
    REQUIRE(burst_of.size() == 150);
    CHECK(burst_of.front() < burst_of.back());
    for (int i = 0; i + 64 < 150; ++i) CHECK(burst_of[i + 64] > burst_of[i]);
}

TEST_CASE("an io executor that ran out of work runs the stragglers of its linger as one burst", "[sdk][executor]") {
    auto api = host_with_coalescing(300'000);
    passerelle::IoExecutor ex;
    ex.attach_host(&api);
    check_stragglers_share_one_burst(ex);
}

TEST_CASE("a worker thread holds posts made ahead of a batch for the post that ends it", "[sdk][executor]") {
    auto api = host_with_coalescing(0); // no linger: the worker sleeps as soon as it is out of work
    passerelle::WorkerThread worker;
    worker.attach_host(&api);
    std::atomic<bool> first_ran{false}, last_ran{false};
    worker.post([&] { first_ran = true; });
    REQUIRE(wait_for(first_ran));
    std::mutex m;
    std::vector<std::pair<char, int>> runs; // (which, burst number)
    auto record = [&](char which) {
        std::lock_guard lock(m);
        runs.emplace_back(which, g_bursts_begun.load());
    };
    worker.post_ahead([&] { record('a'); });
    worker.post_ahead([&] { record('b'); });
    worker.post([&] {
        record('c');
        last_ran = true;
    });
    REQUIRE(wait_for(last_ran));
    std::lock_guard lock(m);
    REQUIRE(runs.size() == 3);
    CHECK(runs[0].first == 'a');
    CHECK(runs[1].first == 'b');
    CHECK(runs[2].first == 'c');
    // One wake-up, one burst: the posts made ahead did not wake the worker.
    CHECK(runs[0].second == runs[2].second);
}

TEST_CASE("a module's max_coalesce caps the daemon's coalescing, in either order", "[sdk][executor]") {
    using std::chrono::microseconds;
    auto api = host_with_coalescing(5'000);
    passerelle::IoExecutor capped_after, capped_before, loose;
    capped_after.attach_host(&api);
    capped_after.cap_coalesce(microseconds(1'000));
    CHECK(capped_after.coalesce() == microseconds(1'000));
    capped_before.cap_coalesce(microseconds(1'000)); // what Glue does: the cap, then the host's value
    capped_before.attach_host(&api);
    CHECK(capped_before.coalesce() == microseconds(1'000));
    loose.cap_coalesce(microseconds(20'000)); // a cap above the daemon's value changes nothing
    loose.attach_host(&api);
    CHECK(loose.coalesce() == microseconds(5'000));
}

TEST_CASE("a module's default_coalesce applies unless the config set [daemon] coalesce", "[sdk][executor]") {
    using std::chrono::microseconds;
    auto daemon_default = host_with_coalescing(1'000); // [daemon] coalesce absent: the daemon's 1 ms
    auto configured = host_with_coalescing(1'000);     // coalesce = "1ms" written in the config
    configured.coalesce_configured = 1;
    auto old_host = host_with_coalescing(2'000); // an ABI 1.3 daemon cannot say: its value wins
    old_host.struct_size = offsetof(pl_host_api, coalesce_us) + sizeof(old_host.coalesce_us);

    passerelle::IoExecutor camera, camera_configured, camera_old_host, plain, capped;
    for (auto* ex : {&camera, &camera_configured, &camera_old_host}) ex->prefer_coalesce(microseconds(5'000));
    camera.attach_host(&daemon_default);
    CHECK(camera.coalesce() == microseconds(5'000));
    camera_configured.attach_host(&configured);
    CHECK(camera_configured.coalesce() == microseconds(1'000));
    camera_old_host.attach_host(&old_host);
    CHECK(camera_old_host.coalesce() == microseconds(2'000));
    plain.attach_host(&daemon_default); // no preference: the daemon's default
    CHECK(plain.coalesce() == microseconds(1'000));
    capped.cap_coalesce(microseconds(1'000)); // max_coalesce bounds a preference too
    capped.prefer_coalesce(microseconds(5'000));
    capped.attach_host(&daemon_default);
    CHECK(capped.coalesce() == microseconds(1'000));

    passerelle::WorkerThread sink; // a sink fed in bursts prefers not to linger at all
    sink.prefer_coalesce(microseconds(0));
    sink.attach_host(&daemon_default);
    CHECK(sink.coalesce() == microseconds(0));
}

TEST_CASE("an io executor's timers fire while it coalesces wake-ups", "[sdk][executor]") {
    auto api = host_with_coalescing(20'000); // the largest [daemon] coalesce
    std::atomic<int> fired{0};
    std::atomic<bool> last{false};
    {
        passerelle::IoExecutor ex;
        ex.attach_host(&api);
        auto timer = std::make_shared<boost::asio::steady_timer>(ex.io());
        // A chain of 20 short timers: each wait starts while the loop is just
        // out of work, which is when it lingers.
        std::function<void()> arm;
        arm = [&, timer] {
            timer->expires_after(std::chrono::milliseconds(2));
            timer->async_wait([&](const boost::system::error_code& ec) {
                if (ec) return;
                if (++fired == 20) last = true;
                else arm();
            });
        };
        ex.post(arm);
        REQUIRE(wait_for(last));
        std::atomic<bool> released{false};
        ex.post([&] {
            arm = nullptr; // it holds the timer
            released = true;
        });
        REQUIRE(wait_for(released));
    }
    CHECK(fired.load() == 20);
}
