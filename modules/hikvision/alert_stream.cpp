#include "alert_stream.hpp"

#include "backoff.hpp"
#include "count_flusher.hpp"
#include "multipart.hpp"
#include "notification.hpp"

#include <passerelle/http/client.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <random>

namespace passerelle::hikvision {
namespace {

constexpr std::string_view kIsapiPath = "/ISAPI/Event/notification/alertStream";
constexpr std::string_view kLegacyPath = "/Event/notification/alertStream";

int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace

struct AlertStream::Impl : std::enable_shared_from_this<Impl>, PendingCounts {
    Impl(boost::asio::io_context& io, http::HttpClient& http, AlertStreamOptions o, AlertStreamCallbacks c)
        : cb(std::move(c)), state(o.state), http(http), opt(std::move(o)), reconnect_timer(io), state_timer(io),
          rng(std::random_device{}()), counts_flusher(count_flusher(io)) {
        stats.path = std::string(kIsapiPath);
    }

    // What every part of the stream touches, together at the front: with
    // 1,000 cameras, each read finds its stream cold, and each cache line
    // these span is a miss of its own (the options, timers and backoff state
    // below are for connecting and reconnecting only).
    std::unique_ptr<MultipartParser> parser;
    std::vector<Event> out;
    std::optional<int64_t> armed_deadline;
    // Per-part counters, handed to the host at most once a second (see
    // count_flusher.hpp); stats has them exact at once.
    uint64_t pending_parts = 0, pending_heartbeats = 0, pending_images = 0;
    bool counts_enlisted = false; // the flusher will call flush_counts()
    bool running = false;
    bool part_seen = false;       // this session delivered at least one part
    bool silent_device = false;   // learned: this device sends no heartbeats
    AlertStreamCallbacks cb;      // on_events and on_count first
    Decoded decoded; // the last part's, kept to reuse its vector
    Stats stats;
    EventState state;

    http::HttpClient& http;
    AlertStreamOptions opt;
    http::StreamHandle stream;
    boost::asio::steady_timer reconnect_timer;
    boost::asio::steady_timer state_timer;
    std::minstd_rand rng; // jitter only: 8 bytes of state, not mt19937_64's 2.5 KB per device

    bool head_seen = false;       // this session got its 2xx head
    bool legacy_path = false;     // using /Event/notification/alertStream
    bool path_404 = false;        // the other path already answered 404 in this round
    bool quiet_reattach = false;  // the running session is a periodic re-attach
    unsigned failures = 0;
    unsigned auth_failures = 0;
    uint64_t reconnect_round = 0; // guards before_reconnect's proceed against a second call
    CountFlusher& counts_flusher;

    void count(std::string_view name) {
        if (cb.on_count) cb.on_count(name, 1);
    }
    // The flusher's call: never once stopped (the callbacks' owner may be gone).
    void flush_counts() override {
        counts_enlisted = false;
        if (running) report_counts();
    }
    void report_counts() {
        if (!cb.on_count) {
            pending_parts = pending_heartbeats = pending_images = 0;
            return;
        }
        if (pending_parts) cb.on_count("parts", static_cast<int64_t>(pending_parts));
        if (pending_heartbeats) cb.on_count("heartbeats", static_cast<int64_t>(pending_heartbeats));
        if (pending_images) cb.on_count("images", static_cast<int64_t>(pending_images));
        pending_parts = pending_heartbeats = pending_images = 0;
    }
    void health(std::string_view st, std::string_view detail) {
        if (cb.on_health) cb.on_health(st, detail);
    }
    void log(bool warning, std::string_view m) {
        if (cb.on_log) cb.on_log(warning, m);
    }
    void publish() {
        if (!out.empty() && cb.on_events) cb.on_events(out);
        out.clear();
    }
    double unit() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); }

