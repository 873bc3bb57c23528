#include "mosq_client.hpp"

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <openssl/ssl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <mutex>
#include <random>

namespace mqtt {

namespace {

void lib_init_once() {
    static std::once_flag once;
    std::call_once(once, [] { mosquitto_lib_init(); }); // never cleaned up: other users may share the library
}

// CONNACK codes that mean "your credentials or rights", not "try again soon".
bool is_auth_refusal(int rc, bool v5) {
    if (v5) return rc == MQTT_RC_BAD_USERNAME_OR_PASSWORD || rc == MQTT_RC_NOT_AUTHORIZED ||
                   rc == MQTT_RC_BAD_AUTHENTICATION_METHOD || rc == MQTT_RC_BANNED;
    return rc == CONNACK_REFUSED_BAD_USERNAME_PASSWORD || rc == CONNACK_REFUSED_NOT_AUTHORIZED;
}

std::string connack_text(int rc, bool v5) {
    return v5 ? std::string(mosquitto_reason_string(rc)) : std::string(mosquitto_connack_string(rc));
}

// MQTT 5: how long the broker keeps our session (subscriptions, QoS 1
// commands sent to us) while we are away, like a 3.1.1 persistent session.
constexpr uint32_t session_expiry_s = 24 * 3600;

struct Pending {
    OutMessage msg;
    MosqClient::Done done;
    int mid = 0;
};

} // namespace

struct MosqClient::Impl : std::enable_shared_from_this<Impl> {
    Impl(boost::asio::io_context& io_, ClientOptions o, Callbacks c)
        : io(io_), opt(std::move(o)), cb(std::move(c)), desc(io_), misc_timer(io_), reconnect_timer(io_),
          rng(std::random_device{}()) {}

    ~Impl() { drop_connection(); }

    boost::asio::io_context& io;
    const ClientOptions opt;
    const Callbacks cb;
    struct mosquitto* mosq = nullptr;
    boost::asio::posix::stream_descriptor desc;
    boost::asio::steady_timer misc_timer;
    boost::asio::steady_timer reconnect_timer;
    std::mt19937_64 rng;

    uint64_t generation = 0; // bumped when a connection is dropped: older callbacks are stale
    bool running = false;
    bool connected = false;
    bool write_armed = false;
    bool ever_connected = false;
    int refused_rc = 0;      // last CONNACK refusal of the current attempt
    unsigned failures = 0;   // attempts since the last good connection
    unsigned auth_failures = 0;
    std::vector<std::pair<std::string, int>> subscriptions;
    std::deque<Pending> waiting;   // not handed to a connection yet, in order
    std::deque<Pending> in_flight; // handed, waiting for PUBACK, in order

    void log(int level, const std::string& line) const {
        if (cb.log) cb.log(level, line);
    }
    void health(const std::string& state, const std::string& detail) const {
        if (cb.health) cb.health(state, detail);
    }

    // --- connection lifecycle ------------------------------------------------

