// AMI events -> passerelle events. Pure: packets in, events out, no I/O.
//
// One `call` stream per call, not per channel: channels are grouped by
// Linkedid (Asterisk >= 12) or, on Asterisk 11 (no Linkedid), by Uniqueid
// joined through Dial's DestUniqueID and Bridge's Uniqueid1/Uniqueid2. A call
// starts (state start) when its first channel appears, pulses `status`
// ringing then answered once each, and stops when its last channel hangs up,
// with the cause of the first meaningful Hangup. One `dtmf` per key press
// (DTMFEnd only; the Received/Sent copies on each leg are folded).
// `registration` from PeerStatus (chan_sip), ContactStatus and PJSIP
// DeviceStateChange; `voicemail` from MessageWaiting; `user_event` passes
// UserEvent through. Everything else is ignored quietly.
#pragma once

#include "ami_packet.hpp"

#include <passerelle/event.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace passerelle::asterisk {

// What the actions layer needs to know about a call it placed.
struct CallInfo {
    std::string key;             // Linkedid (or the first Uniqueid on Asterisk 11)
    std::string caller, caller_name, callee, direction, first_channel;
    int answered_dials = 0;      // DialEnd ANSWER count: 2 = the second leg (`to`) answered too
    int channels_up = 0;         // channels that reached state Up
    bool started = false, ringing = false, answered = false, ended = false;
    std::string cause, cause_txt;
    size_t live_channels = 0;
};

class CallTracker {
public:
    explicit CallTracker(size_t max_calls = 10000) : max_calls_(max_calls) {}

    // Feeds one packet; appends the passerelle events it causes to `out`.
    void on_packet(const AmiPacket& p, std::vector<Event>& out);

    // The call a channel (Uniqueid) belongs to, if known. Ended calls are kept
    // a while (see max_calls) so that late lookups still work.
    const CallInfo* find_by_uniqueid(std::string_view uniqueid) const;
    const CallInfo* find(std::string_view key) const;

    // The connection dropped: calls in progress are unknown now. Emits a stop
    // (attrs.synthesized = "true") for every started call so no sink stays at start.
    void connection_lost(std::vector<Event>& out);

    size_t active_calls() const;

private:
    struct Press { std::string digit; int begins = 0, ends = 0; bool emitted = false; };
    struct Call {
        CallInfo info;
        std::map<std::string, std::string, std::less<>> channels; // uniqueid -> channel name (live)
        Press dtmf;
    };

    Call* call_for(const AmiPacket& p, bool create);
    std::string key_of(const AmiPacket& p) const;
    void remember_first(Call& c, const AmiPacket& p);
    void start_call(Call& c, const AmiPacket& p, int64_t t, std::vector<Event>& out);
    void status(Call& c, std::string_view status, std::string_view code, int64_t t, std::vector<Event>& out);
    void hangup(const AmiPacket& p, int64_t t, std::vector<Event>& out);
    void dtmf(const AmiPacket& p, bool begin, bool end, int64_t t, std::vector<Event>& out);
    void registration(const AmiPacket& p, int64_t t, std::vector<Event>& out);
    void evict();
    Event call_event(const Call& c, State s, std::string_view code, int64_t t) const;

    size_t max_calls_;
    std::unordered_map<std::string, Call> calls_;           // by key
    std::unordered_map<std::string, std::string> uniqueid_; // uniqueid -> key
    std::deque<std::string> order_;                         // keys, oldest first (eviction)
    std::map<std::string, std::string, std::less<>> peers_;  // peer -> last registration state+address
    std::map<std::string, std::string, std::less<>> devices_; // PJSIP device -> last state
};

// "1795415199.551234" (Timestamp: header when timestampevents=yes) -> ns, 0 when absent.
int64_t ami_timestamp_ns(const AmiPacket& p);

} // namespace passerelle::asterisk
