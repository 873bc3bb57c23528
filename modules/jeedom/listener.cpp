#include "listener.hpp"

#include "jsonrpc.hpp"

#include <passerelle/http/secret_mask.hpp>
#include <passerelle/http/verdict.hpp>

#include <algorithm>

namespace passerelle::jeedom {

using Kind = http::Verdict::Kind;

Listener::Listener(Instance& owner, http::HttpClient& client, ListenSettings settings, HealthFn health)
    : owner_(owner), client_(client), s_(std::move(settings)), health_(std::move(health)),
      alive_(std::make_shared<bool>(false)), rng_(std::random_device{}()) {}

Listener::~Listener() { stop(); }

void Listener::start() {
    *alive_ = true;
    poll();
}

void Listener::stop() {
    *alive_ = false;
    alive_ = std::make_shared<bool>(false); // closures already queued hold the old token
}

void Listener::poll() {
    const bool waiting = synced_;
    const double since = synced_ ? cursor_ : std::chrono::duration<double>(
                                                 std::chrono::system_clock::now().time_since_epoch())
                                                 .count();
    http::Request req;
    req.method = "POST";
    req.url = s_.endpoint;
    req.headers.push_back({"Content-Type", "application/json"});
    req.body = build_request(++next_id_, "event::changes", changes_params(since, waiting ? s_.long_poll.count() : 0),
                             s_.apikey);
    // Jeedom sends nothing while it waits: the read timeout covers the wait.
    http::Timeouts t;
    t.connect = std::min(s_.timeout, std::chrono::milliseconds(10'000));
    t.read = s_.timeout + (waiting ? std::chrono::milliseconds(s_.long_poll) : std::chrono::milliseconds(0));
    t.total = t.read + t.connect;
    req.timeouts = t;
    req.max_response_bytes = 4 * 1024 * 1024;
    if (!synced_) cursor_ = since;
    const auto sent = std::chrono::steady_clock::now();
    client_.request(std::move(req), [this, alive = alive_, sent, waiting](http::Response r) {
        if (!*alive) return;
        on_reply(r, sent, waiting);
    });
}

void Listener::on_reply(const http::Response& r, std::chrono::steady_clock::time_point sent, bool waited) {
    const Host& host = owner_.host();
    if (!r.ok()) {
        http::Verdict v = http::classify(r, "Jeedom event::changes");
        // 404 on everything: Jeedom banned this IP after wrong keys.
        const bool banned = r.error == http::ErrorKind::http_status && r.status == 404;
        if (banned)
            v.message = "Jeedom event::changes: HTTP 404 (passerelle's IP is probably banned after wrong API keys, or "
                        "url is not Jeedom's base URL)";
        return trouble(v.is(Kind::pause) || banned, v.message);
    }
    RpcReply reply = classify_reply(r.body, "event::changes");
    if (!reply.verdict.is(Kind::ok)) {
        // pause: a wrong key; give_up: an error code, e.g. a Jeedom without event::changes (500).
        const bool slow = reply.verdict.is(Kind::pause) || reply.verdict.is(Kind::give_up);
        return trouble(slow, reply.verdict.message);
    }
    ChangesBatch batch = parse_changes(reply.result, cursor_, s_.filter);
    if (!batch.valid) return trouble(false, "Jeedom event::changes: " + batch.error);
    if (batch.malformed) {
        host.count("listen_malformed");
        host.debug("Jeedom event::changes: " + std::to_string(batch.malformed) + " entries not understood, skipped");
    }
    if (!synced_ || failures_ > 0) {
        if (failures_ > 0) host.info("Jeedom event::changes answers again; listening");
        health_("ok", "listening to Jeedom commands");
    }
    synced_ = true;
    failures_ = 0;
    last_trouble_.clear();
    cursor_ = batch.cursor;
    const int64_t now = Instance::now_ns();
    for (const auto& c : batch.changes) {
        owner_.publish(change_to_event(c, owner_.name(), now));
        ++published_;
        host.count("listen_events");
    }
    // A Jeedom that answers an empty list at once (ignoring longPolling, or a
    // proxy in front) must not make this loop spin.
    const bool quick = std::chrono::steady_clock::now() - sent < std::chrono::milliseconds(500);
    if (waited && batch.changes.empty() && batch.skipped == 0 && quick) return schedule(std::chrono::milliseconds(1'000));
    poll();
}

void Listener::trouble(bool pause, const std::string& raw) {
    const Host& host = owner_.host();
    const std::string message = http::mask_secret(raw, s_.apikey);
    ++failures_;
    host.count("listen_errors");
    std::chrono::milliseconds delay = s_.pause_delay;
    if (!pause) {
        const int shift = std::min(failures_ - 1, 16);
        auto base = std::min(s_.max_retry, s_.first_retry * (int64_t{1} << shift));
        std::uniform_int_distribution<int64_t> jitter(-base.count() / 4, base.count() / 4);
        delay = std::max(std::chrono::milliseconds(100), base + std::chrono::milliseconds(jitter(rng_)));
    }
    if (message != last_trouble_) {
        last_trouble_ = message;
        host.warn("listen: " + message + "; next try in " + std::to_string(delay.count() / 1000) + " s");
    }
    health_(pause ? "auth_failed" : "unreachable", message);
    schedule(delay);
}

void Listener::schedule(std::chrono::milliseconds delay) {
    owner_.timers().after(delay, [this, alive = alive_] {
        if (*alive) poll();
    });
}

} // namespace passerelle::jeedom
