// dahua_loadgen: N simulated Dahua devices on one loopback port, one thread.
// Every accepted connection that asks for eventManager.cgi is one device
// stream (multipart/x-mixed-replace, no auth); other CGI requests get a 404.
// Events are spread round-robin over the open streams at an aggregate rate;
// each carries its write time (CLOCK_REALTIME ns) in data.SendNs so the bench
// can measure the latency to the file-log line. Heartbeats every `hb` s.
//
//   dahua_loadgen --port 0 --port-file F --rate 5000 --duration 60 [--hb 5]
#include <utility>

#include <boost/asio.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

int64_t wall_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

struct Conn : std::enable_shared_from_this<Conn> {
    explicit Conn(tcp::socket s) : sock(std::move(s)) {}
    tcp::socket sock;
    std::string in;
    std::deque<std::string> out;
    size_t queued = 0;
    bool streaming = false, dead = false;
    std::array<char, 4096> buf{};

    void write(std::string data) {
        if (dead) return;
        queued += data.size();
        out.push_back(std::move(data));
        if (out.size() == 1) flush();
    }
    void flush() {
        auto self = shared_from_this();
        asio::async_write(sock, asio::buffer(out.front()), [self](boost::system::error_code ec, size_t) {
            if (ec) {
                self->dead = true;
                return;
            }
            self->queued -= self->out.front().size();
            self->out.pop_front();
            if (!self->out.empty()) self->flush();
        });
    }
};

struct Gen {
    asio::io_context io;
    tcp::acceptor acc{io};
    std::vector<std::shared_ptr<Conn>> streams;
    asio::steady_timer tick{io};
    double rate = 1000, hb = 5;
    uint64_t sent = 0, dropped = 0;
    size_t rr = 0;
    std::chrono::steady_clock::time_point start, last_hb;
    bool started = false;
    int channels = 4;

    void accept() {
        acc.async_accept([this](boost::system::error_code ec, tcp::socket s) {
            if (!ec) {
                s.set_option(tcp::no_delay(true));
                read_request(std::make_shared<Conn>(std::move(s)));
            }
            accept();
        });
    }

    void read_request(std::shared_ptr<Conn> c) {
        c->sock.async_read_some(asio::buffer(c->buf), [this, c](boost::system::error_code ec, size_t n) {
            if (ec) return;
            c->in.append(c->buf.data(), n);
            if (c->in.find("\r\n\r\n") == std::string::npos) {
                if (c->in.size() < 65536) read_request(c);
                return;
            }
            if (c->in.find("GET /cgi-bin/eventManager.cgi") == 0) {
                c->streaming = true;
                c->write("HTTP/1.1 200 OK\r\nConnection: close\r\n"
                         "Content-Type: multipart/x-mixed-replace; boundary=myboundary\r\n\r\n");
                streams.push_back(c);
                drain(c);
            } else {
                c->write("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            }
        });
    }

    // Keep reading (and discarding) so a closed peer is noticed.
    void drain(std::shared_ptr<Conn> c) {
        c->sock.async_read_some(asio::buffer(c->buf), [this, c](boost::system::error_code ec, size_t) {
            if (ec) {
                c->dead = true;
                return;
            }
            drain(c);
        });
    }

    std::string event_part(int64_t seq) {
        char body[256];
        int n = std::snprintf(body, sizeof body,
                              "Code=VideoMotion;action=Start;index=%d;data={\n   \"SendNs\" : %lld,\n   \"Seq\" : %lld\n}\n",
                              int(seq % channels), static_cast<long long>(wall_ns()), static_cast<long long>(seq));
        char head[128];
        int h = std::snprintf(head, sizeof head, "--myboundary\r\nContent-Type: text/plain\r\nContent-Length:%d\r\n\r\n", n);
        std::string part(head, h);
        part.append(body, n);
        part += "\r\n\r\n";
        return part;
    }

    void on_tick() {
        auto now = std::chrono::steady_clock::now();
        std::erase_if(streams, [](auto& c) { return c->dead; });
        if (!streams.empty()) {
            if (!started) {
                started = true;
                start = last_hb = now;
            }
            double elapsed = std::chrono::duration<double>(now - start).count();
            uint64_t due = static_cast<uint64_t>(elapsed * rate);
            while (sent + dropped < due) {
                auto& c = streams[rr++ % streams.size()];
                if (c->queued > 1 << 20) { // the daemon does not keep up with this stream
                    ++dropped;
                    continue;
                }
                c->write(event_part(static_cast<int64_t>(sent)));
                ++sent;
            }
            if (std::chrono::duration<double>(now - last_hb).count() >= hb) {
                last_hb = now;
                for (auto& c : streams)
                    c->write("\r\n--myboundary\r\nContent-Type: text/plain\r\nContent-Length:9\r\n\r\nHeartbeat");
            }
        }
        tick.expires_after(std::chrono::milliseconds(1));
        tick.async_wait([this](boost::system::error_code ec) {
            if (!ec) on_tick();
        });
    }
};

} // namespace

int main(int argc, char** argv) {
    Gen g;
    int port = 0;
    double duration = 60;
    std::string port_file;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        if (a == "--port") port = std::atoi(argv[i + 1]);
        else if (a == "--rate") g.rate = std::atof(argv[i + 1]);
        else if (a == "--duration") duration = std::atof(argv[i + 1]);
        else if (a == "--hb") g.hb = std::atof(argv[i + 1]);
        else if (a == "--port-file") port_file = argv[i + 1];
    }
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port));
    g.acc.open(ep.protocol());
    g.acc.set_option(tcp::acceptor::reuse_address(true));
    g.acc.bind(ep);
    g.acc.listen(4096);
    if (!port_file.empty()) {
        std::ofstream(port_file + ".tmp") << g.acc.local_endpoint().port() << "\n";
        std::rename((port_file + ".tmp").c_str(), port_file.c_str());
    }
    std::printf("port=%d\n", g.acc.local_endpoint().port());
    std::fflush(stdout);
    g.accept();
    g.on_tick();
    asio::steady_timer end(g.io);
    end.expires_after(std::chrono::milliseconds(static_cast<int64_t>(duration * 1000)));
    end.async_wait([&](boost::system::error_code) { g.io.stop(); });
    g.io.run();
    std::printf("streams=%zu sent=%llu dropped=%llu\n", g.streams.size(), static_cast<unsigned long long>(g.sent),
                static_cast<unsigned long long>(g.dropped));
    return 0;
}
