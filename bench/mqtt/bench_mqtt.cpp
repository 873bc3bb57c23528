// MQTT benchmark (issue 10, point 7): numbered events from the bench_flood
// source module through the real daemon (router, durable SQLite outbox) and the
// mqtt module at QoS 1 to a Mosquitto broker started here, read back by a QoS 1
// subscriber (libmosquitto on its own thread). Prints events/s, latency
// percentiles, order, and the daemon's peak RSS and CPU.
//
//   bench_mqtt [--events N] [--rate R] [--seconds S] [--no-state] [--protocol 3.1.1|5] [--bin PATH]
//              [--no-subscriber]
//
// Two runs, each on a fresh daemon, state dir and broker:
//   flood: N events published as fast as possible -> sustained rate;
//   paced: R events/s for S seconds -> latency at that rate.
// Latency = the subscriber's receive time minus attrs.t_ns (the time the source
// published the event into the daemon). The broker forwards a QoS 1 PUBLISH to
// its subscribers while it sends the PUBACK, so this is the routing-to-PUBACK
// latency plus one loopback hop. Each event is two messages by default (the
// event JSON and its retained ON/OFF state); --no-state sends only the event.
// --no-subscriber: the flood run counts what Mosquitto acknowledged (PUBACK) from
// the daemon's own passerelle_outbox_delivered_total instead of reading it back,
// so the two cores carry the daemon and the broker only (no latency figures then).
#include "../common/bench_util.hpp"

#include <mosquitto.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <netinet/in.h>
#include <optional>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace fs = std::filesystem;

namespace {

using bench::attr_number;
using bench::cpu_seconds;
using bench::now_ns;
using bench::percentile_ms;
using bench::status_kib;

int free_port() {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(s);
    return ntohs(a.sin_port);
}

bool port_open(int port) {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(s);
    return ok;
}

// The daemon's passerelle_outbox_delivered_total for the mqtt sink (events the
// broker acknowledged), read from /metrics; nullopt while the API does not answer.
std::optional<uint64_t> delivered_to_broker(int api_port) {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(api_port));
    if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(s);
        return std::nullopt;
    }
    const std::string req = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (::write(s, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
        ::close(s);
        return std::nullopt;
    }
    std::string body;
    char buf[16384];
    for (ssize_t n; (n = ::read(s, buf, sizeof buf)) > 0;) body.append(buf, static_cast<size_t>(n));
    ::close(s);
    const std::string needle = "passerelle_outbox_delivered_total{instance=\"mqtt\"} ";
    auto p = body.find(needle);
    if (p == std::string::npos) return std::nullopt;
    return std::strtoull(body.c_str() + p + needle.size(), nullptr, 10);
}

pid_t spawn(std::vector<std::string> argv, const std::string& log) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = 0;
    int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        std::fprintf(stderr, "cannot run %s\n", argv[0].c_str());
        std::exit(1);
    }
    return pid;
}

