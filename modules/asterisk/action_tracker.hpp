// Matches AMI responses back to the actions waiting for them. Pure: no I/O,
// time is passed in. Every action gets a unique ActionID; its Response (or
// its EventList, or for an async Originate the OriginateResponse event that
// carries the same ActionID) completes it. Deadlines fail it with a timeout;
// a lost connection fails every waiting action at once with a clear error.
#pragma once

#include "ami_packet.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace passerelle::asterisk {

struct ActionResult {
    bool ok = false;
    std::string error;              // one line for a human when !ok
    AmiPacket response;             // the Response packet (empty on timeout/connection loss)
    std::vector<AmiPacket> events;  // EventList items, or the OriginateResponse event
};

class ActionTracker {
public:
    using Clock = std::chrono::steady_clock;
    using Callback = std::function<void(ActionResult&&)>;

    explicit ActionTracker(std::string prefix = "pl") : prefix_(std::move(prefix)) {}

    // A fresh ActionID, unique for this tracker's life ("pl-<salt>-<n>").
    std::string next_id();

    // Waits for the answer to `action_id`. await_event: name of the event that
    // ends the action after a "queued" Success (OriginateResponse for Async).
    void expect(const std::string& action_id, Clock::time_point deadline, Callback done,
                std::string await_event = {});

    // Offers a packet; true when it belonged to a waiting action (consumed).
    bool on_packet(const AmiPacket& p);

    // Fails every action whose deadline passed.
    void expire(Clock::time_point now);
    // Fails every waiting action with `reason` (connection lost, stopping).
    void fail_all(const std::string& reason);
    // Drops one waiting action without calling it back.
    void cancel(const std::string& action_id) { pending_.erase(action_id); }

    std::optional<Clock::time_point> next_deadline() const;
    size_t waiting() const { return pending_.size(); }

private:
    struct Pending {
        Clock::time_point deadline;
        Callback done;
        std::string await_event;
        bool in_list = false;       // EventList: start seen, collecting items
        bool awaiting_event = false; // "queued" seen, waiting for await_event
        ActionResult result;
    };
    void finish(std::map<std::string, Pending>::iterator it, bool ok, std::string error);

    std::string prefix_;
    uint64_t counter_ = 0;
    uint32_t salt_ = 0;
    std::map<std::string, Pending> pending_;
};

} // namespace passerelle::asterisk
