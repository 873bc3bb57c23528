#include "client.hpp"

#include "backoff.hpp"
#include "packets.hpp"
#include "session.hpp"
#include "transport.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <random>
#include <unordered_set>
#include <vector>

namespace mqtt {

namespace {

using Clock = std::chrono::steady_clock;

// MQTT 5: how long the broker keeps our session (subscriptions, QoS 1
// commands sent to us) while we are away, like a 3.1.1 persistent session.
constexpr uint32_t session_expiry_s = 24 * 3600;

// The largest packet held in memory (commands are at most 64 KiB of params).
// A larger PUBLISH is acknowledged and skipped as it streams in (never held),
// and the module told, so that the command is answered "too large" instead of
// coming back at every reconnect from the persistent session.
constexpr uint32_t max_incoming_packet = 1 << 20;

} // namespace

struct Client::Impl : std::enable_shared_from_this<Impl> {
    Impl(boost::asio::io_context& io_, ClientOptions o, Callbacks c)
        : io(io_), opt(std::move(o)), cb(std::move(c)),
          version(opt.protocol5 ? wire::Version::v5 : wire::Version::v311), session(version), tick_timer(io_),
          reconnect_timer(io_), rng(std::random_device{}()) {}

    boost::asio::io_context& io;
    const ClientOptions opt;
    const Callbacks cb;
    const wire::Version version;
    Session session;
    std::shared_ptr<Transport> transport;
    boost::asio::steady_timer tick_timer;
    boost::asio::steady_timer reconnect_timer;
    std::mt19937_64 rng;

    uint64_t generation = 0; // bumped when a connection is dropped: older handlers are stale
    bool running = false;
    bool connected = false;  // CONNACK accepted
    bool tcp_up = false;     // transport connected, CONNECT sent
    bool ever_connected = false;
    bool writing = false;
    bool kick_posted = false;
    uint8_t refused = 0;     // CONNACK refusal of the current attempt
    unsigned failures = 0;   // attempts since the last good connection
    unsigned auth_failures = 0;
    Clock::time_point attempt_started, last_sent, last_received;
    std::string out;         // bytes for the next write
    std::string in;          // bytes read, not yet a whole packet
    size_t skip_left = 0;    // bytes of a too large PUBLISH still to throw away
    std::unordered_set<uint16_t> qos2_received; // incoming QoS 2 ids between PUBREC and PUBREL
    std::vector<std::pair<std::string, int>> subscriptions;

    void log(int level, const std::string& line) const {
        if (cb.log) cb.log(level, line);
    }
    void health(const std::string& state, const std::string& detail) const {
        if (cb.health) cb.health(state, detail);
    }
    std::string where() const { return opt.host + ":" + std::to_string(opt.port); }

    // --- connection lifecycle ------------------------------------------------

    void connect() {
        if (!running) return;
        if (cb.count) cb.count("connect_attempts");
        const uint64_t gen = ++generation;
        refused = 0;
        in.clear();
        skip_left = 0;
        out.clear();
        attempt_started = Clock::now();
        try {
            transport = Transport::make(io, TlsOptions{opt.tls, opt.verify_tls, opt.ca_file, opt.client_cert, opt.client_key});
        } catch (const std::exception& e) {
            return lost(std::string("TLS setup failed: ") + e.what());
        }
        arm_tick(gen);
        transport->connect(opt.host, opt.port, [self = shared_from_this(), gen](const std::string& error) {
            if (gen != self->generation || !self->running) return;
            if (!error.empty()) return self->lost("cannot connect to " + self->where() + ": " + error);
            self->tcp_up = true;
            wire::Connect c;
            c.client_id = self->opt.client_id;
            c.user = self->opt.user;
            c.password = self->opt.password;
            c.clean_start = false; // persistent session
            c.keepalive_s = static_cast<uint16_t>(std::clamp(self->opt.keepalive_s, 0, 65535));
            if (!self->opt.will_topic.empty()) {
                c.has_will = true;
                c.will = {self->opt.will_topic, "offline", 1, true};
            }
            if (self->version == wire::Version::v5) c.session_expiry_s = session_expiry_s;
            wire::encode_connect(self->out, self->version, c);
            self->start_write();
            self->start_read(gen);
        });
    }

    // Forgets the current connection; unacknowledged messages go back to the queue.
    void drop_connection() {
        ++generation;
        if (transport) transport->close();
        transport.reset();
        tick_timer.cancel();
        connected = tcp_up = writing = kick_posted = false;
        out.clear();
        qos2_received.clear();
        session.disconnected();
    }

