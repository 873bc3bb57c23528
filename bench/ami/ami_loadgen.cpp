// ami_loadgen: a busy PBX on one loopback port. It speaks AMI like the
// captured Asterisk (banner, Login / Ping / CoreSettings answered with the
// captured packets and the client's ActionID, FullyBooted after login), then
// replays the captured calls 16 (inbound with DTMF) and 17 (originate
// 100 -> 101) with fresh uniqueids/linkedids, as fast as the client drains
// its socket (or at --rate calls/s). One thread, poll(); the output holds
// whole packets only, so answers to the client's actions slot in between calls.
//
//   ami_loadgen --port 0 --port-file F [--version 20.20.1] [--duration 60] [--rate 0]
// Prints, at the end: calls and AMI events written, and the rate.
#include "call_template.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <string>

using namespace ami_bench;

namespace {

// The packet of capture `text` that contains `needle` (whole, with its blank line).
std::string packet_with(const std::string& text, const std::string& needle) {
    size_t at = text.find(needle);
    if (at == std::string::npos) return {};
    size_t start = text.rfind("\r\n\r\n", at);
    start = start == std::string::npos ? text.find("\r\n") + 2 : start + 4;
    size_t end = text.find("\r\n\r\n", at);
    return text.substr(start, end + 4 - start);
}

std::string with_action_id(std::string packet, const std::string& id) {
    size_t at = packet.find("ActionID: ");
    if (at == std::string::npos) return packet;
    size_t eol = packet.find("\r\n", at);
    return packet.replace(at + 10, eol - at - 10, id);
}

std::string field(const std::string& packet, const std::string& key) {
    size_t at = 0;
    while ((at = packet.find(key + ": ", at)) != std::string::npos) {
        if (at == 0 || packet[at - 1] == '\n') {
            size_t eol = packet.find_first_of("\r\n", at);
            return packet.substr(at + key.size() + 2, eol - at - key.size() - 2);
        }
        ++at;
    }
    return {};
}

volatile std::sig_atomic_t g_stop = 0; // SIGTERM/SIGINT: print the summary and exit

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

} // namespace

int main(int argc, char** argv) {
    int port = 0;
    std::string port_file, version = "20.20.1";
    double duration = 60, rate = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i], v = argv[i + 1];
        if (k == "--port") port = std::stoi(v);
        else if (k == "--port-file") port_file = v;
        else if (k == "--version") version = v;
        else if (k == "--duration") duration = std::stod(v);
        else if (k == "--rate") rate = std::stod(v);
    }
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGTERM, [](int) { g_stop = 1; });
    std::signal(SIGINT, [](int) { g_stop = 1; });
    std::string dir = std::string(BENCH_FIXTURES) + "/ami-" + version + "/";
    std::vector<Template> stories = {load(dir + "16-inbound-call-0612345678-to-100-dtmf5.server.txt"),
                                     load(dir + "17-originate-sip100-then-101.server.txt")};
    std::string session = read_file(dir + "01-banner-login-ping-logoff.server.txt");
    std::string banner = session.substr(0, session.find("\r\n") + 2);
    std::string login_ok = packet_with(session, "Message: Authentication accepted");
    std::string pong = packet_with(session, "ActionID: ping-1");
    std::string unknown = packet_with(session, "Invalid/unknown command");
    std::string settings = packet_with(read_file(dir + "20-command-action-admin.server.txt"), "AsteriskVersion: ");
    std::string booted = packet_with(read_file(dir + "04-login-challenge-md5.server.txt"), "Event: FullyBooted");

    int server = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (::bind(server, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(server, 4) != 0) {
        std::perror("bind");
        return 1;
    }
    socklen_t len = sizeof a;
    ::getsockname(server, reinterpret_cast<sockaddr*>(&a), &len);
    if (!port_file.empty()) {
        std::string tmp = port_file + ".tmp";
        FILE* f = std::fopen(tmp.c_str(), "w");
        std::fprintf(f, "%d\n", ntohs(a.sin_port));
        std::fclose(f);
        std::rename(tmp.c_str(), port_file.c_str());
    }

    uint64_t calls = 0, events = 0, logins = 0;
    double t_end = now_s() + duration, t_first = 0;
    while (!g_stop && now_s() < t_end) {
        pollfd lp{server, POLLIN, 0};
        if (::poll(&lp, 1, 200) <= 0) continue;
        int c = ::accept(server, nullptr, nullptr);
        if (c < 0) continue;
        ::fcntl(c, F_SETFL, O_NONBLOCK);
        ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        std::string out = banner, in;
        size_t sent = 0;
        bool logged_in = false, open = true;
        double t_start = 0;
        char buf[65536];
        while (!g_stop && open && now_s() < t_end) {
            // Keep about 256 KiB of calls queued once logged in (whole packets only).
            if (logged_in && out.size() - sent < 256 * 1024) {
                double allowed = rate > 0 ? (now_s() - t_start) * rate : 1e18;
                for (int i = 0; i < 64 && calls < allowed; ++i, ++calls) {
                    const Template& t = stories[calls % stories.size()];
                    render(t, calls, out);
                    events += t.events;
                }
            }
            pollfd p{c, static_cast<short>(POLLIN | (out.size() > sent ? POLLOUT : 0)), 0};
            ::poll(&p, 1, out.size() > sent ? 100 : 5);
            if (p.revents & (POLLERR | POLLHUP)) open = false;
            if (p.revents & POLLIN) {
                ssize_t n = ::recv(c, buf, sizeof buf, 0);
                if (n == 0 || (n < 0 && errno != EAGAIN)) open = false;
                if (n > 0) in.append(buf, n);
                for (size_t end; (end = in.find("\r\n\r\n")) != std::string::npos;) {
                    std::string req = in.substr(0, end + 4);
                    in.erase(0, end + 4);
                    std::string action = field(req, "Action"), id = field(req, "ActionID");
                    if (action == "Login") {
                        out += with_action_id(login_ok, id) + booted;
                        logged_in = true;
                        ++logins;
                        t_start = now_s();
                        if (t_first == 0) t_first = t_start;
                    } else if (action == "Ping") {
                        out += with_action_id(pong, id);
                    } else if (action == "CoreSettings") {
                        out += with_action_id(settings, id);
                    } else {
                        out += with_action_id(unknown, id);
                    }
                }
            }
            if (out.size() > sent) {
                ssize_t n = ::send(c, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
                if (n > 0) sent += n;
                else if (n < 0 && errno != EAGAIN) open = false;
                if (sent > (1u << 20)) {
                    out.erase(0, sent);
                    sent = 0;
                }
            }
        }
        ::close(c);
    }
    double secs = t_first > 0 ? now_s() - t_first : 0;
    std::fflush(stdout);
    std::printf("ami_loadgen: %d login(s), %llu calls, %llu AMI events written in %.1f s (%.0f events/s)\n", static_cast<int>(logins),
                static_cast<unsigned long long>(calls), static_cast<unsigned long long>(events), secs, secs > 0 ? events / secs : 0.0);
    return 0;
}
