#include "core/timer_service.hpp"

#include <passerelle/thread_name.hpp>

namespace passerelle::kernel {

TimerService::TimerService() : thread_([this] { run(); }) { set_thread_name(thread_, "timers"); }

TimerService::~TimerService() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

uint64_t TimerService::start(std::chrono::milliseconds delay, std::function<void()> fn) {
    if (delay.count() < 0) delay = std::chrono::milliseconds(0);
    std::lock_guard lock(mutex_);
    uint64_t id = ++next_id_;
    auto due = Clock::now() + delay;
    timers_.emplace(id, Timer{due, std::move(fn)});
    order_.emplace(due, id);
    cv_.notify_all();
    return id;
}

void TimerService::cancel(uint64_t id) {
    std::unique_lock lock(mutex_);
    if (auto it = timers_.find(id); it != timers_.end()) {
        order_.erase({it->second.due, id});
        timers_.erase(it);
    }
    // Wait for a callback of this timer that is running right now, unless we are it.
    if (std::this_thread::get_id() != thread_id_)
        idle_cv_.wait(lock, [&] { return running_id_ != id; });
}

void TimerService::run() {
    std::unique_lock lock(mutex_);
    thread_id_ = std::this_thread::get_id();
    while (!stopping_) {
        if (order_.empty()) {
            cv_.wait(lock);
            continue;
        }
        auto [due, id] = *order_.begin();
        if (Clock::now() < due) {
            cv_.wait_until(lock, due);
            continue;
        }
        order_.erase(order_.begin());
        auto node = timers_.extract(id);
        running_id_ = id;
        lock.unlock();
        node.mapped().fn();
        lock.lock();
        running_id_ = 0;
        idle_cv_.notify_all();
    }
}

} // namespace passerelle::kernel
