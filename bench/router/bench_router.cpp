// bench_router: events through the real bus (kernel::Bus) into the router and
// null sink queues, and through a bus-like queue into the router alone.
//
//   bench_router [events=2000000] [paced_rate=500000]
//
// Through the real bus (what a module's publish() costs in the daemon): the
// publishing thread calls Bus::publish, which takes the bus mutex, numbers the
// event (next_id), routes it and pushes a Job (shared_ptr<Event> + rendered
// params) onto each matching sink's queue; here every "to" of the rules gets
// a null SinkQueue that counts and drops. One publisher thread, then two
// contending for the bus. Latency per event is the publish() call, start to
// return (routed and handed to every sink queue); the event's shared_ptr copy
// is made before the clock starts, but counts in events/s.
//
// Then the same 20 realistic rules through a bus-like SPSC queue:
//   1. one thread: the loop enqueues a batch of events into a ring and drains
//      it through the router (the shape of the bus's dispatch loop);
//   2. two threads, saturated: a producer thread feeds an SPSC ring as fast
//      as it can, the router thread drains it (throughput; latency then is
//      mostly time spent waiting in the full ring);
//   3. two threads, paced: the producer enqueues at a fixed rate (latency at
//      a realistic load).
// Latency is per event, from enqueue to "routed" (dispatches handed to the
// sink). Events are prebuilt so the figures are the router's, not malloc's
// building events; the rendered params strings are real.
#include "core/bus.hpp"
#include "router/router.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

using passerelle::Event;
using passerelle::State;
using passerelle::kernel::Dispatch;
using passerelle::kernel::RouteConfig;
using passerelle::kernel::Router;

