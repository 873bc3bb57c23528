// Per-part counters (parts, heartbeats, images) reach the host once a second
// for every stream of an io_context together, not at each read. A host
// counter update goes through the device, its instance and the kernel's
// counter table: with 1,000 cameras each of those is cold at every event
// (~6 cache misses and ~300 instructions per event, measured). The module's
// own stats stay exact; the host's counters follow within a second.
//
// Everything runs on the io_context's thread. Asio stays out of this header.
#pragma once

#include <chrono>
#include <memory>

namespace boost::asio {
class io_context;
}

namespace passerelle::hikvision {

inline constexpr std::chrono::milliseconds kCountFlushInterval{1000};

// Something holding counts not yet handed to the host.
class PendingCounts {
public:
    virtual void flush_counts() = 0;

protected:
    ~PendingCounts() = default;
};

// One per io_context, made on first use (a source keeps the reference).
class CountFlusher;
CountFlusher& count_flusher(boost::asio::io_context& io);

// source->flush_counts() runs within kCountFlushInterval on the io_context's
// thread, unless source is gone by then. One timer serves every source.
void flush_counts_soon(CountFlusher& flusher, std::weak_ptr<PendingCounts> source);

} // namespace passerelle::hikvision
