#include "cgi_session.hpp"

#include "cgi_stream_parser.hpp"
#include "event_mapping.hpp"

#include <passerelle/http/client.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cctype>
#include <random>

namespace passerelle::dahua {

struct CgiSession::Impl {
    Impl(boost::asio::io_context& io, http::HttpClient& http, Options o, Callbacks c)
        : http(http), opt(std::move(o)), cb(std::move(c)), timer(io),
          backoff(opt.reconnect_first, opt.reconnect_max),
          auth_backoff(opt.auth_retry, opt.auth_retry_max, opt.auth_retry / 2),
          rng(std::random_device{}()) {}

    http::HttpClient& http;
    Options opt;
    Callbacks cb;
    boost::asio::steady_timer timer;
    Backoff backoff;
    Backoff auth_backoff;
    std::minstd_rand rng; // jitter only: 8 bytes of state, not mt19937_64's 2.5 KB per device
    http::StreamHandle stream;
    std::unique_ptr<CgiStreamParser> parser;
    std::vector<CgiStreamItem> items;
    std::vector<Event> events; // one part's, reused from part to part
    bool running = false;
    bool connected = false;
    bool ever_connected = false;
    int failures = 0;          // consecutive attempts that never got a stream
    int errors_logged = 0;     // parse errors logged on this connection
    Stats stats;

    void log(bool warn, const std::string& m) {
        if (cb.on_log) cb.on_log(warn, m);
    }
    void count(std::string_view c) {
        if (cb.on_count) cb.on_count(c);
    }
    void health(std::string_view s, const std::string& d) {
        if (cb.on_health) cb.on_health(s, d);
    }

    std::string url() const {
        return opt.base_url + "/cgi-bin/eventManager.cgi?action=attach&codes=[All]&heartbeat=" +
               std::to_string(std::max<int64_t>(1, opt.heartbeat.count() / 1000));
    }

    void connect() {
        if (!running) return;
        http::Request req;
        req.url = url();
        req.credentials = opt.credentials;
        req.timeouts = http::Timeouts{opt.connect_timeout, idle_timeout(opt.heartbeat),
                                      opt.connect_timeout + std::chrono::seconds(20)};
        stream = http.stream(std::move(req), {
            .on_head = [this](const http::Response& head) { on_head(head); },
            .on_data = [this](std::string_view chunk) { on_data(chunk); },
            .on_end = [this](http::Response end) { on_end(std::move(end)); },
        });
    }

    void on_head(const http::Response& head) {
        CgiStreamParser::Options po;
        po.boundary = boundary_of(head.header("Content-Type").value_or(""));
        po.max_part_size = opt.max_part_size;
        parser = std::make_unique<CgiStreamParser>(po);
        connected = true;
        failures = 0;
        errors_logged = 0;
        backoff.reset();
        auth_backoff.reset();
        ++stats.connects;
        health("connected", "event stream open (heartbeat " + std::to_string(opt.heartbeat.count() / 1000) + " s)");
        bool reconnect = ever_connected;
        ever_connected = true;
        if (cb.on_connected) cb.on_connected(reconnect);
    }

    void on_data(std::string_view chunk) {
        if (!parser) return;
        items.clear();
        parser->feed(chunk, items);
        handle_items();
    }

    void handle_items() {
        for (auto& item : items) {
            switch (item.kind) {
            case CgiStreamItem::Kind::heartbeat: ++stats.heartbeats; break;
            case CgiStreamItem::Kind::part: {
                ++stats.parts;
                map_part_body(item.part.body, events);
                if (!events.empty() && cb.on_events) cb.on_events(events);
                events.clear();
                break;
            }
            case CgiStreamItem::Kind::error:
                ++stats.parse_errors;
                count("parse_errors");
                // A clear line, but not one per byte of a garbage flood.
                if (errors_logged < 5) {
                    ++errors_logged;
                    log(true, std::string("event stream: ") + std::string(to_string(item.error)) +
                                  (item.detail.empty() ? "" : " (" + item.detail + ")") +
                                  (errors_logged == 5 ? "; further errors on this connection are only counted" : ""));
                }
                break;
            }
        }
        items.clear();
    }

    void on_end(http::Response end) {
        bool was_connected = connected;
        connected = false;
        if (parser) {
            items.clear();
            parser->finish(items);
            handle_items();
            parser.reset();
        }
        if (!running) return;
        std::chrono::milliseconds delay;
        if (end.error == http::ErrorKind::auth_failed) {
            ++stats.auth_failures;
            count("auth_failures");
            delay = auth_backoff.next(rng);
            health("auth_failed", "the device refused the credentials (wrong user/password, locked account or "
                                  "connection limit reached); next try in " +
                                      std::to_string(delay.count() / 1000) + " s");
        } else {
            if (!was_connected) ++failures;
            delay = backoff.next(rng);
            std::string why = end.error == http::ErrorKind::none ? std::string("the device closed the event stream")
                              : end.error == http::ErrorKind::timeout && was_connected
                                  ? "no heartbeat for " + std::to_string(idle_timeout(opt.heartbeat).count()) + " ms"
                                  : http::describe(end);
            std::string state = failures >= 3 ? "unreachable" : "reconnecting";
            health(state, why + "; retry in " + std::to_string(delay.count()) + " ms");
            if (was_connected) log(false, "event stream lost: " + why);
        }
        ++stats.reconnects;
        count("reconnects");
        timer.expires_after(delay);
        timer.async_wait([this](const boost::system::error_code& ec) {
            if (ec) return;
            connect();
        });
    }
};

CgiSession::CgiSession(boost::asio::io_context& io, http::HttpClient& http, Options options, Callbacks callbacks)
    : impl_(std::make_unique<Impl>(io, http, std::move(options), std::move(callbacks))) {}

CgiSession::~CgiSession() { stop(); }

void CgiSession::start() {
    if (impl_->running) return;
    impl_->running = true;
    impl_->ever_connected = false;
    impl_->connect();
}

void CgiSession::stop() {
    impl_->running = false;
    impl_->timer.cancel();
    impl_->stream.cancel();
    impl_->connected = false;
    impl_->parser.reset();
}

bool CgiSession::connected() const { return impl_->connected; }
const CgiSession::Stats& CgiSession::stats() const { return impl_->stats; }
std::string CgiSession::attach_url() const { return impl_->url(); }

std::chrono::milliseconds CgiSession::idle_timeout(std::chrono::milliseconds heartbeat) {
    return heartbeat * 3 + std::chrono::milliseconds(2000);
}

std::string CgiSession::boundary_of(std::string_view ct) {
    std::string lower(ct);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto at = lower.find("boundary=");
    if (at == std::string::npos) return "myboundary";
    std::string_view b = ct.substr(at + 9);
    auto semi = b.find(';');
    if (semi != std::string_view::npos) b = b.substr(0, semi);
    while (!b.empty() && (b.front() == ' ' || b.front() == '"')) b.remove_prefix(1);
    while (!b.empty() && (b.back() == ' ' || b.back() == '"' || b.back() == '\r')) b.remove_suffix(1);
    if (b.substr(0, 2) == "--") b.remove_prefix(2);
    if (b.empty() || b.size() > 200) return "myboundary";
    return std::string(b);
}

} // namespace passerelle::dahua
