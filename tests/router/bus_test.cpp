// The bus routes on the publishing thread and keeps time for debounced
// deliveries on its own thread. These tests drive it with real routes and a
// memory sink queue in front of a recording sink.
#include "core/bus.hpp"
#include "delivery/delivery_engine.hpp"
#include "router_support.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

using namespace passerelle;
using namespace passerelle::kernel;
using namespace router_test;
using namespace std::chrono_literals;

namespace {

// Records what reached it, answers at once (as a sink's thread would).
struct RecordingSink final : SinkTarget {
    std::string name;
    mutable std::mutex m;
    std::vector<std::pair<std::string, uint64_t>> got; // (source/type/state, event id)
    explicit RecordingSink(std::string n) : name(std::move(n)) {}
    void deliver(const Job& job, Done done, bool) override {
        {
            std::lock_guard lk(m);
            got.emplace_back(job.event->source + "/" + job.event->type + "/" + std::string(to_string(job.event->state)),
                             job.event->id);
        }
        done(PL_OK, "{}");
    }
    const std::string& sink_name() const override { return name; }
    uint32_t max_inflight() const override { return 16; }
    std::vector<std::pair<std::string, uint64_t>> snapshot() const {
        std::lock_guard lk(m);
        return got;
    }
};

std::shared_ptr<Event> make_event(std::string source, std::string type, State state = State::pulse) {
    return std::make_shared<Event>(event(std::move(source), std::move(type), state));
}

// prefix + number (GCC 12 warns falsely, -Wrestrict, on "x" + std::to_string(n)).
std::string numbered(char prefix, int n) {
    std::string s(1, prefix);
    s += std::to_string(n);
    return s;
}

bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds limit = 5s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (pred()) return true;
        std::this_thread::sleep_for(2ms);
    }
    return pred();
}

struct Fixture {
    RecordingSink sink{"box"};
    std::shared_ptr<SinkQueue> queue = make_memory_sink_queue(sink);
    std::atomic<uint64_t> ids{100};
    Bus bus{[this] { return ++ids; }};

    void route(std::vector<RouteConfig> routes) {
        auto topo = std::make_shared<Topology>();
        topo->router = make_router(routes);
        topo->sinks["box"] = queue;
        bus.set_topology(topo);
    }
    ~Fixture() { queue->close(1s); }
};

} // namespace

TEST_CASE("an event is numbered and routed before publish returns", "[bus]") {
    Fixture f;
    f.route({route({{"type", {"motion"}}}, "box")});
    f.bus.publish(make_event("cam", "motion"));
    f.bus.publish(make_event("cam", "tamper")); // no route
    // Routing is synchronous: the counters are final without waiting.
    CHECK(f.bus.published() == 2);
    CHECK(f.bus.routed() == 1);
    CHECK(f.bus.unrouted() == 1);
    CHECK(f.bus.route_matches(0) == 1);
    CHECK(f.bus.drain(10ms));
    REQUIRE(wait_for([&] { return f.sink.snapshot().size() == 1; }));
    CHECK(f.sink.snapshot()[0] == std::make_pair(std::string("cam/motion/pulse"), uint64_t{101}));
}

TEST_CASE("without a topology events are counted unrouted, not lost in a queue", "[bus]") {
    Fixture f;
    f.bus.publish(make_event("cam", "motion"));
    CHECK(f.bus.unrouted() == 1);
    f.route({route({{"type", {"*"}}}, "box")});
    f.bus.publish(make_event("cam", "motion"));
    CHECK(f.bus.routed() == 1);
}

TEST_CASE("a debounced delivery comes due on the bus's own thread, with no new event", "[bus][debounce]") {
    Fixture f;
    auto r = route({{"type", {"motion"}}}, "box");
    r.debounce_ms = 150;
    f.route({r});
    auto t0 = std::chrono::steady_clock::now();
    f.bus.publish(make_event("cam", "motion", State::start));
    f.bus.publish(make_event("cam", "motion", State::start)); // latest wins within the delay
    CHECK(f.sink.snapshot().empty());
    REQUIRE(wait_for([&] { return f.sink.snapshot().size() == 1; }));
    auto waited = std::chrono::steady_clock::now() - t0;
    CHECK(waited >= 150ms); // held for the delay, not delivered early
    CHECK(f.sink.snapshot()[0].second == 102);
    std::this_thread::sleep_for(300ms);
    CHECK(f.sink.snapshot().size() == 1);
}

TEST_CASE("a later debounce deadline does not delay an earlier one, and a topology swap re-arms the timer", "[bus][debounce]") {
    Fixture f;
    auto slow = route({{"type", {"tamper"}}}, "box");
    slow.debounce_ms = 60000;
    auto fast = route({{"type", {"motion"}}}, "box");
    fast.debounce_ms = 100;
    f.route({slow, fast});
    f.bus.publish(make_event("cam", "tamper"));  // the timer thread sleeps towards +60 s
    f.bus.publish(make_event("cam", "motion"));  // must wake it for +100 ms
    REQUIRE(wait_for([&] { return f.sink.snapshot().size() == 1; }, 3s));
    CHECK(f.sink.snapshot()[0].first == "cam/motion/pulse");
    // A new router: its own deadlines count, the old one's are gone with it.
    f.route({fast});
    f.bus.publish(make_event("cam2", "motion"));
    REQUIRE(wait_for([&] { return f.sink.snapshot().size() == 2; }, 3s));
    CHECK(f.sink.snapshot()[1].first == "cam2/motion/pulse");
}

TEST_CASE("publishers on several threads: every event routed once, each thread's order kept", "[bus][threads]") {
    Fixture f;
    f.route({route({{"type", {"*"}}}, "box")});
    constexpr int kThreads = 4, kEach = 2000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i) f.bus.publish(make_event(numbered('t', t), numbered('n', i)));
        });
    for (auto& th : threads) th.join();
    CHECK(f.bus.routed() == kThreads * kEach);
    REQUIRE(wait_for([&] { return f.sink.snapshot().size() == kThreads * kEach; }));
    auto got = f.sink.snapshot();
    std::map<std::string, int> next;
    uint64_t last_id = 0;
    for (const auto& [label, id] : got) {
        CHECK(id > last_id); // ids increase in delivery order: one sequence, one queue
        last_id = id;
        std::string source = label.substr(0, label.find('/'));
        std::string type = label.substr(label.find('/') + 1);
        type = type.substr(0, type.find('/'));
        CHECK(type == numbered('n', next[source]++));
    }
}

TEST_CASE("events published in a burst reach the sink at its end", "[bus][burst]") {
    Fixture f;
    f.route({route({{"type", {"*"}}}, "box")});
    DeliveryEngine::burst_begin();
    for (int i = 0; i < 5; ++i) f.bus.publish(make_event("cam", "motion"));
    CHECK(f.bus.routed() == 5);           // routed at once...
    CHECK(f.sink.snapshot().empty());     // ...handed to the sink at the burst's end
    DeliveryEngine::burst_end();
    CHECK(f.sink.snapshot().size() == 5); // deliver() ran on this thread, in burst_end
}
