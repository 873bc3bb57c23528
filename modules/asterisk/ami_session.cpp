#include "ami_session.hpp"

#include "ami_parser.hpp"

#include <passerelle/abi.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <deque>
#include <random>

namespace passerelle::asterisk {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

std::string AmiSession::md5_key(std::string_view challenge, std::string_view secret) {
    std::string input;
    input.reserve(challenge.size() + secret.size());
    input.append(challenge).append(secret);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(input.data(), input.size(), digest, &len, EVP_md5(), nullptr);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 15];
    }
    return out;
}

struct AmiSession::Impl : std::enable_shared_from_this<Impl> {
    enum class Phase { idle, connecting, banner, login, ready, waiting_retry, stopped };

    Impl(asio::io_context& io, SessionOptions o, Callbacks c)
        : io_(io), opt_(std::move(o)), cb_(std::move(c)), resolver_(io), retry_timer_(io), tick_timer_(io),
          ping_timer_(io), check_timer_(io), connect_timer_(io), ssl_ctx_(asio::ssl::context::tls_client),
          rng_(std::random_device{}()) {
        if (opt_.tls) {
            boost::system::error_code ec;
            ssl_ctx_.set_default_verify_paths(ec);
            // An unreadable ca_file is reported by every connection attempt (health), not thrown.
            if (!opt_.ca_file.empty() && ssl_ctx_.load_verify_file(opt_.ca_file, ec))
                tls_setup_error_ = "cannot load ca_file " + opt_.ca_file + ": " + ec.message();
            ssl_ctx_.set_verify_mode(opt_.verify_tls ? asio::ssl::verify_peer : asio::ssl::verify_none);
        }
    }

    asio::io_context& io_;
    SessionOptions opt_;
    Callbacks cb_;
    tcp::resolver resolver_;
    asio::steady_timer retry_timer_, tick_timer_, ping_timer_, check_timer_, connect_timer_;
    asio::ssl::context ssl_ctx_;
    std::shared_ptr<tcp::socket> plain_;
    // Shared with the handlers of the operations pending on them: a stream (an
    // asio::ssl::stream above all) must outlive its operations, whose completion,
    // even aborted, still reads it; close_socket() drops ours at once.
    std::shared_ptr<asio::ssl::stream<tcp::socket>> tls_;
    uint64_t generation_ = 0; // bumps on every (re)connect: stale handlers return early
    Phase phase_ = Phase::idle;
    AmiParser parser_;
    ActionTracker tracker_;
    std::array<char, 65536> buf_{};
    std::deque<std::shared_ptr<const std::string>> out_; // shared with the write in flight
    bool writing_ = false;
    std::mt19937 rng_;
    std::chrono::milliseconds backoff_{0};
    std::chrono::milliseconds auth_backoff_{0};
    bool auth_failed_ = false;
    std::string tls_setup_error_;
    std::string last_error_;
    // What health reports.
    std::string banner_, ami_version_, asterisk_version_;
    bool fully_booted_ = false;
    uint64_t events_seen_ = 0;
    bool events_missing_ = false;

    void log(int level, const std::string& m) {
        if (cb_.log) cb_.log(level, m);
    }
    void health(std::string_view state, std::string_view detail) {
        if (cb_.on_health) cb_.on_health(state, detail, info());
    }
    nlohmann::json info() const {
        nlohmann::json j = {{"host", opt_.host}, {"port", opt_.port}, {"user", opt_.user}, {"tls", opt_.tls},
                            {"banner", banner_}, {"ami_version", ami_version_}, {"asterisk_version", asterisk_version_},
                            {"fully_booted", fully_booted_}, {"events_received", events_seen_}};
        if (events_missing_) j["events_missing"] = true;
        return j;
    }
    bool events_requested() const {
        return !iequals(opt_.events, "off") && !iequals(opt_.events, "no") && !opt_.events.empty();
    }
    bool expects_fully_booted() const {
        return iequals(opt_.events, "on") || iequals(opt_.events, "yes") || opt_.events.find("system") != std::string::npos ||
               opt_.events.find("all") != std::string::npos;
    }