namespace {

int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

RouteConfig rule(std::map<std::string, std::vector<std::string>> when, std::string to, std::string params = "{}") {
    RouteConfig r;
    r.when = std::move(when);
    r.to = std::move(to);
    r.params_json = std::move(params);
    return r;
}

std::vector<RouteConfig> rules() {
    std::vector<RouteConfig> r;
    r.push_back(rule({{"source", {"cam_garage"}}, {"type", {"region_entrance"}}, {"attrs.target", {"human"}}}, "jeedom",
                     R"({"id":"1234","value":"{state|start=1,stop=0}"})"));
    r.back().throttle_ms = 2000;
    r.push_back(rule({{"source", {"cam_0*"}}, {"type", {"motion"}}, {"attrs.target", {"human", "vehicle"}}}, "jeedom",
                     R"({"id":"2001","value":"{state|start=1,stop=0}"})"));
    r.push_back(rule({{"type", {"doorbell"}}}, "eedomus", R"({"periph_id":"88","value":"100","when":"{time_local}"})"));
    r.push_back(rule({{"source", {"nvr_*"}}, {"channel", {"[1-4]"}}, {"type", {"intrusion", "line_crossing"}}},
                     "jeedom", R"({"id":"3001","value":"{channel}"})"));
    r.push_back(rule({{"type", {"video_loss", "tamper"}}}, "mqtt", R"({"topic":"alarm/{source}/{type}"})"));
    r.push_back(rule({{"module", {"asterisk"}}, {"type", {"call"}}, {"attrs.caller", {"06*", "07*"}}}, "jeedom",
                     R"({"id":"4001","value":"{attrs.caller}"})"));
    r.push_back(rule({{"type", {"dtmf"}}, {"attrs.digit", {"[0-9#*]"}}}, "jeedom", R"({"id":"4002","value":"{attrs.digit}"})"));
    r.push_back(rule({{"code", {"VideoMotion"}}, {"source", {"cam_1?"}}}, "webhook", R"({"text":"motion on {source}"})"));
    r.back().debounce_ms = 500;
    r.push_back(rule({{"source", {"door_*"}}, {"type", {"door"}}}, "eedomus", R"({"periph_id":"90","value":"{state}"})"));
    r.push_back(rule({{"type", {"storage_error", "network_error", "login_failure"}}}, "mqtt"));
    r.push_back(rule({{"source", {"cam_2*"}}, {"type", {"motion"}}, {"state", {"start"}}}, "sip", R"({"to":"sip:alarm@pbx"})"));
    r.back().throttle_ms = 10000;
    r.push_back(rule({{"attrs.region", {"driveway", "gate*"}}}, "jeedom", R"({"id":"5001","value":"{attrs.region}"})"));
    r.push_back(rule({{"type", {"face"}}, {"attrs.name", {"*"}}}, "jeedom", R"({"id":"5002","value":"{attrs.name}"})"));
    r.push_back(rule({{"source", {"*_porch"}}}, "webhook", R"({"text":"{type} {state} at the porch"})"));
    r.push_back(rule({{"type", {"registration"}}, {"state", {"stop"}}}, "mqtt", R"({"topic":"sip/lost"})"));
    r.push_back(rule({{"source", {"cam_3[0-9]"}}, {"type", {"line_crossing"}}}, "jeedom", R"({"id":"6001","value":"1"})"));
    r.push_back(rule({{"type", {"pir", "audio"}}, {"channel", {"1"}}}, "eedomus", R"({"periph_id":"91","value":"1"})"));
    r.push_back(rule({{"module", {"sip"}}, {"type", {"message"}}}, "jeedom", R"({"id":"7001","value":"{attrs.text}"})"));
    r.push_back(rule({{"type", {"device"}}}, "mqtt", R"({"topic":"health/{source}","payload":"{code}"})"));
    r.back().final = true;
    r.push_back(rule({}, "filelog")); // everything else goes to the log, whole event
    return r;
}

std::vector<Event> make_events(size_t n) {
    const char* types[] = {"motion", "motion", "motion", "intrusion", "line_crossing", "doorbell", "video_loss",
                           "tamper", "region_entrance", "door", "face", "device", "other"};
    const char* codes[] = {"VideoMotion", "fielddetection", "linedetection", "CrossRegionDetection"};
    const char* targets[] = {"human", "vehicle", ""};
    const char* regions[] = {"1", "2", "driveway", "gate_east", ""};
    std::vector<Event> ev;
    ev.reserve(n);
    uint64_t x = 0x9E3779B97F4A7C15ull;
    auto rnd = [&] {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return x;
    };
    for (size_t i = 0; i < n; ++i) {
        Event e;
        e.id = i;
        e.time_ns = 1700000000000000000 + static_cast<int64_t>(i) * 1000000;
        e.received_ns = e.time_ns + 2000000;
        const uint64_t r = rnd();
        switch (r % 10) {
        case 0: e.source = "nvr_" + std::to_string(r % 3); e.module = "dahua"; break;
        case 1: e.source = "front_porch"; e.module = "dahua"; break;
        case 2: e.source = "door_" + std::to_string(r % 2); e.module = "dahua"; break;
        case 3: e.source = "pbx"; e.module = "asterisk"; break;
        default: e.source = "cam_" + std::to_string(r % 40); e.module = "hikvision"; break;
        }
        if (e.module == "asterisk") {
            e.type = (r >> 8) % 2 ? "call" : "dtmf";
            e.code = (r >> 8) % 2 ? "Newchannel" : "DTMFEnd";
            e.attrs["caller"] = "06" + std::to_string(10000000 + r % 89999999);
            e.attrs["digit"] = std::string(1, "0123456789#*"[(r >> 12) % 12]);
        } else {
            e.type = types[(r >> 8) % std::size(types)];
            e.code = codes[(r >> 16) % std::size(codes)];
            const char* t = targets[(r >> 20) % std::size(targets)];
            const char* g = regions[(r >> 24) % std::size(regions)];
            if (*t) e.attrs["target"] = t;
            if (*g) e.attrs["region"] = g;
            if (e.type == "face") e.attrs["name"] = "alice";
        }
        e.channel = static_cast<int32_t>(1 + (r >> 28) % 8);
        e.state = static_cast<State>(std::array<int, 3>{PL_STATE_START, PL_STATE_STOP, PL_STATE_PULSE}[(r >> 32) % 3]);
        ev.push_back(std::move(e));
    }
    return ev;
}

struct Item {
    const Event* e;
    int64_t enqueued_ns;
};

// Single-producer single-consumer ring; indices on their own cache lines.
class SpscRing {
public:
    explicit SpscRing(size_t capacity_pow2) : buf_(capacity_pow2), mask_(capacity_pow2 - 1) {}
    bool push(const Item& it) {
        const size_t h = head_.load(std::memory_order_relaxed);
        if (h - tail_cache_ > mask_) {
            tail_cache_ = tail_.load(std::memory_order_acquire);
            if (h - tail_cache_ > mask_) return false;
        }
        buf_[h & mask_] = it;
        head_.store(h + 1, std::memory_order_release);
        return true;
    }
    bool pop(Item& it) {
        const size_t t = tail_.load(std::memory_order_relaxed);
        if (t == head_cache_) {
            head_cache_ = head_.load(std::memory_order_acquire);
            if (t == head_cache_) return false;
        }
        it = buf_[t & mask_];
        tail_.store(t + 1, std::memory_order_release);
        return true;
    }

private:
    std::vector<Item> buf_;
    const size_t mask_;
    alignas(64) std::atomic<size_t> head_{0};
    alignas(64) size_t tail_cache_ = 0; // producer's view of tail
    alignas(64) std::atomic<size_t> tail_{0};
    alignas(64) size_t head_cache_ = 0; // consumer's view of head
};

// The null sink: touches what a sink would read, keeps the compiler honest.
struct NullSink {
    uint64_t dispatches = 0;
    uint64_t bytes = 0;
    void consume(std::vector<Dispatch>& out) {
        for (const auto& d : out) bytes += d.params_json.size() + d.to->size();
        dispatches += out.size();
        out.clear();
    }
};

double cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct Stats {
    Stats() = default;
    Stats(const char* n, size_t count) : name(n), events(count) {}
    const char* name = "";
    size_t events = 0;
    double seconds = 0;
    double cpu = 0; // process CPU seconds used by the run (robust to a shared, loaded host)
    std::vector<uint32_t> latency_ns;
    NullSink sink;
};

long peak_rss_kib() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

void print(Stats& s) {
    std::sort(s.latency_ns.begin(), s.latency_ns.end());
    auto pct = [&](double p) {
        if (s.latency_ns.empty()) return 0.0;
        size_t i = std::min(s.latency_ns.size() - 1, static_cast<size_t>(p * static_cast<double>(s.latency_ns.size())));
        return s.latency_ns[i] / 1000.0;
    };
    std::printf("%-28s %10.0f events/s  %10.0f events/CPU-s  p50 %7.2f us  p99 %8.2f us  p999 %8.2f us  max %9.2f us  "
                "dispatches/event %.2f  peak RSS %ld KiB\n",
                s.name, static_cast<double>(s.events) / s.seconds, static_cast<double>(s.events) / s.cpu, pct(0.50), pct(0.99), pct(0.999),
                s.latency_ns.empty() ? 0.0 : s.latency_ns.back() / 1000.0,
                static_cast<double>(s.sink.dispatches) / static_cast<double>(s.events), peak_rss_kib());
    std::fflush(stdout);
}

uint32_t clamp_ns(int64_t ns) { return static_cast<uint32_t>(std::clamp<int64_t>(ns, 0, UINT32_MAX)); }

// Routes one dequeued event. `clock_ns` is the time of the previous
// completion: the dispatch loop reuses its last clock reading as "now" for
// throttle/debounce, so each event costs one clock read (70 ns on this VM's
// kvm-clock) besides the producer's enqueue stamp.
void route_item(Router& router, const Item& it, std::vector<Dispatch>& out, Stats& s, int64_t& clock_ns) {
    router.route(*it.e, clock_ns, out);
    if (router.next_deadline_ns() <= clock_ns) router.poll(clock_ns, out);
    s.sink.consume(out);
    clock_ns = now_ns();
    s.latency_ns.push_back(clamp_ns(clock_ns - it.enqueued_ns));
}

// The router alone: no queue, one clock read per 256 events, no latency.
Stats run_router_only(const std::vector<Event>& events, size_t n) {
    auto router = passerelle::kernel::make_router(rules());
    Stats s("router only (no queue)", n);
    std::vector<Dispatch> out;
    out.reserve(64);
    const int64_t start = now_ns();
    int64_t clock = start;
    for (size_t i = 0; i < n; ++i) {
        if ((i & 255) == 0) {
            clock = now_ns();
            if (router->next_deadline_ns() <= clock) router->poll(clock, out);
        }
        router->route(events[i % events.size()], clock, out);
        s.sink.consume(out);
    }
    s.seconds = static_cast<double>(now_ns() - start) / 1e9;
    return s;
}

Stats run_one_thread(const std::vector<Event>& events, size_t n, size_t batch) {
    auto router = passerelle::kernel::make_router(rules());
    Stats s("1 thread, bus loop", n);
    s.latency_ns.reserve(n);
    SpscRing ring(1024);
    std::vector<Dispatch> out;
    out.reserve(64);
    const int64_t start = now_ns();
    for (size_t i = 0; i < n;) {
        size_t b = std::min(batch, n - i);
        for (size_t k = 0; k < b; ++k) ring.push({&events[(i + k) % events.size()], now_ns()});
        Item it;
        int64_t clock = now_ns();
        while (ring.pop(it)) route_item(*router, it, out, s, clock);
        i += b;
    }
    s.seconds = static_cast<double>(now_ns() - start) / 1e9;
    return s;
}

Stats run_two_threads(const std::vector<Event>& events, size_t n, double rate, const char* name) {
    auto router = passerelle::kernel::make_router(rules());
    Stats s(name, n);
    s.latency_ns.reserve(n);
    SpscRing ring(1024);
    std::atomic<bool> go{false};
    std::thread producer([&] {
        while (!go.load(std::memory_order_acquire)) {}
        const int64_t start = now_ns();
        const double interval = rate > 0 ? 1e9 / rate : 0;
        for (size_t i = 0; i < n; ++i) {
            if (interval > 0) {
                const int64_t due = start + static_cast<int64_t>(static_cast<double>(i) * interval);
                while (now_ns() < due) {} // spin: a yield on a loaded host gives the core away for milliseconds
            }
            Item it{&events[i % events.size()], now_ns()};
            while (!ring.push(it)) std::this_thread::yield();
        }
    });
    std::vector<Dispatch> out;
    out.reserve(64);
    const int64_t start = now_ns();
    go.store(true, std::memory_order_release);
    size_t done = 0, idle = 0;
    Item it;
    int64_t clock = now_ns();
    while (done < n) {
        if (ring.pop(it)) {
            route_item(*router, it, out, s, clock);
            ++done;
            idle = 0;
        } else if (++idle > 256) { // spin a little, then let the producer run
            std::this_thread::yield();
            clock = now_ns();
        }
    }
    s.seconds = static_cast<double>(now_ns() - start) / 1e9;
    producer.join();
    return s;
}

// A sink queue that takes the Job and drops it: the bus's hand-over, no delivery.
class NullSinkQueue final : public passerelle::kernel::SinkQueue {
public:
    void push(passerelle::kernel::Job job) override {
        bytes_.fetch_add(job.params_json.size(), std::memory_order_relaxed);
        jobs_.fetch_add(1, std::memory_order_relaxed);
    } // the Job (and its reference to the event) is released here
    passerelle::kernel::SinkStats stats() const override { return {}; }
    void close(std::chrono::milliseconds) override {}
    uint64_t jobs() const { return jobs_.load(); }

private:
    std::atomic<uint64_t> jobs_{0};
    std::atomic<uint64_t> bytes_{0};
};

// `threads` publishers share the bus, each publishing n / threads events.
Stats run_bus(const std::vector<Event>& events, size_t n, unsigned threads, const char* name) {
    std::atomic<uint64_t> next_id{1};
    passerelle::kernel::Bus bus([&next_id] { return next_id.fetch_add(1, std::memory_order_relaxed); });
    auto topo = std::make_shared<passerelle::kernel::Topology>();
    topo->router = passerelle::kernel::make_router(rules());
    std::vector<std::shared_ptr<NullSinkQueue>> queues;
    std::set<std::string> names;
    for (const auto& r : rules()) names.insert(r.to);
    for (const auto& to : names) {
        queues.push_back(std::make_shared<NullSinkQueue>());
        topo->sinks.emplace(to, queues.back());
    }
    bus.set_topology(topo);

    Stats s(name, n);
    std::vector<std::vector<uint32_t>> latency(threads);
    std::atomic<bool> go{false};
    std::vector<std::thread> publishers;
    const size_t per_thread = n / threads;
    for (unsigned t = 0; t < threads; ++t) {
        publishers.emplace_back([&, t] {
            auto& lat = latency[t];
            lat.reserve(per_thread);
            while (!go.load(std::memory_order_acquire)) {}
            for (size_t i = 0; i < per_thread; ++i) {
                auto e = std::make_shared<Event>(events[(i * threads + t) % events.size()]); // what a host does
                const int64_t t0 = now_ns();
                e->received_ns = t0;
                bus.publish(std::move(e));
                lat.push_back(clamp_ns(now_ns() - t0));
            }
        });
    }
    const int64_t start = now_ns();
    go.store(true, std::memory_order_release);
    for (auto& p : publishers) p.join();
    s.seconds = static_cast<double>(now_ns() - start) / 1e9;
    s.events = per_thread * threads;
    for (auto& l : latency) s.latency_ns.insert(s.latency_ns.end(), l.begin(), l.end());
    for (const auto& q : queues) s.sink.dispatches += q->jobs();
    bus.set_topology(nullptr);
    return s;
}

} // namespace

