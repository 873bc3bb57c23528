// Per-sink delivery: the bus hands routed events over and never waits; each
// sink takes them in order, one window at a time, and acknowledges each.
#pragma once

#include <passerelle/event.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace passerelle::kernel {

struct Job {
    std::shared_ptr<const Event> event;
    std::string action;      // "" = deliver
    std::string params_json; // "{}" when none
    int64_t max_age_ms = 0;
    uint32_t route = 0;
};

class SinkQueue {
public:
    virtual ~SinkQueue() = default;
    virtual void push(Job job) = 0; // never blocks on the sink
    virtual size_t depth() const = 0;
};

} // namespace passerelle::kernel
