#include "delivery/delivery_engine.hpp"

#include "delivery/retry_policy.hpp"

#include <passerelle/abi.h>
#include <passerelle/thread_name.hpp>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <utility>

namespace passerelle::kernel {

int64_t now_ms_since_epoch() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

namespace {

using Clock = std::chrono::steady_clock;

struct Entry {
    QueuedJob q;
    uint64_t seq = 0;
    bool has_result = false;
    int32_t status = PL_OK;
    std::string message;
};

struct Result {
    uint64_t seq;
    uint64_t generation;
    int32_t status;
    std::string message;
};

std::string event_label(const Job& job) {
    if (!job.event) return "event ?";
    return "event " + std::to_string(job.event->id) + " (" + job.event->type + "/" +
           std::string(to_string(job.event->state)) + ")";
}

// When the event happened for the max_age rule: the host's receive time,
// else the device's time, else the push time.
int64_t event_time_ms(const QueuedJob& q) {
    if (q.job->event && q.job->event->received_ns > 0) return q.job->event->received_ns / 1000000;
    if (q.job->event && q.job->event->time_ns > 0) return q.job->event->time_ns / 1000000;
    return q.enqueued_ms;
}

} // namespace

// The engines that got jobs during the current burst on this thread.
struct BurstState {
    int depth = 0;
    std::vector<std::shared_ptr<DeliveryEngine::Core>> engines;
};
thread_local BurstState t_burst;

struct DeliveryEngine::Core : std::enable_shared_from_this<DeliveryEngine::Core> {
    Core(SinkTarget& t, QueueOptions o, RemoveRows r)
        : target(t), name(t.sink_name()), opt(std::move(o)), remove_rows(std::move(r)),
          rng(std::random_device{}()) {}

    SinkTarget& target;
    const std::string name;
    const QueueOptions opt;
    const RemoveRows remove_rows;

    mutable std::mutex m;
    std::condition_variable cv;
    std::deque<Entry> q;
    uint64_t bytes = 0;
    size_t sent = 0;          // q[0, sent) were handed to the sink in the current generation
    uint64_t generation = 0;  // bumped on every go-back: older results are ignored
    uint32_t outstanding = 0; // deliver() calls not answered yet, any generation
    uint64_t next_seq = 1;
    std::vector<Result> results;
    Clock::time_point resume_at{};
    unsigned retry_attempt = 0;
    unsigned auth_attempt = 0;
    bool closing = false;
    bool stop_thread = false;
    bool driving = false; // a thread is in drive()
    bool news = false;    // drive() was called while another thread drove
    bool handoff = false; // a driver left work for the engine thread
    bool burst_queued = false; // listed by a thread's burst, to drive at its end
    bool backoff_pending = false; // go_back() set resume_at: the engine thread drives then
    SinkStats counters;
    uint64_t drop_burst = 0;
    std::mt19937_64 rng;

    // Side effects gathered under the lock, performed after it is released
    // (the log callback or the row deletion may take other locks).
    std::vector<std::pair<int, std::string>> logs;
    std::vector<int64_t> removed;
    int64_t removed_upto = 0;

    void log(int level, std::string text) { logs.emplace_back(level, std::move(text)); }

    void remove_front_or_at(size_t index) {
        Entry& e = q[index];
        bytes -= std::min(bytes, e.q.bytes);
        if (e.q.rowid) {
            // Removing the head of the queue: every older row of this sink is already removed.
            if (index == 0) removed_upto = std::max(removed_upto, e.q.rowid);
            else removed.push_back(e.q.rowid);
        }
        q.erase(q.begin() + static_cast<std::ptrdiff_t>(index));
    }

    void release_side_effects(std::unique_lock<std::mutex>& lk) {
        if (logs.empty() && removed.empty() && removed_upto == 0) return;
        auto l = std::move(logs);
        auto r = std::move(removed);
        int64_t upto = std::exchange(removed_upto, 0);
        logs.clear();
        removed.clear();
        lk.unlock();
        if (opt.log)
            for (auto& [level, text] : l) opt.log(level, text);
        if ((!r.empty() || upto) && remove_rows) remove_rows(std::move(r), upto);
        lk.lock();
    }