void stop(pid_t pid) {
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    for (int i = 0; i < 400; ++i) {
        if (::waitpid(pid, nullptr, WNOHANG) == pid) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
}




struct Tally {
    std::mutex m;
    std::condition_variable cv;
    std::vector<int64_t> latency_ns;
    int64_t first_publish = 0, last_recv = 0;
    uint64_t received = 0, out_of_order = 0, duplicates = 0, max_seq = 0;
};

// A QoS 1 subscriber with a persistent session, on libmosquitto's own thread.
class Subscriber {
public:
    Subscriber(int port, const std::string& topic, Tally& t) : tally_(t), topic_(topic) {
        m_ = mosquitto_new("bench-sub", false, this);
        mosquitto_connect_callback_set(m_, [](mosquitto* m, void* o, int rc) {
            auto* self = static_cast<Subscriber*>(o);
            if (rc == 0) mosquitto_subscribe(m, nullptr, self->topic_.c_str(), 1);
        });
        mosquitto_subscribe_callback_set(m_, [](mosquitto*, void* o, int, int, const int*) {
            auto* self = static_cast<Subscriber*>(o);
            std::lock_guard l(self->tally_.m);
            self->subscribed_ = true;
            self->tally_.cv.notify_all();
        });
        mosquitto_message_callback_set(m_, [](mosquitto*, void* o, const mosquitto_message* msg) {
            static_cast<Subscriber*>(o)->record(
                std::string_view(static_cast<const char*>(msg->payload), static_cast<size_t>(msg->payloadlen)));
        });
        mosquitto_connect(m_, "127.0.0.1", port, 60);
        mosquitto_loop_start(m_);
        std::unique_lock l(tally_.m);
        if (!tally_.cv.wait_for(l, std::chrono::seconds(5), [&] { return subscribed_; })) {
            std::fprintf(stderr, "the subscriber could not subscribe\n");
            std::exit(1);
        }
    }
    ~Subscriber() {
        mosquitto_disconnect(m_);
        mosquitto_loop_stop(m_, true);
        mosquitto_destroy(m_);
    }

private:
    void record(std::string_view body) {
        const int64_t t = now_ns();
        auto seq = attr_number(body, "seq");
        auto sent = attr_number(body, "t_ns");
        std::lock_guard l(tally_.m);
        if (seq && static_cast<uint64_t>(*seq) <= tally_.max_seq) {
            // An at-least-once duplicate (a resend after a reconnect) or a real reorder.
            if (static_cast<uint64_t>(*seq) == tally_.max_seq) ++tally_.duplicates;
            else ++tally_.out_of_order;
            return;
        }
        ++tally_.received;
        tally_.last_recv = t;
        if (seq) tally_.max_seq = *seq;
        if (sent) {
            tally_.latency_ns.push_back(t - *sent);
            if (!tally_.first_publish || *sent < tally_.first_publish) tally_.first_publish = *sent;
        }
        tally_.cv.notify_all();
    }

    mosquitto* m_;
    Tally& tally_;
    std::string topic_;
    bool subscribed_ = false;
};

struct Options {
    int64_t events = 100000;
    int64_t rate = 5000;
    int64_t seconds = 5;
    bool state = true;
    bool subscriber = true;
    std::string protocol = "3.1.1";
    std::string bin = std::string(PASSERELLE_BINARY_DIR) + "/bin/passerelle";
    std::string module_dir = std::string(PASSERELLE_BINARY_DIR) + "/lib/passerelle";
    std::string bench_module_dir = BENCH_MODULE_DIR;
};

struct RunResult {
    bool complete = false;
    double seconds = 0;
    bool counted_by_daemon = false; // --no-subscriber: acked counts from /metrics
    uint64_t counted_events = 0;     // events acknowledged within `seconds`
    long daemon_rss_kib = 0, broker_rss_kib = 0;
    double daemon_cpu = 0, broker_cpu = 0, subscriber_cpu = 0;
};


RunResult run(const Options& o, Tally& tally, int64_t count, int64_t rate, const char* label) {
    fs::path dir = fs::temp_directory_path() / ("passerelle-bench-mqtt-" + std::to_string(getpid()) + "-" + label);
    fs::remove_all(dir);
    fs::create_directories(dir);
    const int broker_port = free_port();
    {
        const passwd* pw = ::getpwuid(::getuid());
        std::ofstream c(dir / "mosquitto.conf");
        c << "user " << (pw ? pw->pw_name : "root") << "\n"
          << "listener " << broker_port << " 127.0.0.1\nallow_anonymous true\n"
          << "max_queued_messages 0\nmax_inflight_messages 1000\n";
    }
    pid_t broker = spawn({"mosquitto", "-c", (dir / "mosquitto.conf").string()}, (dir / "broker.log").string());
    for (int i = 0; i < 200 && !port_open(broker_port); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));

    RunResult r;
    const double own_cpu_before = cpu_seconds(::getpid()); // this process: the subscriber's libmosquitto thread
    {
        const bool by_daemon = !o.subscriber && rate == 0;
        std::optional<Subscriber> sub;
        if (!by_daemon) sub.emplace(broker_port, "passerelle/flood/motion/1", tally);
        const int api_port = free_port();
        const fs::path config = dir / "passerelle.toml";
        {
            std::ofstream c(config);
            c << "[daemon]\nstate_dir = \"" << (dir / "state").string() << "\"\n"
              << "modules = [\"" << o.module_dir << "\", \"" << o.bench_module_dir << "\"]\nlog_level = \"warn\"\n"
              << "[daemon.api]\nlisten = \"127.0.0.1:" << api_port << "\"\n\n"
              << "[instance.flood]\nmodule = \"bench_flood\"\ncount = " << count << "\nrate = " << rate << "\n\n"
              << "[instance.mqtt]\nmodule = \"mqtt\"\nurl = \"mqtt://127.0.0.1:" << broker_port << "\"\n"
              << "daemon_name = \"bench\"\nqos = 1\nprotocol = \"" << o.protocol << "\"\n"
              << "retain_state = " << (o.state ? "true" : "false") << "\n\n"
              << "[[route]]\nwhen = { source = \"flood\" }\nto = \"mqtt\"\n";
        }
        pid_t daemon = spawn({o.bin, "run", "-c", config.string()}, (dir / "daemon.log").string());
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30 + count / 1000);
        uint64_t first_count = 0;
        int64_t first_ns = 0;
        while (by_daemon && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            auto acked = delivered_to_broker(api_port).value_or(0);
            if (acked > 0 && !first_ns) {
                first_ns = now_ns();
                first_count = acked;
            }
            if (acked >= static_cast<uint64_t>(count)) {
                r.complete = true;
                r.counted_by_daemon = true;
                r.counted_events = acked - first_count;
                r.seconds = (now_ns() - first_ns) / 1e9;
                std::lock_guard l(tally.m);
                tally.received = acked;
                break;
            }
            if (::waitpid(daemon, nullptr, WNOHANG) == daemon) {
                std::fprintf(stderr, "daemon exited early; see %s\n", (dir / "daemon.log").c_str());
                std::exit(1);
            }
        }
        while (!by_daemon && std::chrono::steady_clock::now() < deadline) {
            {
                std::unique_lock l(tally.m);
                if (tally.cv.wait_for(l, std::chrono::milliseconds(20),
                                      [&] { return tally.received >= static_cast<uint64_t>(count); })) {
                    r.complete = true;
                    break;
                }
            }
            if (::waitpid(daemon, nullptr, WNOHANG) == daemon) {
                std::fprintf(stderr, "daemon exited early; see %s\n", (dir / "daemon.log").c_str());
                std::exit(1);
            }
        }
        r.daemon_rss_kib = status_kib(daemon, "VmHWM:");
        r.daemon_cpu = cpu_seconds(daemon);
        r.broker_rss_kib = status_kib(broker, "VmHWM:");
        r.broker_cpu = cpu_seconds(broker);
        r.subscriber_cpu = cpu_seconds(::getpid()) - own_cpu_before;
        stop(daemon);
    }
    stop(broker);
    if (!r.counted_by_daemon) {
        std::lock_guard l(tally.m);
        r.seconds = (tally.last_recv - tally.first_publish) / 1e9;
    }
    if (!r.complete) std::fprintf(stderr, "%s: incomplete, see %s\n", label, dir.c_str());
    else fs::remove_all(dir);
    return r;
}