    void start() {
        if (opt_.tls && !opt_.verify_tls)
            log(PL_LOG_WARN, "verify_tls = false: the certificate of " + opt_.host + ":" + std::to_string(opt_.port) +
                                 " is not checked, so whoever answers there gets the AMI secret; prefer ca_file");
        phase_ = Phase::idle;
        connect();
    }

    void stop() {
        phase_ = Phase::stopped;
        ++generation_;
        close_socket();
        boost::system::error_code ec;
        resolver_.cancel();
        retry_timer_.cancel();
        tick_timer_.cancel();
        ping_timer_.cancel();
        check_timer_.cancel();
        connect_timer_.cancel();
        tracker_.fail_all("the asterisk instance is stopping");
    }

    void close_socket() {
        boost::system::error_code ec;
        if (tls_) {
            tls_->lowest_layer().close(ec);
            tls_.reset();
        }
        if (plain_) {
            plain_->close(ec);
            plain_.reset();
        }
        out_.clear();
        writing_ = false;
    }

    tcp::socket& lowest() { return tls_ ? static_cast<tcp::socket&>(tls_->next_layer()) : *plain_; }
    // The open stream, for a handler to hold while its operation is pending.
    std::shared_ptr<void> stream_ref() const {
        if (tls_) return tls_;
        return plain_;
    }

    void connect() {
        if (phase_ == Phase::stopped) return;
        ++generation_;
        close_socket();
        parser_.reset();
        phase_ = Phase::connecting;
        auth_failed_ = false;
        if (opt_.tls) tls_ = std::make_shared<asio::ssl::stream<tcp::socket>>(io_, ssl_ctx_);
        else plain_ = std::make_shared<tcp::socket>(io_);
        auto self = shared_from_this();
        uint64_t gen = generation_;
        connect_timer_.expires_after(opt_.connect_timeout);
        connect_timer_.async_wait([self, gen](boost::system::error_code ec) {
            if (ec || gen != self->generation_ || self->phase_ == Phase::ready) return;
            if (self->phase_ == Phase::connecting || self->phase_ == Phase::banner || self->phase_ == Phase::login)
                self->fail("timed out connecting and logging in to " + self->opt_.host + ":" + std::to_string(self->opt_.port));
        });
        if (!tls_setup_error_.empty()) {
            std::string why = tls_setup_error_;
            asio::post(io_, [self, gen, why] {
                if (gen == self->generation_) self->fail(why);
            });
            return;
        }
        resolver_.async_resolve(opt_.host, std::to_string(opt_.port), [self, gen](boost::system::error_code ec, tcp::resolver::results_type results) {
            if (gen != self->generation_) return;
            if (ec) return self->fail("cannot resolve " + self->opt_.host + ": " + ec.message());
            asio::async_connect(self->lowest(), results, [self, gen, stream = self->stream_ref()](boost::system::error_code ec, const tcp::endpoint&) {
                if (gen != self->generation_) return;
                if (ec) return self->fail("cannot connect to " + self->opt_.host + ":" + std::to_string(self->opt_.port) + ": " + ec.message());
                boost::system::error_code ignored;
                self->lowest().set_option(tcp::no_delay(true), ignored);
                self->lowest().set_option(asio::socket_base::keep_alive(true), ignored);
                if (!self->tls_) return self->connected();
                if (!SSL_set_tlsext_host_name(self->tls_->native_handle(), self->opt_.host.c_str())) {}
                if (self->opt_.verify_tls) self->tls_->set_verify_callback(asio::ssl::host_name_verification(self->opt_.host));
                self->tls_->async_handshake(asio::ssl::stream_base::client, [self, gen, stream](boost::system::error_code ec) {
                    if (gen != self->generation_) return;
                    if (ec) return self->fail(self->handshake_error(ec));
                    self->connected();
                });
            });
        });
    }

