// bench_jeedom: how fast the daemon delivers events to one Jeedom, and how
// long an event takes from its source to Jeedom's door.
//
// The Jeedom side is a small keep-alive HTTP/1.1 server in this process (one
// thread per connection, answers every JSON-RPC call {"result":"ok"}). The
// daemon runs for real: `demo` sources publishing every 1 ms, a route to a
// `jeedom` instance (action event, value = "{time}", the event's RFC 3339
// time), the durable SQLite outbox, the shared HTTP client. The server reads
// the event time back from each request: latency = arrival - event time.
//
//   bench_jeedom [seconds per phase, default 5]
//
// Phases of 1 to 4 sources (a demo source at 1 ms offers ~800 events/s):
// latency percentiles at loads the sink keeps up with, then delivered
// events/s at saturation. Run it with `nice -n -10` (as root) to see the
// daemon's own figures on a machine busy with other work.
#include <utility> // before Asio: its awaitable.hpp uses std::exchange

#include <boost/asio.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::system_clock;

namespace {

std::mutex mutex;
std::vector<double> latencies_ms; // guarded by mutex
std::atomic<uint64_t> requests{0};
std::atomic<uint64_t> connections{0};
std::atomic<bool> recording{false};

// "2024-07-01T12:00:00.123Z" -> ms since the epoch (0 when not that shape).
int64_t parse_rfc3339_ms(const std::string& s) {
    std::tm tm{};
    int ms = 0;
    if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                    &tm.tm_min, &tm.tm_sec, &ms) < 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

void serve(tcp::socket sock) {
    ++connections;
    std::string buf;
    char chunk[16384];
    boost::system::error_code ec;
    for (;;) {
        size_t head_end;
        while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
            size_t n = sock.read_some(asio::buffer(chunk), ec);
            if (ec) return;
            buf.append(chunk, n);
        }
        size_t length = 0;
        {
            std::string head = buf.substr(0, head_end);
            std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return std::tolower(c); });
            auto at = head.find("content-length:");
            if (at != std::string::npos) length = std::strtoul(head.c_str() + at + 15, nullptr, 10);
        }
        while (buf.size() < head_end + 4 + length) {
            size_t n = sock.read_some(asio::buffer(chunk), ec);
            if (ec) return;
            buf.append(chunk, n);
        }
        const auto arrived = Clock::now();
        std::string body = buf.substr(head_end + 4, length);
        buf.erase(0, head_end + 4 + length);
        ++requests;
        auto v = body.find("\"value\":\"");
        if (v != std::string::npos && recording.load()) {
            int64_t t = parse_rfc3339_ms(body.substr(v + 9, 24));
            if (t > 0) {
                double lat = std::chrono::duration<double, std::milli>(arrived.time_since_epoch()).count() -
                             static_cast<double>(t);
                std::lock_guard lock(mutex);
                latencies_ms.push_back(lat);
            }
        }
        static const std::string reply_body = R"({"jsonrpc":"2.0","id":1,"result":"ok"})";
        std::string reply = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                            std::to_string(reply_body.size()) + "\r\n\r\n" + reply_body;
        asio::write(sock, asio::buffer(reply), ec);
        if (ec) return;
    }
}

long peak_rss_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
    return 0;
}

struct Phase {
    int sources;
    double seconds;
};

void run_phase(const Phase& phase, int jeedom_port, int api_port, const std::string& dir) {
    const std::string config = dir + "/bench.toml";
    {
        std::ofstream out(config);
        out << "[daemon]\nstate_dir = \"" << dir << "/state" << phase.sources << "\"\nlog_level = \"warn\"\n"
            << "[daemon.api]\nlisten = \"127.0.0.1:" << api_port << "\"\n"
            << "[instance.jeedom]\nmodule = \"jeedom\"\nurl = \"http://127.0.0.1:" << jeedom_port
            << "\"\napikey = \"bench-key\"\ntimezone = \"UTC\"\n";
        for (int i = 0; i < phase.sources; ++i)
            out << "[instance.src" << i << "]\nmodule = \"demo\"\ninterval = \"1ms\"\n";
        out << "[[route]]\nwhen = { module = \"demo\" }\nto = \"jeedom\"\naction = \"event\"\n"
            << "params = { id = \"10\", value = \"{time}\" }\n";
    }
    {
        std::lock_guard lock(mutex);
        latencies_ms.clear();
    }
    const uint64_t start_requests = requests.load();
    pid_t pid = fork();
    if (pid == 0) {
        const std::string bin = std::string(PASSERELLE_BINARY_DIR) + "/bin/passerelle";
        execl(bin.c_str(), bin.c_str(), "run", "-c", config.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    // Warm up (daemon start, first connection), then measure a steady window.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    const uint64_t from = requests.load();
    recording = true;
    const auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(phase.seconds));
    const uint64_t to = requests.load();
    recording = false;
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const long rss = peak_rss_kib(pid);
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    std::vector<double> lat;
    {
        std::lock_guard lock(mutex);
        lat = latencies_ms;
    }
    std::sort(lat.begin(), lat.end());
    auto pct = [&](double p) {
        if (lat.empty()) return 0.0;
        return lat[std::min(lat.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(lat.size())))];
    };
    std::printf("%d source(s) at ~800 ev/s each: %.0f events/s delivered to Jeedom (%llu in %.1f s, %llu total)\n",
                phase.sources, static_cast<double>(to - from) / took, static_cast<unsigned long long>(to - from), took,
                static_cast<unsigned long long>(requests.load() - start_requests));
    std::printf("  latency source event -> Jeedom request (ms, %zu samples): p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n",
                lat.size(), pct(50), pct(90), pct(99), lat.empty() ? 0.0 : lat.back());
    std::printf("  daemon peak RSS %.1f MiB; HTTP connections opened so far: %llu\n", static_cast<double>(rss) / 1024.0,
                static_cast<unsigned long long>(connections.load()));
    std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv) {
    const double seconds = argc > 1 ? std::atof(argv[1]) : 5.0;
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const int port = acceptor.local_endpoint().port();
    std::thread([&] {
        for (;;) {
            tcp::socket s(io);
            boost::system::error_code ec;
            acceptor.accept(s, ec);
            if (ec) return;
            s.set_option(tcp::no_delay(true), ec);
            std::thread(serve, std::move(s)).detach();
        }
    }).detach();
    tcp::acceptor probe(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const int api_port = probe.local_endpoint().port();
    probe.close();
    char tmpl[] = "/tmp/bench-jeedom-XXXXXX";
    const std::string dir = mkdtemp(tmpl);
    std::printf("bench_jeedom: Jeedom stand-in on 127.0.0.1:%d, %.0f s per phase\n", port, seconds);
    // Offered ~800, ~1,600, ~2,400 and ~3,200 events/s (a demo source at 1 ms
    // ticks about 800 times a second): latency below and at the sink's ceiling.
    for (int sources : {1, 2, 3, 4}) run_phase({sources, seconds}, port, api_port, dir);
    std::string cleanup = "rm -rf '" + dir + "'";
    if (std::system(cleanup.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", dir.c_str());
    return 0;
}