    void lost(const std::string& why) {
        const bool auth = refused != 0 && wire::is_auth_refusal(refused, version);
        const bool was_connected = connected;
        drop_connection();
        if (!running) return;
        std::chrono::milliseconds delay;
        if (auth) {
            ++auth_failures;
            delay = opt.auth_retry * (1u << std::min(auth_failures - 1, 3u)); // x1 x2 x4 x8
            health("auth_failed", "the broker refused the credentials (" + wire::reason_text(refused, version) +
                                      "); next try in " + std::to_string(delay.count() / 1000) + " s");
        } else {
            ++failures;
            delay = reconnect_delay(failures, opt.reconnect_min, opt.reconnect_max, rng);
            std::string detail = why + "; next try in " + std::to_string(delay.count()) + " ms";
            health(was_connected || (ever_connected && failures < 3) ? "reconnecting" : "unreachable", detail);
        }
        if (was_connected && cb.count) cb.count("reconnects");
        log(auth ? 3 : 2, "mqtt: " + why);
        reconnect_timer.expires_after(delay);
        reconnect_timer.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
            auto self = w.lock();
            if (!ec && self && !self->transport) self->connect();
        });
    }

    // Keepalive (PINGREQ when idle, dead broker after 1.5 x keepalive) and the CONNACK timeout.
    void arm_tick(uint64_t gen) {
        tick_timer.expires_after(std::chrono::seconds(1));
        tick_timer.async_wait([w = weak_from_this(), gen](const boost::system::error_code& ec) {
            auto self = w.lock();
            if (!self || ec || gen != self->generation || !self->running) return;
            self->tick(gen);
        });
    }

    void tick(uint64_t gen) {
        const auto now = Clock::now();
        if (!connected) {
            if (now - attempt_started > opt.connack_timeout)
                return lost(tcp_up ? "no CONNACK from the broker in time" : "connection timed out");
        } else if (opt.keepalive_s > 0) {
            const auto keepalive = std::chrono::seconds(opt.keepalive_s);
            if (now - last_received > keepalive * 3 / 2) return lost("keepalive timeout: the broker stopped answering");
            if (now - last_sent >= keepalive) {
                wire::encode_pingreq(out);
                start_write();
            }
        }
        arm_tick(gen);
    }

    // --- writing: one write for everything queued in this io turn ---------------

    void schedule_write() {
        if (writing || kick_posted || !tcp_up || out.empty()) return;
        kick_posted = true;
        // Posted: the publishes made by the handlers already queued join this write.
        boost::asio::post(io, [self = shared_from_this(), gen = generation] {
            if (gen != self->generation) return;
            self->kick_posted = false;
            self->start_write();
        });
    }

    void start_write() {
        if (writing || !transport || out.empty()) return;
        writing = true;
        last_sent = Clock::now();
        auto data = std::make_shared<const std::string>(std::move(out));
        out.clear();
        out.reserve(std::min<size_t>(data->size(), 1 << 20));
        transport->write(data, [self = shared_from_this(), gen = generation](const std::string& error) {
            if (gen != self->generation) return;
            self->writing = false;
            if (!error.empty()) return self->lost("connection lost: " + error);
            self->start_write();
        });
    }

    void flush() {
        if (!connected) return;
        session.fill(out);
        schedule_write();
    }

    // --- reading: every complete packet of each read -----------------------------

    void start_read(uint64_t gen) {
        transport->read([self = shared_from_this(), gen](const std::string& error, const char* data, size_t n) {
            if (gen != self->generation) return;
            if (!error.empty()) return self->lost(self->refused ? self->refusal() : "connection lost: " + error);
            self->on_bytes(gen, std::string_view(data, n));
        });
    }

    std::string refusal() const {
        return "the broker refused the connection: " + wire::reason_text(refused, version);
    }

    void on_bytes(uint64_t gen, std::string_view bytes) {
        last_received = Clock::now();
        if (skip_left) {
            const size_t n = std::min(skip_left, bytes.size());
            skip_left -= n;
            bytes.remove_prefix(n);
        }
        // Parse straight from the read buffer when nothing is left over from the last read.
        std::string_view view = bytes;
        if (!in.empty()) {
            in.append(bytes);
            view = in;
        }
        size_t used = 0;
        while (used < view.size()) {
            wire::Packet p;
            wire::Decoded d = wire::decode(view.substr(used), version, p, max_incoming_packet);
            if (d.status == wire::Status::need_more) break;
            if (d.status == wire::Status::malformed) return lost("bad packet from the broker: " + d.error);
            if (d.status == wire::Status::too_large) {
                const size_t here = view.size() - used;
                skip_left = d.consumed > here ? d.consumed - here : 0;
                used += std::min(d.consumed, here);
                too_large(p, d);
            } else {
                used += d.consumed;
                handle(p);
            }
            if (gen != generation) return; // the connection was dropped meanwhile
        }
        if (in.empty()) in.assign(view.substr(used));
        else in.erase(0, used);
        flush();
        schedule_write();
        start_read(gen);
    }

    void handle(wire::Packet& p) {
        using wire::Type;
        switch (p.type) {
        case Type::connack:
            if (connected) return lost("a second CONNACK from the broker");
            if (p.reason != 0) {
                refused = p.reason;
                return lost(refusal());
            }
            connected = true;
            session.connected(p.session_present, p.receive_maximum, p.maximum_packet_size);
            return session_up();
        case Type::publish:
            if (!connected) return lost("PUBLISH before CONNACK");
            if (p.qos == 1) wire::encode_ack(out, Type::puback, p.packet_id);
            if (p.qos == 2) {
                wire::encode_ack(out, Type::pubrec, p.packet_id);
                if (!qos2_received.insert(p.packet_id).second) return; // a DUP of one we have
            }
            if (cb.message)
                cb.message(InMessage{std::move(p.topic), std::move(p.payload), p.retain, std::move(p.response_topic),
                                     std::move(p.correlation_data), 0});
            return;
        case Type::puback:
            session.on_puback(p.packet_id, p.reason, p.reason_string);
            return;
        case Type::pubrec:
            if (p.reason < 0x80) wire::encode_ack(out, Type::pubrel, p.packet_id);
            session.on_pubrec(p.packet_id, p.reason, p.reason_string);
            return;
        case Type::pubrel:
            qos2_received.erase(p.packet_id);
            wire::encode_ack(out, Type::pubcomp, p.packet_id);
            return;
        case Type::pubcomp:
            session.on_pubcomp(p.packet_id, p.reason, p.reason_string);
            return;
        case Type::suback:
            if (p.reason >= 0x80) log(3, "mqtt: the broker refused a subscription: " + wire::reason_text(p.reason, version));
            return;
        case Type::disconnect:
            return lost("the broker disconnected: " + wire::reason_text(p.reason, version) +
                        (p.reason_string.empty() ? "" : " (" + p.reason_string + ")"));
        case Type::auth:
            return lost("the broker asked for extended authentication (AUTH), which is not supported");
        default: // unsuback, pingresp
            return;
        }
    }

    // A PUBLISH larger than we hold: acknowledged (else a persistent session
    // would send it again forever), skipped, and reported with its size.
    void too_large(wire::Packet& p, const wire::Decoded& d) {
        if (!connected) return lost("PUBLISH before CONNACK");
        log(2, "mqtt: skipped a " + d.error + " on " + p.topic.substr(0, 200));
        if (p.qos == 1) wire::encode_ack(out, wire::Type::puback, p.packet_id);
        if (p.qos == 2) {
            wire::encode_ack(out, wire::Type::pubrec, p.packet_id);
            if (!qos2_received.insert(p.packet_id).second) return;
        }
        InMessage m;
        m.topic = std::move(p.topic);
        m.retain = p.retain;
        m.dropped_size = d.consumed;
        if (cb.message) cb.message(m);
    }

    void session_up() {
        ever_connected = true;
        failures = 0;
        auth_failures = 0;
        health("connected", "connected to " + where() + (opt.protocol5 ? " (MQTT 5)" : " (MQTT 3.1.1)"));
        if (!opt.will_topic.empty())
            session.push_front(OutMessage{opt.will_topic, "online", 1, true, {}}, [](bool, const std::string&) {});
        if (!subscriptions.empty()) wire::encode_subscribe(out, version, session.next_packet_id(), subscriptions);
        flush();
    }
};

