// The module's actions: originate, play, message, hangup and a raw action.
// Building the AMI packet from params is pure (build_*, tested without a
// socket); ActionRunner sends it through the session and turns the answer
// (Response, OriginateResponse, the call followed by Linkedid) into a reply.
#pragma once

#include "action_builders.hpp"
#include "ami_session.hpp"
#include "call_tracker.hpp"

#include <passerelle/module.hpp>

#include <chrono>
#include <list>
#include <string>
#include <vector>

namespace passerelle::asterisk {

class ActionRunner {
public:
    ActionRunner(AmiSession& session, const CallTracker& calls, ActionDefaults defaults)
        : session_(session), calls_(calls), d_(std::move(defaults)) {}

    // Handles call.action; false when the action is not one of ours.
    bool handle(passerelle::Call& call);
    // After the call tracker saw new events: settle originates waiting for `to`.
    void on_calls_changed();
    // Periodic: settle follow-ups whose wait is over.
    void tick();
    size_t following() const { return follows_.size(); }
    const ActionDefaults& defaults() const { return d_; }

private:
    struct Follow {
        passerelle::Reply reply;
        nlohmann::json result;
        std::string uniqueid;
        std::chrono::steady_clock::time_point deadline;
    };
    void send_originate(passerelle::Call& call, Fields fields, const std::string& what);
    bool settle(Follow& f, bool final);

    AmiSession& session_;
    const CallTracker& calls_;
    ActionDefaults d_;
    std::list<Follow> follows_;
};

} // namespace passerelle::asterisk
