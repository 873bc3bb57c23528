#include "dhip_session.hpp"

#include "dhip.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <nlohmann/json.hpp>

#include <deque>
#include <map>
#include <array>
#include <random>

namespace passerelle::dahua {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using ms = std::chrono::milliseconds;

// shared_ptr + weak captures: an Asio completion may still be queued when the
// session dies; it then finds nothing and returns.
struct DhipSession::Impl : std::enable_shared_from_this<Impl> {
    Impl(asio::io_context& io, Options o, Callbacks c)
        : io(io), opt(std::move(o)), cb(std::move(c)), resolver(io), socket(io), retry_timer(io),
          keepalive_timer(io), idle_timer(io), backoff(opt.reconnect_first, opt.reconnect_max),
          auth_backoff(opt.auth_retry, opt.auth_retry_max, opt.auth_retry / 2), rng(std::random_device{}()) {}

    using Handler = std::function<void(const dhip::Message& reply, const std::string& body)>;

    asio::io_context& io;
    Options opt;
    Callbacks cb;
    tcp::resolver resolver;
    tcp::socket socket;
    asio::steady_timer retry_timer, keepalive_timer, idle_timer;
    Backoff backoff, auth_backoff;
    std::minstd_rand rng; // jitter only: 8 bytes of state, not mt19937_64's 2.5 KB per device
    dhip::FrameDecoder decoder;
    std::vector<dhip::Frame> frames;
    std::array<char, 16384> rbuf{};
    std::deque<std::string> wqueue;
    std::map<uint32_t, Handler> pending;
    uint32_t next_id = 1;
    uint32_t session = 0;
    int keepalive_s = 60;
    uint64_t keepalives = 0;
    uint64_t generation = 0; // bumped per connection: stale completions are ignored
    bool running = false, connected = false, ever_connected = false, auth_refused = false;
    int failures = 0;

    void log(bool warn, const std::string& m) { if (cb.on_log) cb.on_log(warn, m); }
    void health(std::string_view s, const std::string& d) { if (cb.on_health) cb.on_health(s, d); }
    void count(std::string_view c) { if (cb.on_count) cb.on_count(c); }

    void connect() {
        if (!running) return;
        ++generation;
        decoder.reset();
        pending.clear();
        wqueue.clear();
        session = 0;
        auth_refused = false;
        arm_idle(opt.connect_timeout);
        auto self = weak_from_this();
        uint64_t gen = generation;
        resolver.async_resolve(opt.host, std::to_string(opt.port),
                               [self, gen](const boost::system::error_code& ec, tcp::resolver::results_type r) {
                                   auto s = self.lock();
                                   if (!s || gen != s->generation || !s->running) return;
                                   if (ec) return s->fail("resolve " + s->opt.host + ": " + ec.message());
                                   asio::async_connect(s->socket, r, [self, gen](const boost::system::error_code& ec,
                                                                                 const tcp::endpoint&) {
                                       auto s = self.lock();
                                       if (!s || gen != s->generation || !s->running) return;
                                       if (ec) return s->fail("connect: " + ec.message());
                                       s->on_tcp_connected();
                                   });
                               });
    }

    void arm_idle(ms limit) {
        auto self = weak_from_this();
        uint64_t gen = generation;
        idle_timer.expires_after(limit);
        idle_timer.async_wait([self, gen, limit](const boost::system::error_code& ec) {
            auto s = self.lock();
            if (ec || !s || gen != s->generation || !s->running) return;
            s->fail("no data for " + std::to_string(limit.count()) + " ms");
        });
    }

    ms idle_limit() const { return ms(int64_t(keepalive_s) * 2000 + 10000); }

    void on_tcp_connected() {
        boost::system::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        read();
        request([&](uint32_t id) { return dhip::login_step1(id, opt.user); },
                [this](const dhip::Message&, const std::string& body) { on_challenge(body); });
    }

    uint32_t request(const std::function<std::string(uint32_t id)>& build, Handler h) {
        uint32_t id = next_id++;
        send(dhip::encode_frame(session, id, build(id)));
        if (h) pending[id] = std::move(h);
        return id;
    }