    // Says why a TLS handshake failed; for a certificate the client refused, which
    // check failed and what to do about it.
    std::string handshake_error(const boost::system::error_code& ec) {
        std::string where = "TLS handshake with " + opt_.host + ":" + std::to_string(opt_.port) + " failed: ";
        long verify = tls_ ? SSL_get_verify_result(tls_->native_handle()) : X509_V_OK;
        if (opt_.verify_tls && verify != X509_V_OK)
            return where + "certificate not trusted (" + X509_verify_cert_error_string(verify) +
                   "): give the CA that signed the AMI certificate as ca_file, or set verify_tls = false";
        return where + ec.message();
    }

    void connected() {
        phase_ = Phase::banner;
        read();
        schedule_tick();
    }

    void read() {
        auto self = shared_from_this();
        uint64_t gen = generation_;
        auto handler = [self, gen, stream = stream_ref()](boost::system::error_code ec, size_t n) {
            if (gen != self->generation_) return;
            // Process what arrived before looking at the error: Asterisk sends
            // "Authentication failed" and closes right after.
            if (n > 0) {
                self->parser_.feed(std::string_view(self->buf_.data(), n), [&](AmiPacket&& p) {
                    if (gen == self->generation_) self->on_packet(std::move(p));
                });
                if (gen != self->generation_) return; // a packet closed the session
            }
            if (ec) {
                std::string why = (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) ? "Asterisk closed the connection" : ec.message();
                return self->fail(why);
            }
            self->read(); // never blocks: the next read is queued at once
        };
        if (tls_) tls_->async_read_some(asio::buffer(buf_), handler);
        else plain_->async_read_some(asio::buffer(buf_), handler);
    }

    void write(std::string data) {
        out_.push_back(std::make_shared<const std::string>(std::move(data)));
        if (!writing_) flush();
    }

    void flush() {
        if (out_.empty() || (!tls_ && !plain_)) {
            writing_ = false;
            return;
        }
        writing_ = true;
        auto self = shared_from_this();
        uint64_t gen = generation_;
        auto handler = [self, gen, stream = stream_ref(), data = out_.front()](boost::system::error_code ec, size_t) {
            if (gen != self->generation_) return;
            if (ec) return self->fail("write failed: " + ec.message());
            self->out_.pop_front();
            self->flush();
        };
        if (tls_) asio::async_write(*tls_, asio::buffer(*out_.front()), handler);
        else asio::async_write(*plain_, asio::buffer(*out_.front()), handler);
    }

    std::string send_raw(Fields fields, std::chrono::milliseconds timeout, ActionTracker::Callback done, std::string await_event) {
        std::string id = tracker_.next_id();
        std::string text;
        bool action_first = false;
        for (auto& [k, v] : fields) {
            if (!action_first && iequals(k, "Action")) {
                text += k + ": " + v + "\r\nActionID: " + id + "\r\n";
                action_first = true;
                continue;
            }
            text += k + ": " + v + "\r\n";
        }
        if (!action_first) text = "ActionID: " + id + "\r\n" + text;
        text += "\r\n";
        tracker_.expect(id, ActionTracker::Clock::now() + timeout, std::move(done), std::move(await_event));
        write(std::move(text));
        return id;
    }

    std::string send(Fields fields, std::chrono::milliseconds timeout, ActionTracker::Callback done, std::string await_event) {
        if (phase_ != Phase::ready) {
            ActionResult r;
            r.error = "not connected to Asterisk" + (last_error_.empty() ? std::string() : " (" + last_error_ + ")");
            done(std::move(r));
            return {};
        }
        return send_raw(std::move(fields), timeout, std::move(done), std::move(await_event));
    }

    void on_packet(AmiPacket&& p) {
        switch (p.kind) {
        case AmiPacket::Kind::banner:
            banner_ = p.text;
            ami_version_ = banner_.substr(banner_.rfind('/') == std::string::npos ? banner_.size() : banner_.rfind('/') + 1);
            if (phase_ == Phase::banner) login();
            return;
        case AmiPacket::Kind::error:
            log(PL_LOG_WARN, "AMI parse error: " + p.text + " (packet skipped)");
            if (cb_.count) cb_.count("parse_errors");
            return;
        default:
            break;
        }
        if (phase_ == Phase::banner) login(); // no banner (some proxies): log in anyway
        if (tracker_.on_packet(p)) return;
        if (p.kind != AmiPacket::Kind::event) return;
        ++events_seen_;
        if (p.is_event("FullyBooted")) fully_booted_ = true;
        if (p.is_event("Shutdown")) log(PL_LOG_WARN, "Asterisk is shutting down (" + std::string(p.get("Shutdown")) + ")");
        if (cb_.on_event) cb_.on_event(p);
    }

