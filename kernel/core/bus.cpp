#include "core/bus.hpp"

#include <passerelle/event_json.hpp>
#include <passerelle/thread_name.hpp>

#include <chrono>
#include <climits>

namespace passerelle::kernel {
namespace {
int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}
} // namespace

Bus::Bus(std::function<uint64_t()> next_id) : next_id_(std::move(next_id)), thread_([this] { run_timers(); }) {
    set_thread_name(thread_, "bus");
}

Bus::~Bus() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

void Bus::publish(std::shared_ptr<Event> event) {
    published_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(mutex_);
    if (topology_) {
        dispatch(event, *topology_, now_ns());
        wake_timer_if_sooner();
    } else {
        unrouted_.fetch_add(1, std::memory_order_relaxed);
    }
}

void Bus::set_topology(std::shared_ptr<Topology> topology) {
    {
        std::lock_guard lock(mutex_);
        topology_ = std::move(topology);
        timer_wakes_at_ns_ = INT64_MIN; // recompute the deadline for the new router
    }
    cv_.notify_all();
}

void Bus::wake_timer_if_sooner() {
    if (!topology_->router) return;
    if (topology_->router->next_deadline_ns() < timer_wakes_at_ns_) cv_.notify_all();
}

uint64_t Bus::subscribe(Subscriber fn) {
    std::lock_guard lock(subscribers_mutex_);
    uint64_t id = ++next_subscriber_;
    subscribers_.emplace(id, std::move(fn));
    subscriber_count_.store(subscribers_.size());
    return id;
}

void Bus::unsubscribe(uint64_t id) {
    std::lock_guard lock(subscribers_mutex_);
    subscribers_.erase(id);
    subscriber_count_.store(subscribers_.size());
}

bool Bus::drain(std::chrono::milliseconds) {
    std::lock_guard lock(mutex_); // a publish in progress holds it until routed
    return true;
}

uint64_t Bus::route_matches(size_t route) const {
    std::lock_guard lock(const_cast<std::mutex&>(mutex_));
    if (!topology_ || !topology_->router || route >= topology_->router->route_count()) return 0;
    return topology_->router->matches(route);
}

// Debounced deliveries come due without a new event: this thread sleeps
// until the router's next deadline and polls it then.
void Bus::run_timers() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        Router* router = topology_ ? topology_->router.get() : nullptr;
        int64_t deadline = router ? router->next_deadline_ns() : INT64_MAX;
        int64_t now = now_ns();
        if (router && deadline <= now) {
            scratch_.clear();
            router->poll(now, scratch_);
            if (!scratch_.empty()) hand_over(scratch_, nullptr, *topology_);
            continue;
        }
        timer_wakes_at_ns_ = deadline;
        if (deadline == INT64_MAX) cv_.wait(lock);
        else cv_.wait_for(lock, std::chrono::nanoseconds(deadline - now));
    }
}

void Bus::dispatch(const std::shared_ptr<Event>& e, Topology& topo, int64_t now) {
    e->id = next_id_();
    std::shared_ptr<const Event> frozen = e;
    if (topo.router) {
        scratch_.clear();
        topo.router->route(*frozen, now, scratch_);
        if (scratch_.empty()) unrouted_.fetch_add(1, std::memory_order_relaxed);
        else hand_over(scratch_, frozen, topo);
    }
    if (subscriber_count_.load(std::memory_order_relaxed) > 0) {
        std::string json = event_to_json(*frozen);
        std::lock_guard lock(subscribers_mutex_);
        for (auto& [id, fn] : subscribers_) fn(*frozen, json);
    }
}

void Bus::hand_over(const std::vector<Dispatch>& dispatches, const std::shared_ptr<const Event>& e, Topology& topo) {
    for (const auto& d : dispatches) {
        auto sink = topo.sinks.find(*d.to);
        if (sink == topo.sinks.end()) continue; // validated config: only when an instance failed to start
        Job job;
        job.event = d.event ? d.event : e;
        if (!job.event) continue;
        job.action = d.action ? *d.action : std::string();
        job.params_json = d.params_json.empty() ? "{}" : d.params_json;
        job.max_age_ms = d.max_age_ms;
        job.route = d.route;
        sink->second->push(std::move(job));
        routed_.fetch_add(1, std::memory_order_relaxed);
    }
}

} // namespace passerelle::kernel
