// Load generator for the hikvision fleet benchmark: N simulated Hikvision
// devices on one 127.0.0.1 port (one thread, Asio). Every accepted connection
// is answered like a camera without auth: GET .../alertStream gets a
// multipart/mixed stream, anything else (deviceInfo, channel lists) a 404.
// Parts are the real NVR capture's VMD part (hiksink_samples_nvr.txt), its
// eventState alternating active/inactive per stream so that every part is one
// event after folding, its eventDescription carrying "bench <ns>" (the write
// time, CLOCK_REALTIME) for latency measurement. The aggregate rate is spread
// round-robin over the open streams; heartbeats every 10 s per stream.
//
//   hikvision_loadgen --port 0 --rate 5000 --duration 30
// prints "PORT <n>" then, at the end, "SENT <parts> STREAMS <max open>".
#include <utility>

#include <boost/asio.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono;

namespace {

int64_t wall_ns() { return duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count(); }

// The real part, with placeholders for state and timestamp.
std::string part_body(int channel, bool active, int64_t ts) {
    std::string b =
        "<EventNotificationAlert version=\"1.0\" xmlns=\"http://www.hikvision.com/ver20/XMLSchema\">\n"
        "<ipAddress>127.0.0.1</ipAddress>\n<portNo>80</portNo>\n<protocol>HTTP</protocol>\n"
        "<macAddress>ff:ff:ff:ff:ff:ff</macAddress>\n<dynChannelID>";
    b += std::to_string(channel);
    b += "</dynChannelID>\n<dateTime>2021-07-02T15:30:56+10:00</dateTime>\n<activePostCount>1</activePostCount>\n"
         "<eventType>VMD</eventType>\n<eventState>";
    b += active ? "active" : "inactive";
    b += "</eventState>\n<eventDescription>bench ";
    b += std::to_string(ts);
    b += "</eventDescription>\n</EventNotificationAlert>\n";
    return b;
}

std::string frame(const std::string& body) {
    return "--boundary\r\nContent-Type: application/xml; charset=\"UTF-8\"\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body + "\r\n";
}

struct Gen;

struct Conn : std::enable_shared_from_this<Conn> {
    Conn(tcp::socket s, Gen& g) : sock(std::move(s)), gen(g) {}
    tcp::socket sock;
    Gen& gen;
    std::string in;
    std::deque<std::string> out;
    bool writing = false, streaming = false, closed = false, active = false;
    int channel = 1;
    char buf[4096];

    void read();
    void on_request(const std::string& head);
    bool send(std::string data) {
        if (closed) return false;
        if (out.size() > 1000) return false; // the daemon is not reading: drop (counted)
        out.push_back(std::move(data));
        if (!writing) write();
        return true;
    }
    void write() {
        writing = true;
        auto self = shared_from_this();
        asio::async_write(sock, asio::buffer(out.front()), [self](boost::system::error_code ec, size_t) {
            self->out.pop_front();
            if (ec) { self->close(); return; }
            if (self->out.empty()) self->writing = false;
            else self->write();
        });
    }
    void close();
};

struct Gen {
    asio::io_context io;
    tcp::acceptor acceptor{io};
    std::vector<std::weak_ptr<Conn>> streams;
    size_t next = 0;
    uint64_t sent = 0, dropped = 0;
    size_t max_open = 0;
    double rate = 1000;
    double carry = 0;
    int channels = 16;

    void accept() {
        acceptor.async_accept([this](boost::system::error_code ec, tcp::socket s) {
            if (!ec) {
                s.set_option(tcp::no_delay(true));
                std::make_shared<Conn>(std::move(s), *this)->read();
            }
            accept();
        });
    }

