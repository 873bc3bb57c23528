// A scripted SinkTarget for the delivery tests: answers from its own thread
// (as a real module does), after an optional delay, with the status the
// script picks; can hold every answer until released.
#pragma once

#include "delivery/outbox.hpp"

#include <passerelle/abi.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace passerelle::test {

using namespace std::chrono_literals;
using kernel::Job;
using Clock = std::chrono::steady_clock;

struct Answer {
    int32_t status = PL_OK;
    std::string message;
};

class FakeSink final : public kernel::SinkTarget {
public:
    using Script = std::function<Answer(const Job& job, int attempt)>; // attempt: 1 for the first try of that id

    explicit FakeSink(std::string name, uint32_t window = 1) : name_(std::move(name)), window_(window) {
        thread_ = std::thread([this] { run(); });
    }
    ~FakeSink() override {
        {
            std::lock_guard lk(m_);
            stop_ = true;
            hold_ = false;
        }
        cv_.notify_all();
        thread_.join();
    }

    void deliver(const Job& job, Done done, bool) override {
        std::lock_guard lk(m_);
        uint64_t id = job.event->id;
        int attempt = ++attempts_by_id_[id];
        attempts_.push_back({id, Clock::now()});
        Answer a = script_ ? script_(job, attempt) : Answer{};
        pending_.push_back({Clock::now() + delay_, std::move(done), a, id});
        cv_.notify_all();
    }
    const std::string& sink_name() const override { return name_; }
    uint32_t max_inflight() const override { return window_; }

    void set_script(Script s) { std::lock_guard lk(m_); script_ = std::move(s); }
    void set_delay(std::chrono::milliseconds d) { std::lock_guard lk(m_); delay_ = d; }
    void hold(bool on) {
        { std::lock_guard lk(m_); hold_ = on; }
        cv_.notify_all();
    }

    // Ids answered PL_OK, in the order the answers were sent.
    std::vector<uint64_t> ok_ids() const { std::lock_guard lk(m_); return ok_; }
    std::vector<uint64_t> attempt_ids() const {
        std::lock_guard lk(m_);
        std::vector<uint64_t> out;
        for (auto& a : attempts_) out.push_back(a.first);
        return out;
    }
    std::vector<Clock::time_point> attempt_times(uint64_t id) const {
        std::lock_guard lk(m_);
        std::vector<Clock::time_point> out;
        for (auto& a : attempts_) if (a.first == id) out.push_back(a.second);
        return out;
    }
    size_t attempts() const { std::lock_guard lk(m_); return attempts_.size(); }
    size_t in_flight() const { std::lock_guard lk(m_); return pending_.size(); }

    // Bounded wait for a condition on the sink's state.
    bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = 10s) const {
        auto deadline = Clock::now() + limit;
        while (Clock::now() < deadline) {
            if (pred()) return true;
            std::this_thread::sleep_for(2ms);
        }
        return pred();
    }
    bool wait_ok(size_t n, std::chrono::milliseconds limit = 10s) const {
        return wait_until([&] { return ok_ids().size() >= n; }, limit);
    }

private:
    struct Pending {
        Clock::time_point due;
        Done done;
        Answer answer;
        uint64_t id;
    };
    void run() {
        std::unique_lock lk(m_);
        for (;;) {
            if (stop_ && pending_.empty()) break;
            if (pending_.empty() || (hold_ && !stop_)) {
                cv_.wait(lk);
                continue;
            }
            auto due = pending_.front().due;
            if (!stop_ && due > Clock::now()) {
                cv_.wait_until(lk, due);
                continue;
            }
            Pending p = std::move(pending_.front());
            pending_.pop_front();
            if (p.answer.status == PL_OK) ok_.push_back(p.id);
            lk.unlock();
            p.done(p.answer.status, p.answer.message);
            lk.lock();
        }
    }

    std::string name_;
    uint32_t window_;
    mutable std::mutex m_;
    std::condition_variable cv_;
    std::deque<Pending> pending_;
    std::vector<std::pair<uint64_t, Clock::time_point>> attempts_;
    std::map<uint64_t, int> attempts_by_id_;
    std::vector<uint64_t> ok_;
    Script script_;
    std::chrono::milliseconds delay_{0};
    bool hold_ = false;
    bool stop_ = false;
    std::thread thread_;
};

inline Job make_job(uint64_t id, State state = State::pulse, int64_t max_age_ms = 0) {
    auto e = std::make_shared<Event>();
    e->id = id;
    e->type = "motion";
    e->code = "VideoMotion";
    e->source = "cam";
    e->module = "dahua";
    e->state = state;
    e->channel = 1;
    e->received_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
    e->time_ns = e->received_ns;
    e->attrs["seq"] = std::to_string(id);
    Job j;
    j.event = e;
    j.params_json = "{}";
    j.max_age_ms = max_age_ms;
    return j;
}

// A fresh directory under /tmp, removed at the end of the test.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "passerelle-outbox-XXXXXX").string();
        path = mkdtemp(tmpl.data());
    }
    ~TempDir() { std::error_code ec; std::filesystem::remove_all(path, ec); }
    std::string str() const { return path.string(); }
};

// Collects log lines (thread-safe) so tests can check what was said.
struct LogCapture {
    mutable std::mutex m;
    std::vector<std::pair<int, std::string>> lines;
    kernel::DeliveryLog fn() {
        return [this](int level, std::string_view msg) {
            std::lock_guard lk(m);
            lines.emplace_back(level, std::string(msg));
        };
    }
    bool contains(std::string_view needle) const {
        std::lock_guard lk(m);
        for (auto& l : lines) if (l.second.find(needle) != std::string::npos) return true;
        return false;
    }
    size_t count(std::string_view needle) const {
        std::lock_guard lk(m);
        size_t n = 0;
        for (auto& l : lines) if (l.second.find(needle) != std::string::npos) ++n;
        return n;
    }
};

inline bool strictly_increasing(const std::vector<uint64_t>& v) {
    for (size_t i = 1; i < v.size(); ++i) if (v[i] <= v[i - 1]) return false;
    return true;
}

inline std::vector<uint64_t> iota_ids(uint64_t first, uint64_t last) {
    std::vector<uint64_t> v;
    for (uint64_t i = first; i <= last; ++i) v.push_back(i);
    return v;
}

} // namespace passerelle::test