    void on_challenge(const std::string& body) {
        auto ch = dhip::parse_login_challenge(body);
        if (!ch) return fail("login: the device sent no challenge");
        session = ch->session;
        auto challenge = *ch;
        request([&](uint32_t id) { return dhip::login_step2(id, challenge, opt.user, opt.password); },
                [this](const dhip::Message& m, const std::string& body) { on_login(m, body); });
    }

    void on_login(const dhip::Message& m, const std::string& body) {
        if (!m.result_bool.value_or(false)) {
            auth_refused = true;
            return fail("login refused" + (m.error_message.empty() ? std::string() : ": " + m.error_message));
        }
        if (m.session) session = static_cast<uint32_t>(*m.session);
        auto j = nlohmann::json::parse(body, nullptr, false);
        if (j.is_object() && j.contains("params") && j["params"].is_object()) {
            auto it = j["params"].find("keepAliveInterval");
            if (it != j["params"].end() && it->is_number_integer()) {
                int64_t v = it->get<int64_t>();
                if (v >= 1 && v <= 3600) keepalive_s = static_cast<int>(v);
            }
        }
        request([&](uint32_t id) { return dhip::attach_events(id, session); },
                [this](const dhip::Message& m, const std::string&) {
                    if (!m.result_bool.value_or(false)) return fail("eventManager.attach refused");
                    on_attached();
                });
    }

    void on_attached() {
        connected = true;
        failures = 0;
        backoff.reset();
        auth_backoff.reset();
        arm_idle(idle_limit());
        health("connected", "DHIP session open (keepAlive every " + std::to_string(keepalive_s) + " s)");
        bool reconnect = ever_connected;
        ever_connected = true;
        schedule_keepalive();
        if (cb.on_connected) cb.on_connected(reconnect);
    }

    void schedule_keepalive() {
        auto self = weak_from_this();
        uint64_t gen = generation;
        // At the device's interval, a little early so that a slow reply still
        // lands before the device's own deadline.
        keepalive_timer.expires_after(ms(int64_t(keepalive_s) * 800));
        keepalive_timer.async_wait([self, gen](const boost::system::error_code& ec) {
            auto s = self.lock();
            if (ec || !s || gen != s->generation || !s->connected) return;
            ++s->keepalives;
            s->request([&](uint32_t id) { return dhip::keep_alive(id, s->session, s->keepalive_s); }, nullptr);
            s->schedule_keepalive();
        });
    }

    void read() {
        auto self = weak_from_this();
        uint64_t gen = generation;
        socket.async_read_some(asio::buffer(rbuf), [self, gen](const boost::system::error_code& ec, std::size_t n) {
            auto s = self.lock();
            if (!s || gen != s->generation || !s->running) return;
            if (ec) return s->fail(ec == asio::error::eof ? "the device closed the connection" : ec.message());
            s->on_bytes(std::string_view(s->rbuf.data(), n));
            if (gen == s->generation && s->running) s->read();
        });
    }

    void on_bytes(std::string_view bytes) {
        frames.clear();
        bool ok = decoder.feed(bytes, frames);
        if (connected) arm_idle(idle_limit());
        uint64_t gen = generation;
        for (auto& f : frames) {
            handle_frame(f);
            if (gen != generation) return; // the frame ended this connection
        }
        if (!ok) fail("bad DHIP frame: " + decoder.error());
    }

    void handle_frame(const dhip::Frame& f) {
        auto m = dhip::parse_message(f.body);
        if (!m) {
            count("parse_errors");
            return;
        }
        if (m->method == "client.notifyEventStream") {
            auto events = dhip::decode_event_stream(f.body);
            if (events && !events->empty() && cb.on_events) cb.on_events(*events);
            return;
        }
        if (!m->method.empty() || !m->id) return; // other notifications
        auto it = pending.find(static_cast<uint32_t>(*m->id));
        if (it == pending.end()) return;
        Handler h = std::move(it->second);
        pending.erase(it);
        if (h) h(*m, f.body);
    }

    void send(std::string frame) {
        wqueue.push_back(std::move(frame));
        if (wqueue.size() == 1) write_next();
    }