    void on_result(uint64_t seq, uint64_t gen, int32_t status, std::string_view message) {
        std::unique_lock lk(m);
        results.push_back(Result{seq, gen, status, std::string(message)});
        drive(lk);
    }

    // Applies the results, sends what the window allows, performs the side
    // effects. Called by any thread that changed the queue (append, a result,
    // the end of a backoff), under the lock, which it releases around the
    // calls out. One thread drives at a time: one that finds another driving
    // leaves its news for it, since the driver loops until nothing is left,
    // so deliver() is always called in queue order. A result reported from
    // inside deliver() is picked up by the same loop.
    void drive(std::unique_lock<std::mutex>& lk) {
        if (stop_thread) return;
        if (driving) {
            news = true; // the driver takes one more turn for it
            return;
        }
        driving = true;
        const auto resume_before = resume_at;
        for (int turn = 0;; ++turn) {
            news = false;
            apply_results();
            std::vector<Send>& sends = sends_scratch; // only the driver uses it (driving)
            sends.clear();
            if (Clock::now() >= resume_at) take_sends(sends);
            release_side_effects(lk);
            // The lock was released for the side effects: a job appended
            // meanwhile is news too, not only a result.
            if (sends.empty() && results.empty() && !news) break;
            if (!sends.empty()) {
                // Taken sends are delivered before any hand-over: they count as in
                // flight, and one left behind would hold the window shut for good.
                lk.unlock();
                for (size_t i = 0; i < sends.size(); ++i) {
                    const Send& s = sends[i];
                    target.deliver(
                        *s.job,
                        [core = shared_from_this(), seq = s.seq, gen = s.generation](int32_t status,
                                                                                     std::string_view message) {
                            core->on_result(seq, gen, status, message);
                        },
                        i + 1 < sends.size());
                }
                sends.clear(); // the jobs stay in the queue until answered; capacity is kept
                lk.lock();
            }
            if (turn == kMaxTurns) {
                // Results keep coming (a fast sink at full load): hand over to the
                // engine thread rather than keep a publisher or a sink thread here.
                handoff = true;
                break;
            }
        }
        driving = false;
        // close() waits for the window to drain and for the driver to leave;
        // the engine thread waits for a handoff or the end of a new backoff.
        if (closing || handoff || resume_at != resume_before) cv.notify_all();
    }
    static constexpr int kMaxTurns = 16;


    void enforce_bounds() {
        uint64_t dropped_now = 0;
        while ((q.size() > opt.max_events || bytes > opt.max_bytes) && q.size() > sent) {
            remove_front_or_at(sent); // the oldest job not in flight
            ++dropped_now;
        }
        if (dropped_now) {
            counters.dropped += dropped_now;
            if (drop_burst == 0)
                log(PL_LOG_WARN, "outbox for '" + name + "' is full (" + std::to_string(q.size()) + " events, " +
                                     std::to_string(bytes) + " bytes; bounds " + std::to_string(opt.max_events) +
                                     " events, " + std::to_string(opt.max_bytes) +
                                     " bytes): dropping the oldest events");
            drop_burst += dropped_now;
        } else if (drop_burst) {
            log(PL_LOG_WARN, "outbox for '" + name + "': " + std::to_string(drop_burst) +
                                 " oldest events were dropped in the last burst");
            drop_burst = 0;
        }
    }

