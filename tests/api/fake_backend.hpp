// An ApiBackend for the server tests: records calls, answers actions in every
// way a real daemon might (now, later from another thread, never, with each
// error status), and lets the test publish events to SSE subscribers.
#pragma once

#include "api/api_server.hpp"

#include <passerelle/abi.h>

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace test_api {

struct RecordedCall {
    std::string instance, action, params_json;
};

class FakeBackend : public passerelle::kernel::ApiBackend {
public:
    std::string metrics = "# TYPE passerelle_up gauge\npasserelle_up 1\n";
    std::string instances = R"({"instances":[{"name":"cam","module":"demo","health":"ok"}]})";

    ~FakeBackend() override {
        for (auto& t : threads_) t.join();
        // Answer parked actions now, as a late module would (the server is gone).
        for (auto& d : parked_) d(PL_OK, "{}");
    }

    std::string metrics_text() override { return metrics; }
    std::string instances_json() override { return instances; }

    // Actions by name: echo (params back), later (answers from another thread
    // after 50 ms), never (parked), empty (""), nested, badjson, throw, and
    // fail_<status> for every error status of abi.h.
    void invoke_action(const std::string& instance, const std::string& action, std::string params,
                       ActionDone done) override {
        {
            std::lock_guard lock(mutex_);
            calls_.push_back({instance, action, params});
        }
        static const std::map<std::string, int32_t> failures = {
            {"fail_invalid", PL_ERR_INVALID}, {"fail_retry", PL_ERR_RETRY},
            {"fail_permanent", PL_ERR_PERMANENT}, {"fail_auth", PL_ERR_AUTH},
            {"fail_unknown", PL_ERR_UNKNOWN_ACTION}, {"fail_timeout", PL_ERR_TIMEOUT},
            {"fail_internal", PL_ERR_INTERNAL}, {"fail_weird", 42}};
        if (action == "echo") return done(PL_OK, params);
        if (action == "empty") return done(PL_OK, "");
        if (action == "nested") return done(PL_OK, R"({"a":1,"b":{"c":"x"},"list":[1,2],"s":"<&>"})");
        if (action == "badjson") return done(PL_OK, "{not json");
        if (action == "throw") throw std::runtime_error("backend exploded");
        if (action == "later") {
            std::lock_guard lock(mutex_);
            threads_.emplace_back([done = std::move(done)] {
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
                done(PL_OK, R"({"later":true})");
            });
            return;
        }
        if (action == "never") {
            std::lock_guard lock(mutex_);
            parked_.push_back(std::move(done));
            return;
        }
        if (auto it = failures.find(action); it != failures.end())
            return done(it->second, "failed: " + action);
        done(PL_ERR_UNKNOWN_ACTION, "no action '" + action + "' on '" + instance + "'");
    }

    uint64_t subscribe(EventSink sink) override {
        std::lock_guard lock(mutex_);
        sinks_.emplace(++next_sub_, std::move(sink));
        return next_sub_;
    }
    void unsubscribe(uint64_t id) override {
        std::lock_guard lock(mutex_);
        sinks_.erase(id);
    }

    // Calls every subscriber from this (test) thread, like the bus's dispatch thread.
    void publish(const passerelle::Event& e, const std::string& json) {
        std::vector<EventSink> sinks;
        {
            std::lock_guard lock(mutex_);
            for (auto& [id, s] : sinks_) sinks.push_back(s);
        }
        for (auto& s : sinks) s(e, json);
    }

    size_t subscribers() {
        std::lock_guard lock(mutex_);
        return sinks_.size();
    }
    std::vector<RecordedCall> calls() {
        std::lock_guard lock(mutex_);
        return calls_;
    }
    void answer_parked(int32_t status, const std::string& result) {
        std::vector<ActionDone> parked;
        {
            std::lock_guard lock(mutex_);
            parked.swap(parked_);
        }
        for (auto& d : parked) d(status, result);
    }

private:
    std::mutex mutex_;
    std::vector<RecordedCall> calls_;
    std::map<uint64_t, EventSink> sinks_;
    uint64_t next_sub_ = 0;
    std::vector<std::thread> threads_;
    std::vector<ActionDone> parked_;
};

// Polls `pred` every 10 ms for at most `limit`.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
        if (pred()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return pred();
}

} // namespace test_api
