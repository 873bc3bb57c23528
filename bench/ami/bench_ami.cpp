// bench_ami [calls] [version]: a generator thread replays the captured calls
// (16 inbound with DTMF, 17 originate 100->101), each with fresh uniqueids and
// linkedids, over a loopback TCP socket as fast as it can; the reader feeds
// the AMI parser and the call tracker, as the module's session does.
#include "ami_parser.hpp"
#include "call_tracker.hpp"
#include "call_template.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

using namespace passerelle::asterisk;

namespace {

using ami_bench::load;
using ami_bench::render;
using ami_bench::Template;

double cpu_seconds(int who = RUSAGE_SELF) {
    rusage u{};
    getrusage(who, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

} // namespace

int main(int argc, char** argv) {
    uint64_t calls = argc > 1 ? std::stoull(argv[1]) : 20000;
    std::string version = argc > 2 ? argv[2] : "20.20.1";
    std::string dir = std::string(BENCH_FIXTURES) + "/ami-" + version + "/";
    std::vector<Template> stories = {load(dir + "16-inbound-call-0612345678-to-100-dtmf5.server.txt"),
                                     load(dir + "17-originate-sip100-then-101.server.txt")};

    int server = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(server, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(server, 1);
    socklen_t len = sizeof a;
    ::getsockname(server, reinterpret_cast<sockaddr*>(&a), &len);

    std::thread generator([&] {
        int c = ::accept(server, nullptr, nullptr);
        std::string banner = "Asterisk Call Manager/9.0.0\r\n";
        ::send(c, banner.data(), banner.size(), 0);
        std::string chunk;
        for (uint64_t i = 0; i < calls; ++i) {
            render(stories[i % stories.size()], i, chunk);
            if (chunk.size() > 256 * 1024 || i + 1 == calls) {
                for (size_t off = 0; off < chunk.size();) {
                    ssize_t n = ::send(c, chunk.data() + off, chunk.size() - off, 0);
                    if (n <= 0) break;
                    off += n;
                }
                chunk.clear();
            }
        }
        ::close(c);
    });

    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    AmiParser parser;
    CallTracker tracker;
    std::vector<passerelle::Event> out;
    uint64_t ami_events = 0, pl_events = 0, bytes = 0;
    std::map<std::string, uint64_t> by_type;
    std::vector<char> buf(65536);
    double cpu0 = cpu_seconds();
    double reader0 = cpu_seconds(RUSAGE_THREAD);
    auto t0 = std::chrono::steady_clock::now();
    for (;;) {
        ssize_t n = ::recv(s, buf.data(), buf.size(), 0);
        if (n <= 0) break;
        bytes += n;
        parser.feed(std::string_view(buf.data(), n), [&](AmiPacket&& p) {
            if (p.kind != AmiPacket::Kind::event) return;
            ++ami_events;
            out.clear();
            tracker.on_packet(p, out);
            pl_events += out.size();
            for (auto& e : out) ++by_type[e.type];
        });
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double reader_cpu = cpu_seconds(RUSAGE_THREAD) - reader0;
    generator.join();
    double cpu = cpu_seconds() - cpu0;
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    std::printf("calls replayed        %llu (Asterisk %s captures 16 + 17)\n", static_cast<unsigned long long>(calls), version.c_str());
    std::printf("bytes                 %.1f MB in %.2f s\n", bytes / 1e6, secs);
    std::printf("AMI events parsed     %llu  -> %.0f events/s\n", static_cast<unsigned long long>(ami_events), ami_events / secs);
    std::printf("passerelle events     %llu  -> %.0f events/s (", static_cast<unsigned long long>(pl_events), pl_events / secs);
    for (auto& [t, n] : by_type) std::printf(" %s=%llu", t.c_str(), static_cast<unsigned long long>(n));
    std::printf(" )\n");
    std::printf("CPU (both threads)    %.2f s (%.0f%% of one core)\n", cpu, 100 * cpu / secs);
    std::printf("reader thread CPU     %.2f s -> %.0f AMI events per CPU-second (parser + tracker, one core)\n", reader_cpu,
                ami_events / reader_cpu);
    std::printf("peak RSS              %ld KiB\n", u.ru_maxrss);
    std::printf("parse errors          %zu\n", parser.errors());
    return 0;
}
