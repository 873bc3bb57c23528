// The kernel's share of the fleet benchmarks, measured without passerelle: N
// loopback TCP streams carry small messages at an aggregate rate (a child process
// sends, like the camera simulators), and this process only does what any
// receiver must -- epoll_wait and recv -- lingering like [daemon] coalesce. Its
// CPU per message is the floor under the daemon's figure for the same traffic:
// TCP receive, the ACK each segment gets, the wake-ups.
//
//   tcp_floor [--streams 1000] [--rate 5000] [--seconds 10] [--linger-us 1000] [--drain]
//
// --drain stops reading a socket after a short read (what Asio 1.74 does not
// know to do: it tries once more and gets EAGAIN), to price that extra recv.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
    int streams = 1000;
    double rate = 5000;
    int seconds = 10;
    int linger_us = 1000;
    bool drain = false;
};

constexpr size_t kMessage = 300; // about one Dahua event part on the wire

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&] { return i + 1 < argc ? std::atof(argv[++i]) : 0.0; };
        if (a == "--streams") o.streams = static_cast<int>(next());
        else if (a == "--rate") o.rate = next();
        else if (a == "--seconds") o.seconds = static_cast<int>(next());
        else if (a == "--linger-us") o.linger_us = static_cast<int>(next());
        else if (a == "--drain") o.drain = true;
        else {
            std::fprintf(stderr, "usage: tcp_floor [--streams N] [--rate EV/S] [--seconds S] [--linger-us US] [--drain]\n");
            std::exit(2);
        }
    }
    return o;
}

// The sender: connects every stream, then writes one message at a time, round robin, paced.
[[noreturn]] void send_messages(const sockaddr_in& to, const Options& o) {
    std::vector<int> socks;
    const int one = 1;
    for (int i = 0; i < o.streams; ++i) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(c, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) _exit(1);
        socks.push_back(c);
    }
    char message[kMessage];
    std::memset(message, 'x', sizeof message);
    const auto t0 = std::chrono::steady_clock::now();
    const auto end = t0 + std::chrono::seconds(o.seconds + 3);
    for (long k = 0;; ++k) {
        const auto due = t0 + std::chrono::nanoseconds(static_cast<long>(k * 1e9 / o.rate));
        if (due > end) _exit(0);
        std::this_thread::sleep_until(due);
        if (send(socks[static_cast<size_t>(k % o.streams)], message, sizeof message, 0) < 0) _exit(1);
    }
}

double cpu_seconds() {
    rusage r{};
    getrusage(RUSAGE_SELF, &r);
    return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

} // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(listener, 4096) != 0 ||
        getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        std::perror("listen");
        return 1;
    }
    const pid_t sender = fork();
    if (sender == 0) send_messages(addr, o);

    const int ep = epoll_create1(0);
    for (int i = 0; i < o.streams; ++i) {
        int s = accept(listener, nullptr, nullptr);
        if (s < 0) return 1;
        fcntl(s, F_SETFL, O_NONBLOCK);
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLET; // as Asio registers a socket
        ev.data.fd = s;
        epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
    }
    long bytes = 0, recvs = 0, wakes = 0;
    char buf[4096];
    epoll_event events[256];
    // One receive loop; the first second (what queued while accepting) is not measured.
    auto receive_for = [&](std::chrono::seconds span) {
        const auto start = std::chrono::steady_clock::now();
        while (std::chrono::steady_clock::now() - start < span) {
            const int n = epoll_wait(ep, events, 256, 100);
            ++wakes;
            for (int i = 0; i < n; ++i) {
                for (;;) {
                    const ssize_t got = recv(events[i].data.fd, buf, sizeof buf, 0);
                    ++recvs;
                    if (got <= 0) break;
                    bytes += got;
                    if (o.drain && static_cast<size_t>(got) < sizeof buf) break;
                }
            }
            if (o.linger_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(o.linger_us));
        }
    };
    receive_for(std::chrono::seconds(1));
    bytes = recvs = wakes = 0;
    const double cpu0 = cpu_seconds();
    receive_for(std::chrono::seconds(o.seconds));
    const double cpu = cpu_seconds() - cpu0;
    const double messages = static_cast<double>(bytes) / kMessage;
    std::printf("streams=%d rate=%.0f/s linger=%d us%s: messages/s=%.0f recv/message=%.2f wake-ups/s=%.0f "
                "CPU=%.1f%% of one core, %.1f us per message\n",
                o.streams, o.rate, o.linger_us, o.drain ? " drain" : "", messages / o.seconds, recvs / messages,
                static_cast<double>(wakes) / o.seconds, 100 * cpu / o.seconds, 1e6 * cpu / messages);
    kill(sender, SIGKILL);
    waitpid(sender, nullptr, 0);
    return 0;
}