Client::Client(boost::asio::io_context& io, ClientOptions options, Callbacks callbacks)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(callbacks))) {}

Client::~Client() { stop(); }

void Client::start() {
    if (impl_->running) return;
    impl_->running = true;
    impl_->connect();
}

void Client::stop() {
    Impl& i = *impl_;
    if (!i.running) return;
    i.running = false;
    i.reconnect_timer.cancel();
    if (i.transport && i.connected && !i.writing) {
        // A clean DISCONNECT: the broker drops the last will, so publish "offline" ourselves.
        // (When a write is still under way the socket just closes, and the will says "offline".)
        std::string last;
        if (!i.opt.will_topic.empty()) {
            wire::PublishOut o;
            o.topic = i.opt.will_topic;
            o.payload = "offline";
            o.qos = 1;
            o.retain = true;
            o.packet_id = i.session.next_packet_id();
            wire::encode_publish(last, i.version, o);
        }
        wire::encode_disconnect(last, i.version);
        i.transport->write_now(i.out + last);
    }
    i.drop_connection();
}

void Client::subscribe(std::string filter, int qos) {
    Impl& i = *impl_;
    if (i.connected) {
        wire::encode_subscribe(i.out, i.version, i.session.next_packet_id(), {{filter, qos}});
        i.schedule_write();
    }
    i.subscriptions.emplace_back(std::move(filter), qos);
}

void Client::publish(OutMessage message, Done done) {
    impl_->session.push(std::move(message), std::move(done));
    impl_->flush();
}

bool Client::connected() const { return impl_->connected; }
size_t Client::waiting() const { return impl_->session.waiting(); }
size_t Client::in_flight() const { return impl_->session.in_flight(); }

} // namespace mqtt
