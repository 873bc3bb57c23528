// Listen mode, the I/O part: a loop of long-polled `event::changes` calls
// (JSON-RPC) on the module's HTTP client, publishing the changes of the chosen
// Jeedom commands as events (changes.hpp says what a reply means).
//
// First call: `datetime` = now, no wait, to learn Jeedom's clock without
// replaying its cache; then each call waits up to `long_poll` in Jeedom and
// passes back the datetime of the previous answer, so nothing is lost between
// calls (while Jeedom's cache holds it) and nothing is published twice.
//
// Trouble never stops the loop, it only slows it:
//   Jeedom down, 5xx, timeout, a garbage reply -> retry after 1 s, 2 s, 4 s ... 60 s (+-25 % jitter)
//   wrong key (JSON-RPC 1/2), 401/403, 404 (IP banned after wrong keys), a
//   Jeedom without event::changes                -> retry after `pause_delay` (10 min)
// A real Jeedom sleeps 5 s per wrong key and bans the IP after 6, so a wrong
// key must never be retried quickly. Health follows (unreachable /
// auth_failed, back to ok); log lines only when the trouble changes.
// Everything runs on the module's io thread.
#pragma once

#include "changes.hpp"

#include <passerelle/http/client.hpp>
#include <passerelle/module.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <string>

namespace passerelle::jeedom {

struct ListenSettings {
    std::string endpoint;   // .../core/api/jeeApi.php
    std::string apikey;     // the core key
    ListenFilter filter;
    std::chrono::seconds long_poll{30};
    std::chrono::milliseconds timeout{10'000};  // on top of long_poll
    std::chrono::milliseconds first_retry{1'000};
    std::chrono::milliseconds max_retry{60'000};
    std::chrono::milliseconds pause_delay{600'000};
};

class Listener {
public:
    using HealthFn = std::function<void(const std::string& state, const std::string& detail)>;

    // `owner` gives the host (publish, log, count) and the timers; `client`
    // must outlive the Listener or be destroyed after stop().
    Listener(Instance& owner, http::HttpClient& client, ListenSettings settings, HealthFn health);
    ~Listener();
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    void start();
    // After stop() no callback touches this object again.
    void stop();

    uint64_t published() const { return published_; }

private:
    void poll();
    void on_reply(const http::Response& r, std::chrono::steady_clock::time_point sent, bool waited);
    void trouble(bool pause, const std::string& message);
    void schedule(std::chrono::milliseconds delay);

    Instance& owner_;
    http::HttpClient& client_;
    ListenSettings s_;
    HealthFn health_;
    std::shared_ptr<bool> alive_;
    bool synced_ = false;
    double cursor_ = 0;
    uint64_t next_id_ = 0;
    uint64_t published_ = 0;
    int failures_ = 0;
    std::string last_trouble_;
    std::minstd_rand rng_;
};

} // namespace passerelle::jeedom