    void connect() {
        if (!running) return;
        lib_init_once();
        if (cb.count) cb.count("connect_attempts");
        refused_rc = 0;
        mosq = mosquitto_new(opt.client_id.c_str(), false /* persistent session */, this);
        if (!mosq) return lost("cannot create a client (out of memory)");
        mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, opt.protocol5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
        mosquitto_max_inflight_messages_set(mosq, 0); // our own window is the outbox's max_inflight
        if (!opt.user.empty())
            mosquitto_username_pw_set(mosq, opt.user.c_str(), opt.password.empty() ? nullptr : opt.password.c_str());
        if (!opt.will_topic.empty())
            mosquitto_will_set(mosq, opt.will_topic.c_str(), 7, "offline", 1, true);
        if (opt.tls) {
            int rc = MOSQ_ERR_SUCCESS;
            if (!opt.ca_file.empty() || !opt.client_cert.empty()) {
                rc = mosquitto_tls_set(mosq, opt.ca_file.empty() ? nullptr : opt.ca_file.c_str(), nullptr,
                                       opt.client_cert.empty() ? nullptr : opt.client_cert.c_str(),
                                       opt.client_key.empty() ? nullptr : opt.client_key.c_str(), nullptr);
            }
            if (opt.ca_file.empty() && rc == MOSQ_ERR_SUCCESS)
                rc = mosquitto_int_option(mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
            if (rc == MOSQ_ERR_SUCCESS && !opt.verify_tls) {
                mosquitto_tls_opts_set(mosq, SSL_VERIFY_NONE, nullptr, nullptr);
                mosquitto_tls_insecure_set(mosq, true);
            }
            if (rc != MOSQ_ERR_SUCCESS) return lost(std::string("TLS setup failed: ") + mosquitto_strerror(rc));
        }
        mosquitto_connect_v5_callback_set(mosq, &Impl::on_connect);
        mosquitto_publish_v5_callback_set(mosq, &Impl::on_publish);
        mosquitto_message_v5_callback_set(mosq, &Impl::on_message);

        if (opt.protocol5) {
            // MQTT 5 ends a session at disconnect unless the CONNECT carries a
            // session expiry interval. libmosquitto 2.0 takes CONNECT properties
            // only from the blocking mosquitto_connect_bind_v5, which stores them
            // before it checks the port: a port of -1 stores them and returns
            // MOSQ_ERR_INVAL without connecting; the async connect below sends them.
            mosquitto_property* props = nullptr;
            mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, session_expiry_s);
            int prc = mosquitto_connect_bind_v5(mosq, opt.host.c_str(), -1, opt.keepalive_s, nullptr, props);
            mosquitto_property_free_all(&props);
            if (prc != MOSQ_ERR_INVAL) log(2, "mqtt: could not set the MQTT 5 session expiry (the session ends at each disconnect)");
        }
        // Resolves the name (blocking getaddrinfo) and starts a non-blocking connect.
        int rc = mosquitto_connect_bind_async(mosq, opt.host.c_str(), opt.port, opt.keepalive_s, nullptr);
        if (rc != MOSQ_ERR_SUCCESS) {
            std::string why = rc == MOSQ_ERR_ERRNO ? std::string(std::strerror(errno)) : mosquitto_strerror(rc);
            return lost("cannot connect to " + opt.host + ":" + std::to_string(opt.port) + ": " + why);
        }
        int fd = mosquitto_socket(mosq);
        if (fd < 0) return lost("no socket after connect");
        boost::system::error_code ec;
        desc.assign(fd, ec);
        if (ec) return lost("cannot watch the socket: " + ec.message());
        const uint64_t gen = generation;
        arm_read(gen);
        arm_write(gen);
        arm_misc(gen);
    }

    // Forgets the current connection: Asio lets go of the fd before libmosquitto closes it.
    void drop_connection() {
        ++generation;
        write_armed = false;
        if (desc.is_open()) {
            boost::system::error_code ec;
            desc.cancel(ec);
            (void)desc.release();
        }
        misc_timer.cancel();
        if (mosq) {
            mosquitto_destroy(mosq);
            mosq = nullptr;
        }
        connected = false;
        // Unacknowledged publishes go back first, in their order: the next
        // connection sends them again before anything newer.
        while (!in_flight.empty()) {
            waiting.push_front(std::move(in_flight.back()));
            in_flight.pop_back();
        }
    }