    // Called every tick: writes rate*dt parts round-robin over open streams.
    void tick(double dt) {
        carry += rate * dt;
        auto n = static_cast<uint64_t>(carry);
        carry -= static_cast<double>(n);
        // compact dead streams
        std::erase_if(streams, [](auto& w) { auto c = w.lock(); return !c || c->closed; });
        max_open = std::max(max_open, streams.size());
        if (streams.empty()) return;
        const int64_t ts = wall_ns();
        for (uint64_t i = 0; i < n; ++i) {
            auto c = streams[next++ % streams.size()].lock();
            if (!c) continue;
            c->active = !c->active;
            if (c->send(frame(part_body(c->channel, c->active, ts)))) ++sent;
            else ++dropped;
        }
    }
    void heartbeat() {
        for (auto& w : streams)
            if (auto c = w.lock()) {
                std::string hb = part_body(c->channel, false, 0);
                hb.replace(hb.find("VMD"), 3, "videoloss");
                c->send(frame(hb));
            }
    }
};

void Conn::read() {
    auto self = shared_from_this();
    sock.async_read_some(asio::buffer(buf), [self](boost::system::error_code ec, size_t n) {
        if (ec) { self->close(); return; }
        if (self->streaming) { self->read(); return; }
        self->in.append(self->buf, n);
        for (size_t end; (end = self->in.find("\r\n\r\n")) != std::string::npos;) {
            std::string head = self->in.substr(0, end);
            self->in.erase(0, end + 4);
            self->on_request(head);
        }
        self->read();
    });
}

void Conn::on_request(const std::string& head) {
    if (head.find("/Event/notification/alertStream") != std::string::npos) {
        streaming = true;
        channel = static_cast<int>(gen.streams.size() % static_cast<size_t>(gen.channels)) + 1;
        send("HTTP/1.1 200 OK\r\nMIME-Version: 1.0\r\nConnection: close\r\n"
             "Content-Type: multipart/mixed; boundary=boundary\r\n\r\n");
        gen.streams.push_back(weak_from_this());
        return;
    }
    send("HTTP/1.1 404 Not Found\r\nContent-Type: application/xml\r\nContent-Length: 0\r\n\r\n");
}

void Conn::close() {
    if (closed) return;
    closed = true;
    boost::system::error_code ec;
    sock.close(ec);
}

} // namespace

int main(int argc, char** argv) {
    Gen g;
    int port = 0;
    double run_seconds = 30;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        if (a == "--port") port = std::atoi(argv[i + 1]);
        else if (a == "--rate") g.rate = std::atof(argv[i + 1]);
        else if (a == "--duration") run_seconds = std::atof(argv[i + 1]);
        else if (a == "--channels") g.channels = std::atoi(argv[i + 1]);
        else { std::fprintf(stderr, "unknown option %s\n", a.c_str()); return 2; }
    }
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port));
    g.acceptor.open(ep.protocol());
    g.acceptor.set_option(tcp::acceptor::reuse_address(true));
    g.acceptor.bind(ep);
    g.acceptor.listen(4096);
    std::printf("PORT %d\n", g.acceptor.local_endpoint().port());
    std::fflush(stdout);
    g.accept();

    // Rate ticks every 5 ms, heartbeats every 10 s, stop after duration.
    asio::steady_timer tick(g.io), stop(g.io), hb(g.io);
    auto last = steady_clock::now();
    std::function<void()> arm_tick = [&] {
        tick.expires_after(milliseconds(5));
        tick.async_wait([&](boost::system::error_code ec) {
            if (ec) return;
            auto now = steady_clock::now();
            g.tick(duration_cast<duration<double>>(now - last).count());
            last = now;
            arm_tick();
        });
    };
    std::function<void()> arm_hb = [&] {
        hb.expires_after(seconds(10));
        hb.async_wait([&](boost::system::error_code ec) {
            if (ec) return;
            g.heartbeat();
            arm_hb();
        });
    };
    arm_tick();
    arm_hb();
    stop.expires_after(milliseconds(static_cast<int64_t>(run_seconds * 1000)));
    stop.async_wait([&](boost::system::error_code) { g.io.stop(); });
    g.io.run();
    std::printf("SENT %llu DROPPED %llu STREAMS %zu\n", static_cast<unsigned long long>(g.sent),
                static_cast<unsigned long long>(g.dropped), g.max_open);
    return 0;
}