void report(const char* label, Tally& t, const RunResult& r) {
    std::lock_guard l(t.m);
    std::sort(t.latency_ns.begin(), t.latency_ns.end());
    std::printf("%s: %llu events received%s, %llu out of order, %llu duplicates\n", label,
                static_cast<unsigned long long>(t.received), r.complete ? "" : " (INCOMPLETE)",
                static_cast<unsigned long long>(t.out_of_order), static_cast<unsigned long long>(t.duplicates));
    if (r.counted_by_daemon) {
        std::printf("  events/s         %.0f (acknowledged by the broker: the daemon's delivered counter, %llu events "
                    "in %.2f s; no subscriber)\n",
                    r.counted_events / r.seconds, static_cast<unsigned long long>(r.counted_events), r.seconds);
    } else {
        std::printf("  events/s         %.0f (first publish to last receive, %.2f s)\n", t.received / r.seconds,
                    r.seconds);
    }
    if (!r.counted_by_daemon) std::printf("  latency ms       p50 %.2f  p99 %.2f  max %.2f (publish into the daemon to subscriber receive)\n",
                percentile_ms(t.latency_ns, 0.5), percentile_ms(t.latency_ns, 0.99), percentile_ms(t.latency_ns, 1.0));
    std::printf("  daemon           peak RSS %.1f MiB, CPU %.2f s (%.1f us per event)\n", r.daemon_rss_kib / 1024.0,
                r.daemon_cpu, r.daemon_cpu * 1e6 / std::max<uint64_t>(1, t.received));
    std::printf("  mosquitto        peak RSS %.1f MiB, CPU %.2f s (%.1f us per event)\n", r.broker_rss_kib / 1024.0,
                r.broker_cpu, r.broker_cpu * 1e6 / std::max<uint64_t>(1, t.received));
    std::printf("  subscriber       CPU %.2f s (%.1f us per event; this process)\n", r.subscriber_cpu,
                r.subscriber_cpu * 1e6 / std::max<uint64_t>(1, t.received));
}

} // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--events") o.events = std::stoll(value());
        else if (a == "--rate") o.rate = std::stoll(value());
        else if (a == "--seconds") o.seconds = std::stoll(value());
        else if (a == "--no-state") o.state = false;
        else if (a == "--no-subscriber") o.subscriber = false;
        else if (a == "--protocol") o.protocol = value();
        else if (a == "--bin") o.bin = value();
        else {
            std::fprintf(stderr, "usage: bench_mqtt [--events N] [--rate R] [--seconds S] [--no-state] "
                                 "[--protocol 3.1.1|5] [--bin PATH] [--no-subscriber]\n");
            return 2;
        }
    }
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    mosquitto_lib_init();
    std::printf("mqtt bench: daemon %s, QoS 1, MQTT %s, %s, %u CPU(s)\n", o.bin.c_str(), o.protocol.c_str(),
                o.state ? "event + retained state per event" : "event only", std::thread::hardware_concurrency());
    bool ok = true;
    {
        Tally tally;
        auto flood = run(o, tally, o.events, 0, "flood");
        report("flood (as fast as possible)", tally, flood);
        ok &= flood.complete;
    }
    {
        Tally tally;
        auto paced = run(o, tally, o.rate * o.seconds, o.rate, "paced");
        char label[64];
        std::snprintf(label, sizeof label, "paced (%lld events/s)", static_cast<long long>(o.rate));
        report(label, tally, paced);
        ok &= paced.complete;
    }
    mosquitto_lib_cleanup();
    return ok ? 0 : 1;
}