    void login() {
        phase_ = Phase::login;
        auto self = shared_from_this();
        uint64_t gen = generation_;
        auto send_login = [self, gen](std::string key) {
            if (gen != self->generation_) return;
            Fields f{{"Action", "Login"}, {"Username", self->opt_.user}};
            if (self->opt_.md5) {
                f.emplace_back("AuthType", "MD5");
                f.emplace_back("Key", key);
            } else {
                f.emplace_back("Secret", self->opt_.secret);
            }
            f.emplace_back("Events", self->opt_.events.empty() ? "off" : self->opt_.events);
            self->send_raw(std::move(f), self->opt_.login_timeout, [self, gen](ActionResult&& r) {
                if (gen != self->generation_) return;
                if (r.ok) return self->logged_in();
                if (r.response.fields.empty()) return; // connection lost or timeout: handled by fail()
                self->refused(r.error);
            }, {});
        };
        if (!opt_.md5) return send_login({});
        send_raw({{"Action", "Challenge"}, {"AuthType", "MD5"}}, opt_.login_timeout, [self, gen, send_login](ActionResult&& r) {
            if (gen != self->generation_) return;
            if (!r.ok) {
                if (r.response.fields.empty()) return;
                return self->refused("MD5 challenge refused: " + r.error);
            }
            std::string challenge(r.response.get("Challenge"));
            send_login(md5_key(challenge, self->opt_.secret));
        }, {});
    }

    void refused(const std::string& message) {
        // Same text for an unknown user and a wrong secret. Retry slowly:
        // Asterisk logs each failure and fail2ban setups ban the address.
        auth_failed_ = true;
        auth_backoff_ = auth_backoff_.count() == 0 ? opt_.auth_retry_min : std::min(auth_backoff_ * 2, opt_.auth_retry_max);
        last_error_ = "login refused for user '" + opt_.user + "': " + message;
        log(PL_LOG_ERROR, "AMI " + last_error_ + "; next try in " + std::to_string(auth_backoff_.count() / 1000) + " s");
        health("auth_failed", last_error_);
        ++generation_;
        close_socket();
        phase_ = Phase::waiting_retry;
        tracker_.fail_all("AMI login refused");
        schedule_retry(jitter(auth_backoff_));
    }

    void logged_in() {
        phase_ = Phase::ready;
        connect_timer_.cancel();
        backoff_ = 0ms;
        auth_backoff_ = 0ms;
        last_error_.clear();
        events_missing_ = false;
        fully_booted_ = false;
        log(PL_LOG_INFO, "AMI logged in to " + opt_.host + ":" + std::to_string(opt_.port) + " as '" + opt_.user + "' (" + banner_ + ")");
        health("connected", banner_);
        auto self = shared_from_this();
        uint64_t gen = generation_;
        // The Asterisk release (the banner's AMI version does not identify it).
        send_raw({{"Action", "CoreSettings"}}, 10s, [self, gen](ActionResult&& r) {
            if (gen != self->generation_ || !r.ok) return; // Permission denied: unknown version
            self->asterisk_version_ = std::string(r.response.get("AsteriskVersion"));
            self->health("connected", "Asterisk " + self->asterisk_version_);
        }, {});
        schedule_ping();
        if (events_requested() && expects_fully_booted()) {
            check_timer_.expires_after(opt_.events_check);
            check_timer_.async_wait([self, gen](boost::system::error_code ec) {
                if (ec || gen != self->generation_ || self->fully_booted_) return;
                self->events_missing_ = true;
                self->health("connected", "logged in but Asterisk sends no events: the AMI user '" + self->opt_.user +
                                              "' needs read = system,call,dtmf,user,reporting in manager.conf");
                self->log(PL_LOG_WARN, "AMI user '" + self->opt_.user + "' receives no events (no FullyBooted): check its read= privileges");
            });
        }
    }

