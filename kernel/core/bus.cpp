#include "core/bus.hpp"

#include <passerelle/event_json.hpp>

#include <chrono>
#include <climits>

namespace passerelle::kernel {
namespace {
int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}
} // namespace

Bus::Bus(std::function<uint64_t()> next_id) : next_id_(std::move(next_id)), thread_([this] { run(); }) {}

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
    bool was_empty;
    {
        std::lock_guard lock(mutex_);
        was_empty = queue_.empty();
        queue_.push_back(std::move(event));
        ++enqueued_;
    }
    if (was_empty) cv_.notify_one();
}

void Bus::set_topology(std::shared_ptr<Topology> topology) {
    {
        std::lock_guard lock(mutex_);
        topology_ = std::move(topology);
    }
    cv_.notify_all();
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

bool Bus::drain(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    uint64_t target = enqueued_;
    return drained_cv_.wait_for(lock, timeout, [&] { return processed_ >= target; });
}

uint64_t Bus::route_matches(size_t route) const {
    std::lock_guard lock(const_cast<std::mutex&>(mutex_));
    if (!topology_ || !topology_->router || route >= topology_->router->route_count()) return 0;
    return topology_->router->matches(route);
}

void Bus::run() {
    std::vector<std::shared_ptr<Event>> batch;
    std::vector<Dispatch> scratch;
    std::unique_lock lock(mutex_);
    for (;;) {
        int64_t deadline = topology_ && topology_->router ? topology_->router->next_deadline_ns() : INT64_MAX;
        if (queue_.empty() && !stopping_) {
            if (deadline == INT64_MAX) {
                cv_.wait(lock);
            } else {
                int64_t wait_ns = deadline - now_ns();
                if (wait_ns > 0) cv_.wait_for(lock, std::chrono::nanoseconds(wait_ns));
            }
        }
        if (queue_.empty() && stopping_) break;
        batch.swap(queue_);
        std::shared_ptr<Topology> topo = topology_;
        lock.unlock();

        int64_t now = now_ns();
        for (auto& e : batch) {
            if (topo) dispatch(e, *topo, now, scratch);
            else unrouted_.fetch_add(1, std::memory_order_relaxed);
        }
        if (topo && topo->router) {
            scratch.clear();
            topo->router->poll(now, scratch);
            if (!scratch.empty()) hand_over(scratch, nullptr, *topo);
        }
        size_t n = batch.size();
        batch.clear();

        lock.lock();
        processed_ += n;
        drained_cv_.notify_all();
    }
}

void Bus::dispatch(const std::shared_ptr<Event>& e, Topology& topo, int64_t now, std::vector<Dispatch>& scratch) {
    e->id = next_id_();
    std::shared_ptr<const Event> frozen = e;
    if (topo.router) {
        scratch.clear();
        topo.router->route(*frozen, now, scratch);
        if (scratch.empty()) unrouted_.fetch_add(1, std::memory_order_relaxed);
        else hand_over(scratch, frozen, topo);
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