    void write_next() {
        auto self = weak_from_this();
        uint64_t gen = generation;
        asio::async_write(socket, asio::buffer(wqueue.front()), [self, gen](const boost::system::error_code& ec, std::size_t) {
            auto s = self.lock();
            if (!s || gen != s->generation || !s->running) return;
            if (ec) return s->fail("write: " + ec.message());
            s->wqueue.pop_front();
            if (!s->wqueue.empty()) s->write_next();
        });
    }

    void close_socket() {
        boost::system::error_code ignored;
        socket.shutdown(tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
        keepalive_timer.cancel();
        idle_timer.cancel();
        resolver.cancel();
    }

    void fail(const std::string& why) {
        bool was_connected = connected;
        connected = false;
        ++generation; // every completion of this connection is now stale
        close_socket();
        // Waiting actions learn at once that the session is gone.
        auto waiting = std::move(pending);
        pending.clear();
        dhip::Message none;
        none.error_message = why;
        for (auto& [id, h] : waiting)
            if (h) h(none, std::string());
        if (!running) return;
        ms delay;
        if (auth_refused) {
            count("auth_failures");
            delay = auth_backoff.next(rng);
            health("auth_failed", why + " (wrong user/password or locked account); next try in " +
                                      std::to_string(delay.count() / 1000) + " s");
        } else {
            if (!was_connected) ++failures;
            delay = backoff.next(rng);
            health(failures >= 3 ? "unreachable" : "reconnecting", why + "; retry in " + std::to_string(delay.count()) + " ms");
            if (was_connected) log(false, "DHIP session lost: " + why);
        }
        count("reconnects");
        auto self = weak_from_this();
        retry_timer.expires_after(delay);
        retry_timer.async_wait([self](const boost::system::error_code& ec) {
            auto s = self.lock();
            if (ec || !s) return;
            s->connect();
        });
    }
};

DhipSession::DhipSession(asio::io_context& io, Options options, Callbacks callbacks)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(callbacks))) {}

DhipSession::~DhipSession() { stop(); }

void DhipSession::start() {
    if (impl_->running) return;
    impl_->running = true;
    impl_->ever_connected = false;
    impl_->connect();
}

void DhipSession::stop() {
    impl_->running = false;
    impl_->connected = false;
    ++impl_->generation;
    impl_->retry_timer.cancel();
    impl_->close_socket();
    auto waiting = std::move(impl_->pending);
    impl_->pending.clear();
    dhip::Message none;
    none.error_message = "stopped";
    for (auto& [id, h] : waiting)
        if (h) h(none, std::string());
}

bool DhipSession::connected() const { return impl_->connected; }
int DhipSession::keep_alive_interval_s() const { return impl_->keepalive_s; }
uint64_t DhipSession::keep_alives_sent() const { return impl_->keepalives; }

void DhipSession::open_door(int channel, int door_index, Done done) {
    auto& s = *impl_;
    if (!s.connected) return done(false, "the DHIP session is not connected");
    auto shared_done = std::make_shared<Done>(std::move(done));
    s.request([&](uint32_t id) { return dhip::access_control_instance(id, s.session, channel); },
              [impl = impl_.get(), shared_done, door_index](const dhip::Message& m, const std::string&) {
                  if (!m.result_int || *m.result_int == 0)
                      return (*shared_done)(false, "accessControl.factory.instance failed" +
                                                       (m.error_message.empty() ? "" : ": " + m.error_message));
                  int64_t object = *m.result_int;
                  impl->request([&](uint32_t id) { return dhip::open_door(id, impl->session, object, door_index); },
                                [impl, shared_done, object](const dhip::Message& m, const std::string&) {
                                    bool ok = m.result_bool.value_or(false);
                                    std::string why = ok ? "door opened" : "accessControl.openDoor failed" +
                                        (m.error_message.empty() ? "" : ": " + m.error_message);
                                    if (impl->connected)
                                        impl->request([&](uint32_t id) {
                                            return dhip::access_control_destroy(id, impl->session, object);
                                        }, nullptr);
                                    (*shared_done)(ok, why);
                                });
              });
}

} // namespace passerelle::dahua
