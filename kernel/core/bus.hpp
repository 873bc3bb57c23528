// The event bus: any thread publishes; the publishing thread itself numbers
// the event, runs the router and hands the deliveries to the sinks' queues,
// one publisher at a time (a mutex), so an event costs no thread hand-off.
// Nothing in there waits on a sink: queues only append, and a sink's
// deliver() only posts to the sink's own thread. The bus's one thread only
// keeps time, for debounced deliveries that come due later.
#pragma once

#include "delivery/sink_queue.hpp"
#include "router/router.hpp"

#include <passerelle/event.hpp>

#include <atomic>
#include <climits>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace passerelle::kernel {

// What the bus routes with; replaced as a whole on reload.
struct Topology {
    std::unique_ptr<Router> router;
    std::map<std::string, std::shared_ptr<SinkQueue>, std::less<>> sinks;
};

class Bus {
public:
    using Subscriber = std::function<void(const Event&, const std::string& json)>;

    // `next_id` numbers events: unique and increasing across restarts.
    explicit Bus(std::function<uint64_t()> next_id);
    ~Bus(); // stops the timer thread

    void publish(std::shared_ptr<Event> event); // thread-safe, never blocks on a sink
    void set_topology(std::shared_ptr<Topology> topology);
    uint64_t subscribe(Subscriber fn);
    void unsubscribe(uint64_t id);
    // Waits until a publish in progress on another thread has been routed
    // (routing is synchronous: anything published before the call already is).
    bool drain(std::chrono::milliseconds timeout);

    uint64_t published() const { return published_.load(); }
    uint64_t routed() const { return routed_.load(); }
    uint64_t unrouted() const { return unrouted_.load(); }
    uint64_t route_matches(size_t route) const;

private:
    void run_timers();
    void dispatch(const std::shared_ptr<Event>& e, Topology& topo, int64_t now);
    void hand_over(const std::vector<Dispatch>& dispatches, const std::shared_ptr<const Event>& e, Topology& topo);
    void wake_timer_if_sooner(); // under mutex_

    std::function<uint64_t()> next_id_;
    std::mutex mutex_; // routing: the router, the id sequence, the topology
    std::condition_variable cv_;
    std::shared_ptr<Topology> topology_;
    std::vector<Dispatch> scratch_;
    bool stopping_ = false;
    int64_t timer_wakes_at_ns_ = INT64_MAX; // what the timer thread sleeps towards

    std::mutex subscribers_mutex_;
    std::map<uint64_t, Subscriber> subscribers_;
    uint64_t next_subscriber_ = 0;
    std::atomic<size_t> subscriber_count_{0};

    std::atomic<uint64_t> published_{0};
    std::atomic<uint64_t> routed_{0};
    std::atomic<uint64_t> unrouted_{0};
    std::thread thread_;
};

} // namespace passerelle::kernel