    // Applies answered results from the head, in order. Stops at the first
    // unanswered job, or at a retry (which schedules a go-back).
    void apply_results() {
        for (auto& r : results) {
            if (outstanding) --outstanding;
            if (r.generation != generation) continue;
            // The queue is in seq order (removals keep it so): a binary search, not a
            // scan of the window per result (a 256-job window made that the sink
            // thread's main cost at full load).
            auto sent_end = q.begin() + static_cast<std::ptrdiff_t>(std::min(sent, q.size()));
            auto it = std::lower_bound(q.begin(), sent_end, r.seq,
                                       [](const Entry& e, uint64_t seq) { return e.seq < seq; });
            if (it != sent_end && it->seq == r.seq) {
                it->has_result = true;
                it->status = r.status;
                it->message = std::move(r.message);
            }
        }
        results.clear();

        while (sent > 0 && !q.empty() && q.front().has_result) {
            Entry& e = q.front();
            switch (classify_status(e.status)) {
            case DeliveryOutcome::delivered:
                ++counters.delivered;
                retry_attempt = 0;
                auth_attempt = 0;
                counters.health = "ok";
                remove_front_or_at(0);
                --sent;
                break;
            case DeliveryOutcome::give_up:
                ++counters.given_up;
                counters.last_error = e.message;
                log(PL_LOG_ERROR, "sink '" + name + "' refused " + event_label(*e.q.job) + " (status " +
                                      std::to_string(e.status) + ": " + e.message + "); giving up on it");
                remove_front_or_at(0);
                --sent;
                break;
            case DeliveryOutcome::retry: {
                ++counters.retried;
                counters.last_error = std::string(without_retry_hint(e.message));
                counters.health = "retrying";
                auto delay = full_jitter_backoff(opt.retry_base, opt.retry_max, retry_attempt++, rng);
                if (int64_t after = parse_retry_after_ms(e.message); after > 0)
                    delay = std::chrono::milliseconds(std::min<int64_t>(after, 3600 * 1000));
                log(PL_LOG_WARN, "sink '" + name + "' could not take " + event_label(*e.q.job) + " (" +
                                     counters.last_error + "); retrying in " + std::to_string(delay.count()) + " ms");
                go_back(delay);
                return;
            }
            case DeliveryOutcome::paused: {
                if (counters.health != "paused")
                    log(PL_LOG_INFO, "sink '" + name + "': " + e.message + "; its deliveries wait for it");
                counters.health = "paused";
                counters.last_error = e.message;
                go_back(std::min(kPausedRecheck, opt.retry_max));
                return;
            }
            case DeliveryOutcome::pause_auth: {
                ++counters.retried;
                counters.last_error = std::string(without_retry_hint(e.message));
                counters.health = "auth_failed";
                auto delay = auth_backoff(opt.auth_retry_base, opt.auth_retry_max, auth_attempt++);
                // The sink may know the pause must be longer: Jeedom bans an IP for its
                // configured ban time after wrong keys, and every request in between
                // extends the ban.
                if (int64_t after = parse_retry_after_ms(e.message); after > delay.count())
                    delay = std::chrono::milliseconds(std::min<int64_t>(after, 24 * 3600 * 1000));
                log(PL_LOG_ERROR, "sink '" + name + "' failed authentication (" + counters.last_error +
                                      "); paused, trying again in " + std::to_string(delay.count() / 1000) + " s");
                go_back(delay);
                return;
            }
            }
        }
    }

    void go_back(std::chrono::milliseconds delay) {
        ++generation;
        sent = 0;
        for (auto& e : q) {
            e.has_result = false;
            e.message.clear();
        }
        resume_at = Clock::now() + delay;
        backoff_pending = true;
    }

    uint32_t window() const { return std::max<uint32_t>(1, target.max_inflight()); }

    bool can_send() const { return !closing && sent < q.size() && outstanding < window(); }

    struct Send {
        std::shared_ptr<const Job> job;
        uint64_t seq;
        uint64_t generation;
    };
    std::vector<Send> sends_scratch; // drive()'s sends of a turn, reused: no allocation per delivery

