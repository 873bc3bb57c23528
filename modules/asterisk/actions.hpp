// The module's actions: originate, play, message, hangup and a raw action.
// Building the AMI packet from params is pure (build_*, tested without a
// socket); ActionRunner sends it through the session and turns the answer
// (Response, OriginateResponse, the call followed by Linkedid) into a reply.
#pragma once

#include "ami_session.hpp"
#include "call_tracker.hpp"

#include <passerelle/module.hpp>

#include <chrono>
#include <list>
#include <string>
#include <vector>

namespace passerelle::asterisk {

struct ActionDefaults {
    std::string context = "default";
    std::string channel_tech = "SIP";
    std::string caller_id;
    std::chrono::milliseconds timeout{30000}; // ring time of the first phone
    std::string message_tech = "pjsip";
    std::string message_from;
    std::vector<std::string> allow_raw;
    std::chrono::milliseconds follow{8000};   // how long to wait for `to` to answer before replying
};

// Raised for bad params (becomes PL_ERR_INVALID naming the param).
using passerelle::ConfigError;

// "100" -> "SIP/100" (channel_tech), "Local" -> "Local/100@context", "PJSIP/x" kept as given.
std::string dial_channel(const std::string& target, const std::string& tech, const std::string& context);
Fields build_originate(const passerelle::Fields& params, const ActionDefaults& d);
Fields build_play(const passerelle::Fields& params, const ActionDefaults& d);
Fields build_message(const passerelle::Fields& params, const ActionDefaults& d);
Fields build_hangup(const passerelle::Fields& params, const CallTracker& calls);
Fields build_raw(const passerelle::Fields& params, const ActionDefaults& d);
std::string base64(std::string_view bytes);

// OriginateResponse Reason -> outcome word ("answered", "busy", "no_answer", "congestion", "failed").
std::string originate_outcome(std::string_view reason);

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