    void lost(const std::string& why) {
        const bool auth = refused_rc != 0 && is_auth_refusal(refused_rc, opt.protocol5);
        const bool was_connected = connected;
        drop_connection();
        if (!running) return;
        std::chrono::milliseconds delay;
        if (auth) {
            ++auth_failures;
            delay = opt.auth_retry * (1u << std::min(auth_failures - 1, 3u)); // x1 x2 x4 x8
            health("auth_failed", "the broker refused the credentials (" + connack_text(refused_rc, opt.protocol5) +
                                      "); next try in " + std::to_string(delay.count() / 1000) + " s");
        } else {
            ++failures;
            int64_t ceiling = opt.reconnect_min.count();
            for (unsigned i = 1; i < failures && ceiling < opt.reconnect_max.count(); ++i) ceiling *= 2;
            ceiling = std::min<int64_t>(ceiling, opt.reconnect_max.count());
            std::uniform_int_distribution<int64_t> pick(opt.reconnect_min.count() / 2, ceiling);
            delay = std::chrono::milliseconds(pick(rng));
            std::string detail = why + "; next try in " + std::to_string(delay.count()) + " ms";
            health(was_connected || (ever_connected && failures < 3) ? "reconnecting" : "unreachable", detail);
        }
        if (was_connected && cb.count) cb.count("reconnects");
        log(auth ? 3 : 2, "mqtt: " + why);
        reconnect_timer.expires_after(delay);
        reconnect_timer.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
            auto self = w.lock();
            if (!ec && self && !self->mosq) self->connect();
        });
    }

    // --- the external loop ---------------------------------------------------

    void arm_read(uint64_t gen) {
        desc.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                        [w = weak_from_this(), gen](const boost::system::error_code& ec) {
                            auto self = w.lock();
                            if (!self || ec || gen != self->generation) return;
                            self->do_read(gen);
                        });
    }

    void do_read(uint64_t gen) {
        int rc = mosquitto_loop_read(mosq, 64);
        if (gen != generation) return;
        if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(mosq) < 0) return lost(loss_reason(rc));
        // TLS may hold decrypted bytes the socket will not signal again.
        if (opt.tls) {
            auto* ssl = static_cast<SSL*>(mosquitto_ssl_get(mosq));
            if (ssl && SSL_pending(ssl) > 0) {
                boost::asio::post(io, [w = weak_from_this(), gen] {
                    if (auto self = w.lock(); self && gen == self->generation) self->do_read(gen);
                });
                arm_write(gen);
                return;
            }
        }
        arm_read(gen);
        arm_write(gen);
    }

    void arm_write(uint64_t gen) {
        if (write_armed || !mosq || !mosquitto_want_write(mosq)) return;
        write_armed = true;
        desc.async_wait(boost::asio::posix::stream_descriptor::wait_write,
                        [w = weak_from_this(), gen](const boost::system::error_code& ec) {
                            auto self = w.lock();
                            if (!self || gen != self->generation) return;
                            self->write_armed = false;
                            if (ec) return;
                            int rc = mosquitto_loop_write(self->mosq, 64);
                            if (gen != self->generation) return;
                            if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(self->mosq) < 0)
                                return self->lost(self->loss_reason(rc));
                            self->arm_write(gen);
                        });
    }

    void arm_misc(uint64_t gen) {
        misc_timer.expires_after(std::chrono::seconds(1));
        misc_timer.async_wait([w = weak_from_this(), gen](const boost::system::error_code& ec) {
            auto self = w.lock();
            if (!self || ec || gen != self->generation) return;
            int rc = mosquitto_loop_misc(self->mosq); // keepalive PINGREQ, dead-peer detection
            if (gen != self->generation) return;
            if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(self->mosq) < 0)
                return self->lost(self->loss_reason(rc == MOSQ_ERR_SUCCESS ? MOSQ_ERR_KEEPALIVE : rc));
            self->arm_write(gen);
            self->arm_misc(gen);
        });
    }

    std::string loss_reason(int rc) const {
        if (refused_rc) return "the broker refused the connection: " + connack_text(refused_rc, opt.protocol5);
        if (rc == MOSQ_ERR_ERRNO) return std::string("connection lost: ") + std::strerror(errno);
        if (rc == MOSQ_ERR_SUCCESS || rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST) return "connection lost";
        return std::string("connection lost: ") + mosquitto_strerror(rc);
    }

    // --- libmosquitto callbacks (inside loop_read/write/misc, on our thread) ---

    static void on_connect(struct mosquitto*, void* obj, int rc, int /*flags*/, const mosquitto_property*) {
        auto* self = static_cast<Impl*>(obj);
        if (rc != 0) {
            self->refused_rc = rc; // the loop call returns an error next: lost() decides the backoff
            return;
        }
        self->connected = true;
        // Not from inside the callback: publish once loop_read has returned.
        boost::asio::post(self->io, [w = self->weak_from_this(), gen = self->generation] {
            if (auto s = w.lock(); s && gen == s->generation) s->session_up();
        });
    }

    void session_up() {
        ever_connected = true;
        failures = 0;
        auth_failures = 0;
        health("connected", "connected to " + opt.host + ":" + std::to_string(opt.port) +
                                (opt.protocol5 ? " (MQTT 5)" : " (MQTT 3.1.1)"));
        if (!opt.will_topic.empty()) mosquitto_publish(mosq, nullptr, opt.will_topic.c_str(), 6, "online", 1, true);
        for (auto& [filter, qos] : subscriptions) mosquitto_subscribe(mosq, nullptr, filter.c_str(), qos);
        flush();
    }

    static void on_publish(struct mosquitto*, void* obj, int mid, int reason, const mosquitto_property*) {
        auto* self = static_cast<Impl*>(obj);
        for (auto it = self->in_flight.begin(); it != self->in_flight.end(); ++it) {
            if (it->mid != mid) continue;
            Pending p = std::move(*it);
            self->in_flight.erase(it);
            if (reason >= 0x80)
                p.done(false, "the broker refused the message on '" + p.msg.topic + "': " + mosquitto_reason_string(reason));
            else
                p.done(true, {});
            return;
        }
    }

    static void on_message(struct mosquitto*, void* obj, const struct mosquitto_message* m, const mosquitto_property* props) {
        auto* self = static_cast<Impl*>(obj);
        if (!self->cb.message || !m || !m->topic) return;
        InMessage in;
        in.topic = m->topic;
        if (m->payload && m->payloadlen > 0) in.payload.assign(static_cast<const char*>(m->payload), m->payloadlen);
        in.retain = m->retain;
        char* response = nullptr;
        if (mosquitto_property_read_string(props, MQTT_PROP_RESPONSE_TOPIC, &response, false)) {
            in.response_topic = response;
            free(response);
        }
        void* corr = nullptr;
        uint16_t corr_len = 0;
        if (mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &corr, &corr_len, false)) {
            in.correlation_data.assign(static_cast<const char*>(corr), corr_len);
            free(corr);
        }
        self->cb.message(in);
    }

    // --- publishing ------------------------------------------------------------

    void flush() {
        while (connected && !waiting.empty()) {
            Pending& p = waiting.front();
            mosquitto_property* props = nullptr;
            if (opt.protocol5 && !p.msg.correlation_data.empty())
                mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, p.msg.correlation_data.data(),
                                              static_cast<uint16_t>(std::min<size_t>(p.msg.correlation_data.size(), 65535)));
            int mid = 0;
            int rc = mosquitto_publish_v5(mosq, &mid, p.msg.topic.c_str(), static_cast<int>(p.msg.payload.size()),
                                          p.msg.payload.data(), p.msg.qos, p.msg.retain, props);
            mosquitto_property_free_all(&props);
            if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO) {
                // Still at the head of `waiting`; the next connection sends it first.
                boost::asio::post(io, [w = weak_from_this(), gen = generation, rc] {
                    if (auto s = w.lock(); s && gen == s->generation && s->mosq) s->lost(s->loss_reason(rc));
                });
                return;
            }
            Pending taken = std::move(p);
            waiting.pop_front();
            if (rc != MOSQ_ERR_SUCCESS) {
                taken.done(false, "cannot publish on '" + taken.msg.topic + "': " + mosquitto_strerror(rc));
                continue;
            }
            if (taken.msg.qos == 0) {
                taken.done(true, {});
                continue;
            }
            taken.mid = mid;
            in_flight.push_back(std::move(taken));
        }
        arm_write(generation);
    }
};

