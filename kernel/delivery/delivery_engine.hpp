// The per-sink delivery loop shared by the memory queue and the outbox: a
// FIFO of committed jobs, a window of max_inflight deliveries, results applied
// in order, retries by go-back-N, bounds with drop-oldest.
//
// Go-back-N rather than selective repeat: when job k must be retried, jobs
// k+1.. are sent again after it even if the sink already took them, so the
// sink always ends with the latest state (a `stop` sent before a retried
// `start` would otherwise leave the sink stuck at "start"). At-least-once
// allows the duplicates.
//
// Driven by whoever brings news: append() runs on the thread that routed the
// job (or the outbox writer once it is committed), a result on the sink's
// thread; one of them at a time sends what the window allows, in order.
// deliver() never blocks, so a slow or dead sink holds no thread. Each sink
// also has one thread that only keeps time (the end of a retry backoff) and
// takes over when results pour in at full load; an event at ordinary rates
// costs it no wake-up.
#pragma once

#include "delivery/outbox.hpp"

#include <functional>
#include <memory>
#include <span>
#include <thread>
#include <vector>

namespace passerelle::kernel {

struct QueuedJob {
    std::shared_ptr<const Job> job;
    int64_t rowid = 0;       // outbox row; 0 = memory only (nothing to delete)
    int64_t enqueued_ms = 0; // push time, ms since the epoch
    uint64_t bytes = 0;
};

class DeliveryEngine {
public:
    // Called from the engine's threads with the rows to delete (acknowledged,
    // given up or dropped): `rows` one by one, and every row of this sink up to
    // and including `prefix_upto` (0 = none) — the head of the queue is removed
    // in row order, so a range delete covers most acknowledgements.
    // Must not call back into the engine.
    using RemoveRows = std::function<void(std::vector<int64_t> rows, int64_t prefix_upto)>;

    DeliveryEngine(SinkTarget& target, QueueOptions options, RemoveRows remove_rows);
    ~DeliveryEngine();
    DeliveryEngine(const DeliveryEngine&) = delete;
    DeliveryEngine& operator=(const DeliveryEngine&) = delete;

    void append(std::vector<QueuedJob> jobs); // never blocks on the sink
    void append(QueuedJob job);               // the same for one (a memory queue, per event: no vector)

    // A burst on the calling thread (pl_host_api.burst_begin/end): appends made
    // inside it queue their jobs at once but send them at the outermost end, so
    // one burst of events costs a sink one wake-up. Nestable, per thread.
    static void burst_begin();
    static void burst_end();
    SinkStats stats() const;
    void close(std::chrono::milliseconds grace);
    void count_dropped(uint64_t n); // dropped before reaching the engine (writer overflow)

    struct Core;
private:
    void take(std::span<QueuedJob> jobs); // moves them into the queue
    std::shared_ptr<Core> core_;
    std::thread thread_;
};

int64_t now_ms_since_epoch();

} // namespace passerelle::kernel