    void take_sends(std::vector<Send>& out) {
        const int64_t now = now_ms_since_epoch();
        while (can_send()) {
            Entry& e = q[sent];
            const Job& job = *e.q.job;
            if (job.max_age_ms > 0 && (!job.event || job.event->state != State::stop)) {
                int64_t age = now - event_time_ms(e.q);
                if (age > job.max_age_ms) {
                    ++counters.given_up;
                    log(PL_LOG_WARN, "sink '" + name + "': " + event_label(job) + " is " + std::to_string(age) +
                                         " ms old, past its max_age of " + std::to_string(job.max_age_ms) +
                                         " ms; not delivered");
                    remove_front_or_at(sent);
                    continue;
                }
            }
            out.push_back(Send{e.q.job, e.seq, generation});
            ++sent;
            ++outstanding;
        }
    }
};

DeliveryEngine::DeliveryEngine(SinkTarget& target, QueueOptions options, RemoveRows remove_rows)
    : core_(std::make_shared<Core>(target, std::move(options), std::move(remove_rows))) {
    auto core = core_;
    // The engine's own thread only keeps time: it drives the queue when a
    // retry's backoff is over. Everything else is driven by whoever brought
    // news (append, a result), so an event costs no wake-up of this thread.
    thread_ = std::thread([core] {
        std::unique_lock lk(core->m);
        while (!core->stop_thread) {
            if (core->handoff) {
                core->handoff = false;
                core->drive(lk);
            } else if (core->backoff_pending && Clock::now() >= core->resume_at) {
                core->backoff_pending = false;
                core->drive(lk); // a driver already in drive() sees the backoff is over itself
            } else if (core->backoff_pending) {
                core->cv.wait_until(lk, core->resume_at);
            } else {
                core->cv.wait(lk);
            }
        }
    });
    set_thread_name(thread_, "sink:" + core_->name);
}

DeliveryEngine::~DeliveryEngine() { close(std::chrono::milliseconds(0)); }

void DeliveryEngine::append(std::vector<QueuedJob> jobs) { take(jobs); }

void DeliveryEngine::append(QueuedJob job) { take(std::span<QueuedJob>(&job, 1)); }

void DeliveryEngine::take(std::span<QueuedJob> jobs) {
    if (jobs.empty()) return;
    std::unique_lock lk(core_->m);
    for (auto& j : jobs) {
        core_->bytes += j.bytes;
        Entry e;
        e.q = std::move(j);
        e.seq = core_->next_seq++;
        core_->q.push_back(std::move(e));
    }
    core_->enforce_bounds();
    if (t_burst.depth > 0) {
        // Sent at the end of the burst; the queue already holds the jobs in order.
        if (!core_->burst_queued) {
            core_->burst_queued = true;
            t_burst.engines.push_back(core_);
        }
        core_->release_side_effects(lk);
        return;
    }
    core_->drive(lk);
}

void DeliveryEngine::burst_begin() { ++t_burst.depth; }

void DeliveryEngine::burst_end() {
    if (t_burst.depth == 0 || --t_burst.depth > 0) return;
    // Driving may append to other engines (a sink's deliver() reporting at once,
    // which never appends) but never re-enters a burst on this thread.
    auto engines = std::move(t_burst.engines);
    t_burst.engines.clear();
    for (auto& core : engines) {
        std::unique_lock lk(core->m);
        core->burst_queued = false;
        core->drive(lk);
    }
}

void DeliveryEngine::count_dropped(uint64_t n) {
    std::lock_guard lk(core_->m);
    core_->counters.dropped += n;
}

SinkStats DeliveryEngine::stats() const {
    std::lock_guard lk(core_->m);
    SinkStats s = core_->counters;
    s.depth = core_->q.size();
    s.oldest_age_ms = core_->q.empty() ? 0 : std::max<int64_t>(0, now_ms_since_epoch() - core_->q.front().q.enqueued_ms);
    return s;
}

void DeliveryEngine::close(std::chrono::milliseconds grace) {
    {
        std::unique_lock lk(core_->m);
        core_->closing = true;
        core_->counters.health = "paused";
        core_->cv.notify_all();
        // Answers that come in while we wait are applied by whoever brings them, so
        // acknowledged rows are deleted.
        core_->cv.wait_for(lk, grace, [&] { return core_->outstanding == 0 && core_->results.empty(); });
        // A driver may be between taking a job and calling deliver(): the target
        // must not go away under it. deliver() never blocks, so this is short.
        core_->cv.wait(lk, [&] { return !core_->driving; });
        core_->stop_thread = true;
    }
    core_->cv.notify_all();
    if (thread_.joinable()) thread_.join();
}

} // namespace passerelle::kernel