MosqClient::MosqClient(boost::asio::io_context& io, ClientOptions options, Callbacks callbacks)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(callbacks))) {}

MosqClient::~MosqClient() { stop(); }

void MosqClient::start() {
    if (impl_->running) return;
    impl_->running = true;
    impl_->connect();
}

void MosqClient::stop() {
    if (!impl_->running) return;
    impl_->running = false;
    impl_->reconnect_timer.cancel();
    if (impl_->mosq && impl_->connected) {
        // A clean DISCONNECT: the broker drops the last will, so publish "offline" ourselves.
        if (!impl_->opt.will_topic.empty())
            mosquitto_publish(impl_->mosq, nullptr, impl_->opt.will_topic.c_str(), 7, "offline", 1, true);
        mosquitto_disconnect(impl_->mosq);
        for (int i = 0; i < 8 && mosquitto_want_write(impl_->mosq); ++i) mosquitto_loop_write(impl_->mosq, 8);
    }
    impl_->drop_connection();
}

void MosqClient::subscribe(std::string filter, int qos) {
    if (impl_->connected) mosquitto_subscribe(impl_->mosq, nullptr, filter.c_str(), qos);
    impl_->subscriptions.emplace_back(std::move(filter), qos);
    impl_->arm_write(impl_->generation);
}

void MosqClient::publish(OutMessage message, Done done) {
    impl_->waiting.push_back(Pending{std::move(message), std::move(done), 0});
    impl_->flush();
}

bool MosqClient::connected() const { return impl_->connected; }
size_t MosqClient::waiting() const { return impl_->waiting.size(); }
size_t MosqClient::in_flight() const { return impl_->in_flight.size(); }

} // namespace mqtt
