// The pure part of the module's actions: AMI packets built from params
// (originate, play, message, hangup, raw) and the OriginateResponse Reason
// mapping. Bytes in, values out: tested without a socket.
#pragma once

#include "ami_packet.hpp"
#include "call_tracker.hpp"

#include <passerelle/module.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace passerelle::asterisk {

struct ActionDefaults {
    std::string context = "default";
    std::string channel_tech = "SIP";
    std::string caller_id;
    std::chrono::milliseconds timeout{25000}; // ring time of the first phone (+ kOriginateMargin < the API's 30 s)
    std::string message_tech = "pjsip";
    std::string message_from;
    std::vector<std::string> allow_raw;
    std::chrono::milliseconds follow{8000};   // how long to wait for `to` to answer before replying
};

// OriginateResponse comes when the first phone answers, or once the ring time
// (Timeout) is over (Reason 3). The module gives up waiting for it at ring time
// + this margin, so that with the default ring time (25 s) the caller gets the
// outcome (no_answer...) before the control API's default action_timeout (30 s)
// turns it into a 504.
constexpr std::chrono::milliseconds kOriginateMargin{3000};

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

} // namespace passerelle::asterisk
