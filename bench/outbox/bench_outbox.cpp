// bench_outbox: events through the durable outbox to a sink that acknowledges
// at once. Prints events/s, push-to-delivery latency percentiles, commits/s,
// fsyncs/s (counted at SQLite's VFS: one per commit with --sync full; with
// --sync normal only checkpoints sync) and peak RSS.
//
//   bench_outbox [--events N] [--sync normal|full] [--window W] [--attach BYTES]
//                [--rate EVENTS_PER_S] [--linger-us US] [--dir PATH] [--sinks K]
#include "delivery/outbox.hpp"
#include "sync_counter.hpp"

#include <passerelle/abi.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <vector>

using namespace passerelle;
using namespace passerelle::kernel;
using Clock = std::chrono::steady_clock;

namespace {

int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// Acknowledges inside deliver(): the outbox and the engine are all that is measured.
class InstantSink final : public SinkTarget {
public:
    InstantSink(std::string name, uint32_t window, std::vector<int64_t>& push_ns, std::vector<int64_t>& latency_ns)
        : name_(std::move(name)), window_(window), push_ns_(push_ns), latency_ns_(latency_ns) {}
    void deliver(const Job& job, Done done, bool) override {
        uint64_t i = job.event->id;
        latency_ns_[i] = now_ns() - push_ns_[i];
        last_ns_.store(now_ns(), std::memory_order_relaxed);
        delivered_.fetch_add(1, std::memory_order_release);
        done(PL_OK, "{}");
    }
    const std::string& sink_name() const override { return name_; }
    uint32_t max_inflight() const override { return window_; }
    uint64_t delivered() const { return delivered_.load(std::memory_order_acquire); }
    int64_t last_ns() const { return last_ns_.load(); }

private:
    std::string name_;
    uint32_t window_;
    std::vector<int64_t>& push_ns_;
    std::vector<int64_t>& latency_ns_;
    std::atomic<uint64_t> delivered_{0};
    std::atomic<int64_t> last_ns_{0};
};

double cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// CPU seconds of each live thread, in creation order: main (push), writer, engine(s).
std::string thread_cpu() {
    std::vector<std::pair<long, double>> out;
    for (auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
        std::FILE* f = std::fopen((entry.path() / "stat").c_str(), "r");
        if (!f) continue;
        char buf[1024];
        size_t n = std::fread(buf, 1, sizeof buf - 1, f);
        std::fclose(f);
        buf[n] = 0;
        const char* p = std::strrchr(buf, ')');
        if (!p) continue;
        unsigned long ut = 0, st = 0;
        // fields after ')': state(3) ... utime(14) stime(15)
        std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
        out.emplace_back(std::stol(entry.path().filename().string()), (ut + st) / 100.0);
    }
    std::sort(out.begin(), out.end());
    std::string text;
    for (auto& [tid, secs] : out) {
        char b[32];
        std::snprintf(b, sizeof b, " %.2f", secs);
        text += b;
    }
    return text;
}

long peak_rss_kib() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

} // namespace