    void connect() {
        if (!running) return;
        head_seen = part_seen = false;
        stats.path = std::string(legacy_path ? kLegacyPath : kIsapiPath);
        http::Request req;
        req.url = opt.base_url + stats.path;
        req.credentials = opt.credentials;
        http::Timeouts t;
        t.read = silent_device ? opt.reattach_interval : opt.heartbeat_timeout;
        t.total = std::max<std::chrono::milliseconds>(t.connect + t.read, std::chrono::milliseconds(30'000));
        req.timeouts = t;
        std::weak_ptr<Impl> weak = weak_from_this();
        http::StreamCallbacks scb;
        scb.on_head = [weak](const http::Response& head) {
            if (auto self = weak.lock()) self->on_head(head);
        };
        scb.on_data = [weak](std::string_view bytes) {
            if (auto self = weak.lock()) self->on_data(bytes);
        };
        scb.on_end = [weak](http::Response end) {
            if (auto self = weak.lock()) self->on_end(std::move(end));
        };
        stream = http.stream(std::move(req), std::move(scb));
    }

    void on_head(const http::Response& head) {
        head_seen = true;
        path_404 = false;
        auth_failures = 0;
        stats.connected = true;
        ++stats.connects;
        std::string boundary;
        if (auto ct = head.header("Content-Type")) boundary = boundary_from_content_type(*ct);
        parser = std::make_unique<MultipartParser>(boundary);
        parser->set_handlers([this](const PartView& p) { on_part(p); },
                             [this](std::string_view msg) {
                                 ++stats.parse_errors;
                                 count("parse_errors");
                                 log(false, std::string("alertStream: ") + std::string(msg));
                             });
        if (!quiet_reattach) health("connected", "alertStream open (" + stats.path + ")");
        if (cb.on_connected) cb.on_connected();
    }

    void on_data(std::string_view bytes) {
        if (!parser) return;
        parser->feed(bytes);
        if (!counts_enlisted && (pending_parts | pending_heartbeats | pending_images)) {
            counts_enlisted = true;
            flush_counts_soon(counts_flusher, weak_from_this());
        }
        publish();
        arm_state_timer();
    }

    void on_part(const PartView& part) {
        const int64_t now = now_ns();
        ++stats.parts;
        ++pending_parts;
        if (!part_seen) {
            part_seen = true;
            failures = 0;
        }
        if (part.is_binary()) {
            ++stats.images;
            ++pending_images;
            state.on_image(part.body, part.media_type, now, out);
            return;
        }
        // `state` says which keys it folds: their repeats are decoded without attrs.
        Decoded& d = decoded;
        decode_part(part, DecodeScope::for_event_state, &state, d);
        if (!d.error.empty()) {
            ++stats.parse_errors;
            count("parse_errors");
            log(false, "skipped a part: " + d.error);
            state.on_other_part(now, out);
            return;
        }
        if (d.notifications.empty()) {
            state.on_other_part(now, out);
            return;
        }
        for (Notification& n : d.notifications) {
            if (n.heartbeat) {
                ++stats.heartbeats;
                ++pending_heartbeats;
                if (!stats.heartbeats_seen) {
                    stats.heartbeats_seen = true;
                    silent_device = false;
                }
            }
            state.on_notification(std::move(n), now, out);
        }
    }

    void arm_state_timer() {
        std::optional<int64_t> d = state.next_deadline();
        if (!d) return; // an armed timer firing early only polls: harmless
        if (armed_deadline && *armed_deadline <= *d) return;
        armed_deadline = d;
        state_timer.expires_after(std::chrono::nanoseconds(std::max<int64_t>(0, *d - now_ns())));
        std::weak_ptr<Impl> weak = weak_from_this();
        state_timer.async_wait([weak](const boost::system::error_code& ec) {
            if (ec) return;
            auto self = weak.lock();
            if (!self || !self->running) return;
            self->armed_deadline.reset();
            self->state.poll(now_ns(), self->out);
            self->publish();
            self->arm_state_timer();
        });
    }

    void on_end(http::Response r) {
        stream = http::StreamHandle();
        const bool was_connected = head_seen;
        stats.connected = false;
        if (parser) {
            parser->finish();
            parser.reset();
        }
        report_counts();
        if (was_connected) {
            state.flush(now_ns(), out, "disconnected");
            publish();
        }
        if (!running) return;

        std::chrono::milliseconds delay{0};
        quiet_reattach = false;
        const bool not_found = r.error == http::ErrorKind::http_status && r.status == 404;
        const bool auth = r.error == http::ErrorKind::auth_failed ||
                          (r.error == http::ErrorKind::http_status && (r.status == 401 || r.status == 403));
        if (not_found && !path_404) {
            // Old firmware only knows the path without /ISAPI (and the other way round).
            path_404 = true;
            legacy_path = !legacy_path;
            log(false, "alertStream answered 404, trying " + std::string(legacy_path ? kLegacyPath : kIsapiPath));
            delay = std::chrono::milliseconds(0);
        } else if (auth) {
            delay = auth_backoff(auth_failures++, opt.auth_backoff, opt.auth_backoff_max, unit());
            health("auth_failed", http::describe(r) + "; next attempt in " + std::to_string(delay.count() / 1000) + " s");
        } else if (was_connected && r.error == http::ErrorKind::timeout && !stats.heartbeats_seen) {
            // Never a heartbeat from this device: silence is normal for it. Re-attach at
            // once and from now on only after reattach_interval of silence.
            if (!silent_device) log(false, "no heartbeat from the device: re-attaching the alertStream periodically");
            silent_device = true;
            quiet_reattach = true;
            delay = std::chrono::milliseconds(100);
        } else {
            path_404 = false;
            delay = reconnect_backoff(failures++, opt.reconnect_first, opt.reconnect_max, unit());
            std::string why = not_found ? "no alertStream on this device (404)" : http::describe(r);
            health(was_connected ? "reconnecting" : "unreachable",
                   why + "; retry in " + std::to_string(delay.count()) + " ms");
            log(true, "alertStream lost: " + why);
        }
        ++stats.reconnects;
        count("reconnects");
        reconnect_timer.expires_after(delay);
        std::weak_ptr<Impl> weak = weak_from_this();
        reconnect_timer.async_wait([weak, auth](const boost::system::error_code& ec) {
            if (ec) return;
            if (auto self = weak.lock()) self->reconnect(auth);
        });
    }

    void reconnect(bool after_auth_failure) {
        if (!running) return;
        if (!cb.before_reconnect) return connect();
        const uint64_t round = ++reconnect_round;
        std::weak_ptr<Impl> weak = weak_from_this();
        cb.before_reconnect(after_auth_failure, [weak, round] {
            auto self = weak.lock();
            // Once per round, and never after stop() or over an open stream.
            if (!self || !self->running || round != self->reconnect_round || self->stream.active()) return;
            ++self->reconnect_round;
            self->connect();
        });
    }

    void stop(std::string_view reason, bool flush) {
        running = false;
        stream.cancel();
        reconnect_timer.cancel();
        state_timer.cancel();
        armed_deadline.reset();
        parser.reset();
        stats.connected = false;
        if (flush) {
            report_counts();
            state.flush(now_ns(), out, reason);
            publish();
        }
    }
};

AlertStream::AlertStream(boost::asio::io_context& io, http::HttpClient& http, AlertStreamOptions options,
                         AlertStreamCallbacks callbacks)
    : impl_(std::make_shared<Impl>(io, http, std::move(options), std::move(callbacks))) {}

AlertStream::~AlertStream() {
    if (impl_) impl_->stop({}, false);
}

void AlertStream::start() {
    if (impl_->running) return;
    impl_->running = true;
    impl_->connect();
}

void AlertStream::stop(std::string_view reason) { impl_->stop(reason, true); }

const AlertStream::Stats& AlertStream::stats() const { return impl_->stats; }

} // namespace passerelle::hikvision