    void schedule_ping() {
        if (opt_.ping_interval.count() <= 0) return;
        auto self = shared_from_this();
        uint64_t gen = generation_;
        ping_timer_.expires_after(opt_.ping_interval);
        ping_timer_.async_wait([self, gen](boost::system::error_code ec) {
            if (ec || gen != self->generation_ || self->phase_ != Phase::ready) return;
            auto timeout = std::max<std::chrono::milliseconds>(self->opt_.ping_interval, 5s);
            self->send_raw({{"Action", "Ping"}}, timeout, [self, gen](ActionResult&& r) {
                if (gen != self->generation_) return;
                if (!r.ok && r.response.fields.empty()) return self->fail("no answer to Ping");
            }, {});
            self->schedule_ping();
        });
    }

    void schedule_tick() {
        auto self = shared_from_this();
        uint64_t gen = generation_;
        tick_timer_.expires_after(200ms);
        tick_timer_.async_wait([self, gen](boost::system::error_code ec) {
            if (ec || gen != self->generation_) return;
            self->tracker_.expire(ActionTracker::Clock::now());
            if (gen == self->generation_) self->schedule_tick();
        });
    }

    std::chrono::milliseconds jitter(std::chrono::milliseconds base) {
        std::uniform_real_distribution<double> d(0.75, 1.25);
        return std::chrono::milliseconds(static_cast<int64_t>(base.count() * d(rng_)));
    }

    void fail(const std::string& reason) {
        if (phase_ == Phase::stopped || phase_ == Phase::waiting_retry) return;
        bool was_ready = phase_ == Phase::ready;
        ++generation_;
        close_socket();
        ping_timer_.cancel();
        check_timer_.cancel();
        tick_timer_.cancel();
        connect_timer_.cancel();
        last_error_ = reason;
        phase_ = Phase::waiting_retry; // before the callbacks: a new send() is refused at once
        tracker_.fail_all("AMI connection lost: " + reason);
        if (was_ready) {
            if (cb_.count) cb_.count("reconnects");
            if (cb_.on_disconnected) cb_.on_disconnected(reason);
        }
        // First retry within 2 s, then doubling up to retry_max, with jitter.
        backoff_ = backoff_.count() == 0 ? 1000ms : std::min(backoff_ * 2, opt_.retry_max);
        auto delay = jitter(backoff_);
        log(was_ready ? PL_LOG_WARN : PL_LOG_INFO, "AMI session to " + opt_.host + ":" + std::to_string(opt_.port) + ": " + reason +
                                                      "; reconnecting in " + std::to_string(delay.count()) + " ms");
        health(was_ready || backoff_ <= 2000ms ? "reconnecting" : "unreachable", reason);
        schedule_retry(delay);
    }

    void schedule_retry(std::chrono::milliseconds delay) {
        auto self = shared_from_this();
        retry_timer_.expires_after(delay);
        retry_timer_.async_wait([self](boost::system::error_code ec) {
            if (ec || self->phase_ == Phase::stopped) return;
            self->connect();
        });
    }
};

AmiSession::AmiSession(asio::io_context& io, SessionOptions options, Callbacks callbacks)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(callbacks))) {}

AmiSession::~AmiSession() {
    if (impl_) impl_->stop();
}

void AmiSession::start() { impl_->start(); }
void AmiSession::stop() { impl_->stop(); }
bool AmiSession::logged_in() const { return impl_->phase_ == Impl::Phase::ready; }
nlohmann::json AmiSession::info() const { return impl_->info(); }

std::string AmiSession::send(Fields fields, std::chrono::milliseconds timeout, ActionTracker::Callback done, std::string await_event) {
    return impl_->send(std::move(fields), timeout, std::move(done), std::move(await_event));
}

} // namespace passerelle::asterisk
