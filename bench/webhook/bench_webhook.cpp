// Webhook benchmark (issue 4, point 8b): events from a source module through
// the real daemon (router, durable outbox) and the webhook module to a local
// keep-alive HTTP server written here with Asio. Prints events/s delivered,
// publish-to-receive latency percentiles and the daemon's peak RSS.
//
//   bench_webhook [--events N] [--rate R] [--seconds S] [--bin PATH] [--strace]
//
// Two runs, each on a fresh daemon and state dir:
//   flood: N events published as fast as possible -> sustained delivery rate;
//   paced: R events/s for S seconds -> latency at that rate.
// Latency = the server's receive time minus attrs.t_ns, the publish time the
// source module stamps in ns (the event `time` is only in ms in the JSON).
#include "../common/bench_util.hpp"

#include <utility> // before Asio: Boost 1.74 awaitable.hpp uses std::exchange
#include <boost/asio.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fcntl.h>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <spawn.h>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace asio = boost::asio;
using asio::ip::tcp;
namespace fs = std::filesystem;

namespace {

using bench::attr_number;
using bench::cpu_seconds;
using bench::now_ns;
using bench::percentile_ms;
using bench::status_kib;

// What the server saw.
struct Tally {
    std::mutex m;
    std::vector<int64_t> latency_ns;
    int64_t first_recv = 0, last_recv = 0, first_publish = 0;
    uint64_t received = 0, out_of_order = 0, max_seq = 0, connections = 0;

    void reset() {
        std::lock_guard lock(m);
        latency_ns.clear();
        first_recv = last_recv = first_publish = 0;
        received = out_of_order = max_seq = connections = 0;
    }
};


// One keep-alive connection: read a request (head + Content-Length body),
// record it, answer 200, loop.
class Session : public std::enable_shared_from_this<Session> {
public:
    Session(tcp::socket s, Tally& t) : socket_(std::move(s)), tally_(t) {}
    void start() { read_head(); }

private:
    void read_head() {
        auto self = shared_from_this();
        asio::async_read_until(socket_, buf_, "\r\n\r\n", [this, self](boost::system::error_code ec, size_t n) {
            if (ec) return;
            std::string head(asio::buffers_begin(buf_.data()), asio::buffers_begin(buf_.data()) + n);
            buf_.consume(n);
            size_t length = 0;
            std::string lower = head;
            std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
            if (auto p = lower.find("content-length:"); p != std::string::npos)
                length = std::strtoul(lower.c_str() + p + 15, nullptr, 10);
            read_body(length);
        });
    }
    void read_body(size_t length) {
        auto self = shared_from_this();
        size_t have = buf_.size();
        size_t need = length > have ? length - have : 0;
        asio::async_read(socket_, buf_, asio::transfer_exactly(need), [this, self, length](boost::system::error_code ec, size_t) {
            if (ec) return;
            std::string body(asio::buffers_begin(buf_.data()), asio::buffers_begin(buf_.data()) + length);
            buf_.consume(length);
            record(body);
            static const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
            asio::async_write(socket_, asio::buffer(ok), [this, self](boost::system::error_code ec, size_t) {
                if (!ec) read_head();
            });
        });
    }
    void record(std::string_view body) {
        const int64_t t = now_ns();
        auto seq = attr_number(body, "seq");
        auto sent = attr_number(body, "t_ns");
        std::lock_guard lock(tally_.m);
        ++tally_.received;
        if (!tally_.first_recv) tally_.first_recv = t;
        tally_.last_recv = t;
        if (sent) {
            tally_.latency_ns.push_back(t - *sent);
            if (!tally_.first_publish || *sent < tally_.first_publish) tally_.first_publish = *sent;
        }
        if (seq) {
            if (static_cast<uint64_t>(*seq) < tally_.max_seq) ++tally_.out_of_order;
            tally_.max_seq = std::max<uint64_t>(tally_.max_seq, *seq);
        }
    }

    tcp::socket socket_;
    asio::streambuf buf_;
    Tally& tally_;
};

class Server {
public:
    explicit Server(Tally& t) : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), tally_(t) {
        accept();
        thread_ = std::thread([this] { io_.run(); });
    }
    ~Server() {
        io_.stop();
        thread_.join();
    }
    uint16_t port() const { return acceptor_.local_endpoint().port(); }

private:
    void accept() {
        acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
            if (!ec) {
                {
                    std::lock_guard lock(tally_.m);
                    ++tally_.connections;
                }
                std::make_shared<Session>(std::move(s), tally_)->start();
            }
            accept();
        });
    }
    asio::io_context io_;
    tcp::acceptor acceptor_;
    Tally& tally_;
    std::thread thread_;
};

uint16_t free_port() {
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
}



struct Options {
    int64_t events = 50000;
    int64_t rate = 5000;
    int64_t seconds = 5;
    std::string bin = std::string(PASSERELLE_BINARY_DIR) + "/bin/passerelle";
    std::string module_dir = std::string(PASSERELLE_BINARY_DIR) + "/lib/passerelle";
    std::string bench_module_dir = BENCH_MODULE_DIR;
    bool strace = false;
};

struct RunResult {
    bool complete = false;
    double seconds = 0;
    long peak_rss_kib = 0;
    double daemon_cpu = 0;
};

