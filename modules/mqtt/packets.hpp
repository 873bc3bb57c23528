// MQTT 3.1.1 and 5 packets: encoding (appends bytes to a buffer) and decoding
// (bytes in, one packet out). Pure: no socket, no clock; unit tested and fuzzed
// (fuzz_mqtt_packets), because what the broker sends is untrusted input.
//
// Only what this client needs: it encodes what a client sends (CONNECT,
// PUBLISH, the acks, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT) and decodes
// what a server sends (CONNACK, PUBLISH, the acks, SUBACK, UNSUBACK, PINGRESP,
// DISCONNECT, AUTH). MQTT 5 properties: the ones the module uses are kept
// (session expiry, response topic, correlation data, reason string, receive
// maximum, maximum packet size); every other valid property is skipped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mqtt::wire {

enum class Version : uint8_t { v311 = 4, v5 = 5 };

enum class Type : uint8_t {
    connect = 1, connack, publish, puback, pubrec, pubrel, pubcomp,
    subscribe, suback, unsubscribe, unsuback, pingreq, pingresp, disconnect, auth
};

// The largest Remaining Length the 4-byte variable integer can hold (256 MiB - 1).
constexpr uint32_t max_remaining_length = 268'435'455;

// --- encoding ----------------------------------------------------------------

struct Will {
    std::string topic;
    std::string payload;
    int qos = 1;
    bool retain = true;
};

struct Connect {
    std::string client_id;
    std::string user;      // empty: no user name
    std::string password;  // empty: no password
    bool clean_start = false;
    uint16_t keepalive_s = 60;
    bool has_will = false;
    Will will;
    uint32_t session_expiry_s = 0; // MQTT 5 only (0: not sent)
    uint32_t max_packet_size = 0;  // MQTT 5 only (0: not sent)
};

struct PublishOut {
    std::string_view topic;
    std::string_view payload;
    int qos = 0;
    bool retain = false;
    bool dup = false;
    uint16_t packet_id = 0;          // QoS 1 and 2 only
    std::string_view correlation_data; // MQTT 5 only
    std::string_view response_topic;   // MQTT 5 only
};

void encode_connect(std::string& out, Version v, const Connect& c);
void encode_publish(std::string& out, Version v, const PublishOut& p);
// PUBACK, PUBREC, PUBREL, PUBCOMP with reason "success": the same 4 bytes in 3.1.1 and 5.
void encode_ack(std::string& out, Type type, uint16_t packet_id);
void encode_subscribe(std::string& out, Version v, uint16_t packet_id,
                      const std::vector<std::pair<std::string, int>>& filters);
void encode_unsubscribe(std::string& out, Version v, uint16_t packet_id, const std::vector<std::string>& filters);
void encode_pingreq(std::string& out);
void encode_disconnect(std::string& out, Version v);

// Size in bytes of the PUBLISH encode_publish would make (to check a broker's maximum packet size).
size_t publish_size(Version v, const PublishOut& p);

// --- decoding ----------------------------------------------------------------

// One packet from the server. Only the fields of its type are set.
struct Packet {
    Type type = Type::pingresp;
    uint8_t flags = 0;                // low nibble of the fixed header
    // CONNACK
    bool session_present = false;
    uint16_t receive_maximum = 0;     // MQTT 5; 0 = not given (65535)
    uint32_t maximum_packet_size = 0; // MQTT 5; 0 = not given (no limit)
    // PUBLISH
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
    bool dup = false;
    std::string response_topic;   // MQTT 5
    std::string correlation_data; // MQTT 5
    // PUBLISH (QoS > 0), PUBACK/PUBREC/PUBREL/PUBCOMP, SUBACK, UNSUBACK
    uint16_t packet_id = 0;
    // CONNACK return code / reason code of acks, DISCONNECT, AUTH (0 = success)
    uint8_t reason = 0;
    std::string reason_string;         // MQTT 5
    std::vector<uint8_t> reason_codes; // SUBACK / UNSUBACK (MQTT 5)
};

enum class Status { ok, need_more, malformed, too_large };

struct Decoded {
    Status status = Status::need_more;
    size_t consumed = 0; // bytes of the packet (ok only)
    std::string error;   // malformed: why, one line
};

// Decodes the first packet of `in`. need_more: `in` holds a prefix of a valid
// packet. malformed: the connection must be closed (the reason says why).
// A packet larger than `max_packet` (fixed header included) is refused before
// its body arrives: a PUBLISH is too_large once its topic and packet id are
// read (they are set in `out`; `consumed` is the whole packet's size, more
// than `in` holds: the caller skips it and can still acknowledge it); any
// other packet type is malformed.
Decoded decode(std::string_view in, Version v, Packet& out, size_t max_packet = max_remaining_length + 5);

// Human text for a CONNACK return code (3.1.1) or a reason code (5).
std::string reason_text(uint8_t code, Version v);

// True when a CONNACK refusal is about credentials or rights (then the client waits longer).
bool is_auth_refusal(uint8_t code, Version v);

} // namespace mqtt::wire
