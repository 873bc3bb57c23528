// The client side of an MQTT session, without I/O: the queue of messages not
// yet sent, the in-flight window keyed by packet id (an acknowledgement is
// O(1), whatever the window), packet id allocation, and what happens to
// unacknowledged messages when a connection drops. Unit tested alone.
//
// Order and loss: messages are encoded in push order. When the connection
// drops, every unacknowledged message goes back to the head of the queue in its
// order, so the next connection sends it first and nothing can overtake. If the
// broker kept the session (CONNACK session present), they are sent again with
// their packet id and DUP set, as MQTT requires; otherwise as new messages.
#pragma once

#include "messages.hpp"
#include "packets.hpp"

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace mqtt {

class Session {
public:
    explicit Session(wire::Version v) : version_(v) {}

    void push(OutMessage message, Done done);
    // Ahead of everything queued (the "online" status on a new connection).
    void push_front(OutMessage message, Done done);

    // A connection is up (CONNACK accepted). receive_maximum / max_packet: the
    // broker's limits (0 = none given).
    void connected(bool session_present, uint16_t receive_maximum, uint32_t max_packet);
    // The connection is gone: unacknowledged messages go back to the head of the queue.
    void disconnected();

    // Encodes into `out` as many queued messages as the window allows, moving
    // QoS 1/2 ones in flight. QoS 0 ones are answered ok once encoded; a message
    // the broker could never take (too large, bad topic) is answered with an error.
    // Returns the number of messages encoded.
    size_t fill(std::string& out);

    // Acknowledgements from the broker. Unknown packet ids are ignored (false).
    bool on_puback(uint16_t packet_id, uint8_t reason, const std::string& reason_string);
    // QoS 2, first half: true when the caller must send PUBREL.
    bool on_pubrec(uint16_t packet_id, uint8_t reason, const std::string& reason_string);
    bool on_pubcomp(uint16_t packet_id, uint8_t reason, const std::string& reason_string);

    // A packet id for a SUBSCRIBE/UNSUBSCRIBE, never one in flight.
    uint16_t next_packet_id();

    bool is_connected() const { return connected_; }
    size_t waiting() const { return waiting_.size(); }
    size_t in_flight() const { return in_flight_.size(); }

private:
    struct Pending {
        OutMessage msg;
        Done done;
        uint64_t seq = 0;
        uint16_t packet_id = 0; // kept across a reconnect with session present
        bool sent_before = false;
    };
    bool finish(uint16_t packet_id, uint8_t reason, const std::string& reason_string);

    wire::Version version_;
    bool connected_ = false;
    bool session_present_ = false;
    size_t window_ = 65535;
    uint32_t max_packet_ = 0;
    uint16_t last_id_ = 0;
    uint64_t seq_ = 0;
    std::deque<Pending> waiting_;
    std::unordered_map<uint16_t, Pending> in_flight_;
    std::unordered_set<uint16_t> reserved_; // ids of requeued messages to be sent again with DUP
};

} // namespace mqtt