int main(int argc, char** argv) {
    uint64_t events = 200000;
    bool full = false;
    uint32_t window = 16;
    size_t attach = 0;
    double rate = 0;
    long linger_us = 1000;
    unsigned sinks = 1;
    std::string dir;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) { std::fprintf(stderr, "%s needs a value\n", a.c_str()); std::exit(2); }
            return argv[++i];
        };
        if (a == "--events") events = std::stoull(next());
        else if (a == "--sync") full = next() == "full";
        else if (a == "--window") window = static_cast<uint32_t>(std::stoul(next()));
        else if (a == "--attach") attach = std::stoul(next());
        else if (a == "--rate") rate = std::stod(next());
        else if (a == "--linger-us") linger_us = std::stol(next());
        else if (a == "--sinks") sinks = std::max(1u, static_cast<unsigned>(std::stoul(next())));
        else if (a == "--dir") dir = next();
        else { std::fprintf(stderr, "unknown option %s\n", a.c_str()); return 2; }
    }
    bool own_dir = dir.empty();
    if (own_dir) {
        std::string tmpl = "/var/tmp/passerelle-bench-outbox-XXXXXX";
        if (!mkdtemp(tmpl.data())) { std::perror("mkdtemp"); return 1; }
        dir = tmpl;
    }

    std::vector<int64_t> push_ns(events * sinks + 1), latency_ns(events * sinks + 1);
    OutboxOptions o;
    o.state_dir = dir;
    o.synchronous_full = full;
    o.commit_linger = std::chrono::microseconds(linger_us);
    o.log = [](int level, std::string_view msg) {
        if (level >= PL_LOG_WARN) std::fprintf(stderr, "log: %.*s\n", static_cast<int>(msg.size()), msg.data());
    };
    uint64_t total = 0;
    double seconds = 0, push_seconds = 0;
    uint64_t commits = 0, fsyncs = 0;
    bench::install_sync_counter();
    std::string threads_cpu;
    {
        auto store = OutboxStore::open(o);
        if (!store->durable()) { std::fprintf(stderr, "outbox not durable: %s\n", store->error().c_str()); return 1; }
        std::vector<std::unique_ptr<InstantSink>> targets;
        std::vector<std::unique_ptr<SinkQueue>> queues;
        for (unsigned s = 0; s < sinks; ++s) {
            targets.push_back(std::make_unique<InstantSink>("sink" + std::to_string(s), window, push_ns, latency_ns));
            queues.push_back(store->open_queue(*targets.back()));
        }
        const uint64_t commits_before = store->commits();
        const uint64_t syncs_before = bench::syncs();
        const int64_t start = now_ns();
        for (uint64_t i = 1; i <= events * sinks; ++i) {
            if (rate > 0) {
                int64_t due = start + static_cast<int64_t>((i - 1) * 1e9 / rate);
                while (now_ns() < due) std::this_thread::sleep_for(std::chrono::microseconds(50));
            }
            auto e = std::make_shared<Event>();
            e->id = i;
            e->source = "cam_garage";
            e->module = "hikvision";
            e->type = "region_entrance";
            e->code = "regionEntrance";
            e->channel = 1;
            e->state = (i % 2) ? State::start : State::stop;
            e->time_ns = e->received_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::system_clock::now().time_since_epoch()).count();
            e->attrs["target"] = "human";
            e->attrs["region"] = "1";
            if (attach) {
                e->attachment_mime = "image/jpeg";
                e->attachment.assign(attach, static_cast<uint8_t>(i));
            }
            Job j;
            j.event = std::move(e);
            j.action = "set";
            j.params_json = R"({"id":"1234","value":"1"})";
            push_ns[i] = now_ns();
            queues[i % sinks]->push(std::move(j));
        }
        push_seconds = (now_ns() - start) / 1e9;
        auto delivered = [&] {
            uint64_t n = 0;
            for (auto& t : targets) n += t->delivered();
            return n;
        };
        auto deadline = Clock::now() + std::chrono::minutes(5);
        while (delivered() < events * sinks && Clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        int64_t last = 0;
        for (auto& t : targets) last = std::max(last, t->last_ns());
        total = delivered();
        seconds = (last - start) / 1e9;
        commits = store->commits() - commits_before;
        fsyncs = bench::syncs() - syncs_before;
        threads_cpu = thread_cpu();
        for (auto& q : queues) q->close(std::chrono::seconds(5));
    }
    std::vector<int64_t> lat(latency_ns.begin() + 1, latency_ns.begin() + 1 + static_cast<std::ptrdiff_t>(total));
    std::sort(lat.begin(), lat.end());
    auto pct = [&](double p) { return lat.empty() ? 0.0 : lat[std::min(lat.size() - 1, static_cast<size_t>(p * lat.size()))] / 1e6; };
    std::printf("outbox bench: %llu events, %u sink(s), window %u, attachment %zu B, synchronous=%s, linger %ld us%s\n",
                static_cast<unsigned long long>(events * sinks), sinks, window, attach, full ? "FULL" : "NORMAL",
                linger_us, rate > 0 ? (", paced at " + std::to_string(static_cast<long>(rate)) + " events/s").c_str() : "");
    std::printf("  delivered        %llu\n", static_cast<unsigned long long>(total));
    std::printf("  events/s         %.0f (push to last delivery)\n", total / seconds);
    std::printf("  push() calls/s   %.0f\n", events * sinks / push_seconds);
    std::printf("  latency ms       p50 %.2f  p99 %.2f  max %.2f (push to deliver)\n", pct(0.50), pct(0.99), pct(1.0));
    std::printf("  commits          %llu (%.0f/s, %.0f events per commit)%s\n", static_cast<unsigned long long>(commits),
                commits / seconds, commits ? static_cast<double>(total) / commits : 0.0,
                full ? ", synchronous=FULL" : ", synchronous=NORMAL");
    std::printf("  fsyncs           %llu (%.1f/s, counted at SQLite's VFS)\n", static_cast<unsigned long long>(fsyncs),
                fsyncs / seconds);
    std::printf("  CPU              %.2f us per event (all threads); per thread s (push, writer, engines):%s\n",
                cpu_seconds() * 1e6 / std::max<uint64_t>(total, 1), threads_cpu.c_str());
    std::printf("  peak RSS         %.1f MiB\n", peak_rss_kib() / 1024.0);
    if (own_dir) std::filesystem::remove_all(dir);
    return total == events * sinks ? 0 : 1;
}