int main(int argc, char** argv) {
    const size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 2000000;
    const double rate = argc > 2 ? std::strtod(argv[2], nullptr) : 500000;
    const auto events = make_events(4096);
    double load[3] = {0, 0, 0};
    if (FILE* f = std::fopen("/proc/loadavg", "r")) {
        if (std::fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) load[0] = -1;
        std::fclose(f);
    }
    std::printf("bench_router: %zu events, %zu rules, %zu distinct prebuilt events, %u hardware threads, "
                "load average %.2f (figures are only meaningful on an idle machine)\n",
                n, rules().size(), events.size(), std::thread::hardware_concurrency(), load[0]);

    { // warm-up (page faults, caches, throttle maps)
        auto w = run_one_thread(events, std::min<size_t>(n, 200000), 16);
        (void)w;
    }
    // Batches of 16: the bus hands the dispatch thread what arrived since its last turn.
    auto timed = [](auto&& run) {
        const double c0 = cpu_seconds();
        Stats s = run();
        s.cpu = cpu_seconds() - c0;
        return s;
    };
    auto bus1 = timed([&] { return run_bus(events, n, 1, "bus, 1 publisher thread"); });
    print(bus1);
    bus1 = {};
    auto bus2 = timed([&] { return run_bus(events, n, 2, "bus, 2 publisher threads"); });
    print(bus2);
    bus2 = {};
    auto r = timed([&] { return run_router_only(events, n); });
    print(r);
    auto a = timed([&] { return run_one_thread(events, n, 16); });
    print(a);
    a = {};
    auto b = timed([&] { return run_two_threads(events, n, 0, "2 threads, saturated"); });
    print(b);
    b = {};
    char name[64];
    std::snprintf(name, sizeof name, "2 threads, paced %.0f/s", rate);
    auto c = timed([&] { return run_two_threads(events, n, rate, name); });
    print(c);
    return 0;
}
