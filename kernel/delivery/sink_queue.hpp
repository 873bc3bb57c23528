// Per-sink delivery: the bus hands routed events over and never waits; each
// sink takes them in order, a window at a time, and acknowledges each.
// The durable implementation (SQLite outbox) lives beside this header.
#pragma once

#include <passerelle/event.hpp>

#include <cstdint>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace passerelle::kernel {

// One routed delivery waiting for a sink.
struct Job {
    std::shared_ptr<const Event> event;
    std::string action;      // "" = the sink's default action ("deliver")
    std::string params_json; // rendered route params, "{}" when none
    int64_t max_age_ms = 0;  // 0 = no limit; stops are delivered whatever their age
    uint32_t route = 0;
};

// The sink side: the kernel's wrapper around a module instance.
class SinkTarget {
public:
    virtual ~SinkTarget() = default;
    using Done = std::function<void(int32_t status, std::string_view result)>; // pl_status + message
    // Must not block; `done` is called exactly once, from any thread.
    // more_follows: another deliver() to this sink comes right after this one
    // returns (pl_invoke_args.more_follows), so the sink may wait for it.
    virtual void deliver(const Job& job, Done done, bool more_follows) = 0;
    virtual const std::string& sink_name() const = 0;
    virtual uint32_t max_inflight() const = 0;
};

struct SinkStats {
    uint64_t depth = 0;       // waiting, in flight included, uncommitted included
    uint64_t uncommitted = 0; // of depth: accepted but not on disk yet (the next group commit)
    int64_t oldest_age_ms = 0;
    uint64_t delivered = 0;
    uint64_t retried = 0;
    uint64_t given_up = 0;
    uint64_t dropped = 0;
    std::string health = "ok"; // ok, retrying, auth_failed, paused
    std::string last_error;
};

class SinkQueue {
public:
    virtual ~SinkQueue() = default;
    virtual void push(Job job) = 0; // never blocks on the sink
    virtual SinkStats stats() const = 0;
    // Stops taking new deliveries, waits (bounded) for those in flight; what is
    // left stays queued (durable queues keep it on disk for the next start).
    virtual void close(std::chrono::milliseconds grace) = 0;
};

// In-memory queue: in order, retries transient failures with backoff, gives up
// on permanent ones. Used when no state_dir is writable.
std::unique_ptr<SinkQueue> make_memory_sink_queue(SinkTarget& target);

} // namespace passerelle::kernel