RunResult run(const Options& o, Tally& tally, uint16_t server_port, int64_t count, int64_t rate, const char* label) {
    tally.reset();
    fs::path dir = fs::temp_directory_path() / ("passerelle-bench-webhook-" + std::to_string(getpid()) + "-" + label);
    fs::remove_all(dir);
    fs::create_directories(dir);
    const fs::path config = dir / "passerelle.toml";
    {
        std::ofstream c(config);
        c << "[daemon]\nstate_dir = \"" << (dir / "state").string() << "\"\n"
          << "modules = [\"" << o.module_dir << "\", \"" << o.bench_module_dir << "\"]\nlog_level = \"warn\"\n"
          << "[daemon.api]\nlisten = \"127.0.0.1:" << free_port() << "\"\n\n"
          << "[instance.flood]\nmodule = \"bench_flood\"\ncount = " << count << "\nrate = " << rate << "\n\n"
          << "[instance.hook]\nmodule = \"webhook\"\nurl = \"http://127.0.0.1:" << server_port << "/hook\"\n\n"
          << "[[route]]\nwhen = { source = \"flood\" }\nto = \"hook\"\n";
    }
    std::string log = (dir / "daemon.log").string();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    std::string cfg = config.string();
    char* argv[] = {const_cast<char*>(o.bin.c_str()), const_cast<char*>("run"), const_cast<char*>("-c"),
                    const_cast<char*>(cfg.c_str()), nullptr};
    pid_t pid = 0;
    if (posix_spawn(&pid, o.bin.c_str(), &actions, nullptr, argv, environ) != 0) {
        std::fprintf(stderr, "cannot start %s\n", o.bin.c_str());
        std::exit(1);
    }
    posix_spawn_file_actions_destroy(&actions);

    // --strace: count the daemon's fsync-family calls by attaching strace to it
    // (a separate run: tracing slows the daemon, so its other figures are not representative).
    pid_t tracer = 0;
    const std::string trace_file = (dir / "strace.txt").string();
    if (o.strace) {
        std::string pid_text = std::to_string(pid);
        char* targv[] = {const_cast<char*>("strace"), const_cast<char*>("-f"), const_cast<char*>("-c"),
                         const_cast<char*>("-e"), const_cast<char*>("trace=fsync,fdatasync,sync_file_range,msync"),
                         const_cast<char*>("-o"), const_cast<char*>(trace_file.c_str()), const_cast<char*>("-p"),
                         pid_text.data(), nullptr};
        if (posix_spawnp(&tracer, "strace", nullptr, nullptr, targv, environ) != 0) tracer = 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(300)); // attached before the first event
    }

    RunResult r;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30 + count / 1000);
    while (std::chrono::steady_clock::now() < deadline) {
        {
            std::lock_guard lock(tally.m);
            if (tally.received >= static_cast<uint64_t>(count)) {
                r.complete = true;
                break;
            }
        }
        if (waitpid(pid, nullptr, WNOHANG) == pid) {
            std::fprintf(stderr, "daemon exited early; see %s\n", log.c_str());
            std::exit(1);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    r.peak_rss_kib = status_kib(pid, "VmHWM:");
    r.daemon_cpu = cpu_seconds(pid);
    if (tracer) {
        kill(tracer, SIGINT); // detaches and writes the summary
        waitpid(tracer, nullptr, 0);
        std::ifstream t(trace_file);
        std::string line;
        std::printf("%s: strace summary of the daemon's sync calls:\n", label);
        while (std::getline(t, line)) std::printf("    %s\n", line.c_str());
    }
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
    {
        std::lock_guard lock(tally.m);
        r.seconds = (tally.last_recv - tally.first_publish) / 1e9;
    }
    if (!r.complete) std::fprintf(stderr, "%s: incomplete, see %s\n", label, log.c_str());
    else fs::remove_all(dir);
    return r;
}


void report(const char* label, Tally& t, const RunResult& r) {
    std::lock_guard lock(t.m);
    std::sort(t.latency_ns.begin(), t.latency_ns.end());
    std::printf("%s: %llu events received%s, %llu out of order, %llu connection(s)\n", label,
                static_cast<unsigned long long>(t.received), r.complete ? "" : " (INCOMPLETE)",
                static_cast<unsigned long long>(t.out_of_order), static_cast<unsigned long long>(t.connections));
    std::printf("  events/s         %.0f (first publish to last receive, %.2f s)\n", t.received / r.seconds, r.seconds);
    std::printf("  latency ms       p50 %.2f  p99 %.2f  max %.2f (publish to receive)\n", percentile_ms(t.latency_ns, 0.5),
                percentile_ms(t.latency_ns, 0.99), percentile_ms(t.latency_ns, 1.0));
    std::printf("  daemon           peak RSS %.1f MiB, CPU %.2f s (%.1f us per event)\n", r.peak_rss_kib / 1024.0,
                r.daemon_cpu, r.daemon_cpu * 1e6 / std::max<uint64_t>(1, t.received));
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
        else if (a == "--bin") o.bin = value();
        else if (a == "--strace") o.strace = true;
        else {
            std::fprintf(stderr, "usage: bench_webhook [--events N] [--rate R] [--seconds S] [--bin PATH] [--strace]\n");
            return 2;
        }
    }
    Tally tally;
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    Server server(tally);
    std::printf("webhook bench: daemon %s, keep-alive HTTP server on 127.0.0.1:%u, %u CPU(s)\n", o.bin.c_str(),
                server.port(), std::thread::hardware_concurrency());
    auto flood = run(o, tally, server.port(), o.events, 0, "flood");
    report("flood (as fast as possible)", tally, flood);
    auto paced = run(o, tally, server.port(), o.rate * o.seconds, o.rate, "paced");
    char label[64];
    std::snprintf(label, sizeof label, "paced (%lld events/s)", static_cast<long long>(o.rate));
    report(label, tally, paced);
    if (!o.strace)
        std::printf("  fsyncs/s         WAL + synchronous=NORMAL: no fsync per commit (commits: the daemon's\n"
                    "                   passerelle_outbox_commits_total); run with --strace to count fsync calls\n");
    return flood.complete && paced.complete ? 0 : 1;
}
