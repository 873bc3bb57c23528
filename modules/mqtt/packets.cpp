#include "packets.hpp"

#include <stdexcept>

namespace mqtt::wire {

namespace {

// MQTT 5 property identifiers this file writes or keeps.
constexpr uint8_t prop_session_expiry = 0x11;
constexpr uint8_t prop_response_topic = 0x08;
constexpr uint8_t prop_correlation_data = 0x09;
constexpr uint8_t prop_reason_string = 0x1F;
constexpr uint8_t prop_receive_maximum = 0x21;
constexpr uint8_t prop_maximum_packet_size = 0x27;

// --- writing -----------------------------------------------------------------

void put_u8(std::string& out, uint8_t b) { out.push_back(static_cast<char>(b)); }
void put_u16(std::string& out, uint16_t v) {
    put_u8(out, static_cast<uint8_t>(v >> 8));
    put_u8(out, static_cast<uint8_t>(v));
}
void put_u32(std::string& out, uint32_t v) {
    put_u16(out, static_cast<uint16_t>(v >> 16));
    put_u16(out, static_cast<uint16_t>(v));
}
size_t varint_size(size_t v) { return v < 128 ? 1 : v < 16384 ? 2 : v < 2097152 ? 3 : 4; }
void put_varint(std::string& out, size_t v) {
    do {
        uint8_t b = v % 128;
        v /= 128;
        if (v) b |= 0x80;
        put_u8(out, b);
    } while (v);
}
// Strings and binary data: a 16-bit length, so at most 65535 bytes (longer is cut:
// topics and ids are checked long before; this only keeps the framing right).
std::string_view clip(std::string_view s) { return s.substr(0, 65535); }
void put_str(std::string& out, std::string_view s) {
    s = clip(s);
    put_u16(out, static_cast<uint16_t>(s.size()));
    out.append(s);
}
void put_header(std::string& out, Type t, uint8_t flags, size_t remaining) {
    put_u8(out, static_cast<uint8_t>(static_cast<uint8_t>(t) << 4 | (flags & 0x0F)));
    put_varint(out, remaining);
}

size_t publish_props_size(const PublishOut& p) {
    size_t n = 0;
    if (!p.correlation_data.empty()) n += 1 + 2 + clip(p.correlation_data).size();
    if (!p.response_topic.empty()) n += 1 + 2 + clip(p.response_topic).size();
    return n;
}

size_t publish_remaining(Version v, const PublishOut& p) {
    size_t n = 2 + clip(p.topic).size() + (p.qos > 0 ? 2 : 0) + p.payload.size();
    if (v == Version::v5) {
        size_t props = publish_props_size(p);
        n += varint_size(props) + props;
    }
    return n;
}

// --- reading -----------------------------------------------------------------

struct Malformed : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A bounds-checked cursor over one packet's body.
struct Reader {
    std::string_view s;
    size_t left() const { return s.size(); }
    bool empty() const { return s.empty(); }
    void need(size_t n, const char* what) const {
        if (s.size() < n) throw Malformed(std::string("truncated ") + what);
    }
    uint8_t u8(const char* what) {
        need(1, what);
        uint8_t b = static_cast<uint8_t>(s[0]);
        s.remove_prefix(1);
        return b;
    }
    uint16_t u16(const char* what) {
        need(2, what);
        uint16_t v = static_cast<uint16_t>(static_cast<uint8_t>(s[0]) << 8 | static_cast<uint8_t>(s[1]));
        s.remove_prefix(2);
        return v;
    }
    uint32_t u32(const char* what) {
        uint32_t hi = u16(what);
        return hi << 16 | u16(what);
    }
    uint32_t varint(const char* what) {
        uint32_t v = 0;
        for (int i = 0; i < 4; ++i) {
            uint8_t b = u8(what);
            v |= static_cast<uint32_t>(b & 0x7F) << (7 * i);
            if (!(b & 0x80)) return v;
        }
        throw Malformed(std::string("variable integer longer than 4 bytes in ") + what);
    }
    std::string_view bytes(size_t n, const char* what) {
        need(n, what);
        std::string_view v = s.substr(0, n);
        s.remove_prefix(n);
        return v;
    }
    std::string_view str(const char* what) { return bytes(u16(what), what); }
};

// Reads MQTT 5 properties; keeps the ones `out` has a field for, skips every
// other known property, refuses an unknown identifier (the spec: malformed).
void read_properties(Reader& r, Packet& out) {
    uint32_t len = r.varint("property length");
    Reader p{r.bytes(len, "properties")};
    while (!p.empty()) {
        uint32_t id = p.varint("property identifier");
        switch (id) {
        // one byte
        case 0x01: case 0x17: case 0x19: case 0x24: case 0x25: case 0x28: case 0x29: case 0x2A:
            p.u8("property");
            break;
        // two bytes
        case 0x13: case 0x22: case 0x23:
            p.u16("property");
            break;
        case prop_receive_maximum:
            out.receive_maximum = p.u16("receive maximum");
            if (out.receive_maximum == 0) throw Malformed("receive maximum of 0");
            break;
        // four bytes
        case 0x02: case 0x18: case prop_session_expiry:
            p.u32("property");
            break;
        case prop_maximum_packet_size:
            out.maximum_packet_size = p.u32("maximum packet size");
            if (out.maximum_packet_size == 0) throw Malformed("maximum packet size of 0");
            break;
        // variable integer
        case 0x0B:
            p.varint("subscription identifier");
            break;
        // UTF-8 string or binary data
        case 0x03: case 0x12: case 0x15: case 0x16: case 0x1A: case 0x1C:
            p.str("property");
            break;
        case prop_response_topic:
            out.response_topic = p.str("response topic");
            break;
        case prop_correlation_data:
            out.correlation_data = p.str("correlation data");
            break;
        case prop_reason_string:
            out.reason_string = p.str("reason string");
            break;
        // string pair
        case 0x26:
            p.str("user property");
            p.str("user property");
            break;
        default:
            throw Malformed("unknown property 0x" + std::to_string(id));
        }
    }
}

void decode_body(Type type, uint8_t flags, Reader r, Version v, Packet& out) {
    const bool v5 = v == Version::v5;
    switch (type) {
    case Type::connack: {
        if (flags) throw Malformed("CONNACK with flags");
        uint8_t ack_flags = r.u8("CONNACK");
        if (ack_flags & 0xFE) throw Malformed("CONNACK with reserved flags");
        out.session_present = ack_flags & 1;
        out.reason = r.u8("CONNACK");
        if (v5) read_properties(r, out);
        break;
    }
    case Type::publish: {
        out.qos = (flags >> 1) & 3;
        if (out.qos == 3) throw Malformed("PUBLISH with QoS 3");
        out.dup = flags & 8;
        out.retain = flags & 1;
        out.topic = r.str("PUBLISH topic");
        if (out.qos > 0) {
            out.packet_id = r.u16("PUBLISH packet id");
            if (out.packet_id == 0) throw Malformed("PUBLISH with packet id 0");
        }
        if (v5) read_properties(r, out);
        if (out.topic.empty()) throw Malformed("PUBLISH without a topic (topic aliases are not accepted)");
        out.payload = r.bytes(r.left(), "payload");
        return; // the payload took the rest
    }
    case Type::puback: case Type::pubrec: case Type::pubrel: case Type::pubcomp: {
        if (flags != (type == Type::pubrel ? 2 : 0)) throw Malformed("acknowledgement with bad flags");
        out.packet_id = r.u16("acknowledgement");
        if (v5 && !r.empty()) {
            out.reason = r.u8("reason code");
            if (!r.empty()) read_properties(r, out);
        }
        break;
    }
    case Type::suback: case Type::unsuback: {
        if (flags) throw Malformed("SUBACK with flags");
        out.packet_id = r.u16("SUBACK");
        if (v5) read_properties(r, out);
        if (type == Type::suback && r.empty()) throw Malformed("SUBACK without a return code");
        while (!r.empty()) out.reason_codes.push_back(r.u8("SUBACK"));
        for (uint8_t c : out.reason_codes)
            if (c >= 0x80) out.reason = c;
        return;
    }
    case Type::pingresp:
        if (flags) throw Malformed("PINGRESP with flags");
        break;
    case Type::disconnect: case Type::auth:
        if (!v5) throw Malformed(type == Type::auth ? "AUTH in MQTT 3.1.1" : "DISCONNECT from a 3.1.1 server");
        if (flags) throw Malformed("DISCONNECT with flags");
        if (!r.empty()) {
            out.reason = r.u8("reason code");
            if (!r.empty()) read_properties(r, out);
        }
        break;
    default:
        throw Malformed("packet type " + std::to_string(static_cast<int>(type)) + " is not sent by a server");
    }
    if (!r.empty()) throw Malformed("trailing bytes in a packet");
}

} // namespace

// --- encoding ----------------------------------------------------------------

void encode_connect(std::string& out, Version v, const Connect& c) {
    const bool v5 = v == Version::v5;
    std::string props;
    if (v5) {
        if (c.session_expiry_s) { put_u8(props, prop_session_expiry); put_u32(props, c.session_expiry_s); }
        if (c.max_packet_size) { put_u8(props, prop_maximum_packet_size); put_u32(props, c.max_packet_size); }
    }
    std::string body;
    put_str(body, "MQTT");
    put_u8(body, static_cast<uint8_t>(v));
    uint8_t flags = 0;
    if (c.clean_start) flags |= 0x02;
    if (c.has_will) flags |= 0x04 | static_cast<uint8_t>((c.will.qos & 3) << 3) | (c.will.retain ? 0x20 : 0);
    if (!c.password.empty()) flags |= 0x40;
    if (!c.user.empty()) flags |= 0x80;
    put_u8(body, flags);
    put_u16(body, c.keepalive_s);
    if (v5) { put_varint(body, props.size()); body += props; }
    put_str(body, c.client_id);
    if (c.has_will) {
        if (v5) put_varint(body, 0); // will properties
        put_str(body, c.will.topic);
        put_str(body, c.will.payload);
    }
    if (!c.user.empty()) put_str(body, c.user);
    if (!c.password.empty()) put_str(body, c.password);
    put_header(out, Type::connect, 0, body.size());
    out += body;
}

size_t publish_size(Version v, const PublishOut& p) {
    size_t rem = publish_remaining(v, p);
    return 1 + varint_size(rem) + rem;
}

void encode_publish(std::string& out, Version v, const PublishOut& p) {
    uint8_t flags = static_cast<uint8_t>((p.qos & 3) << 1) | (p.retain ? 1 : 0) | (p.dup && p.qos > 0 ? 8 : 0);
    put_header(out, Type::publish, flags, publish_remaining(v, p));
    put_str(out, p.topic);
    if (p.qos > 0) put_u16(out, p.packet_id);
    if (v == Version::v5) {
        put_varint(out, publish_props_size(p));
        if (!p.correlation_data.empty()) { put_u8(out, prop_correlation_data); put_str(out, p.correlation_data); }
        if (!p.response_topic.empty()) { put_u8(out, prop_response_topic); put_str(out, p.response_topic); }
    }
    out.append(p.payload);
}

void encode_ack(std::string& out, Type type, uint16_t packet_id) {
    put_header(out, type, type == Type::pubrel ? 2 : 0, 2);
    put_u16(out, packet_id);
}

void encode_subscribe(std::string& out, Version v, uint16_t packet_id,
                      const std::vector<std::pair<std::string, int>>& filters) {
    std::string body;
    put_u16(body, packet_id);
    if (v == Version::v5) put_varint(body, 0);
    for (auto& [filter, qos] : filters) {
        put_str(body, filter);
        put_u8(body, static_cast<uint8_t>(qos & 3));
    }
    put_header(out, Type::subscribe, 2, body.size());
    out += body;
}

void encode_unsubscribe(std::string& out, Version v, uint16_t packet_id, const std::vector<std::string>& filters) {
    std::string body;
    put_u16(body, packet_id);
    if (v == Version::v5) put_varint(body, 0);
    for (auto& f : filters) put_str(body, f);
    put_header(out, Type::unsubscribe, 2, body.size());
    out += body;
}

void encode_pingreq(std::string& out) { put_header(out, Type::pingreq, 0, 0); }

void encode_disconnect(std::string& out, Version) {
    put_header(out, Type::disconnect, 0, 0); // 3.1.1, and 5 with "normal disconnection" (reason omitted)
}

// --- decoding ----------------------------------------------------------------

Decoded decode(std::string_view in, Version v, Packet& out, size_t max_packet) {
    Decoded d;
    if (in.size() < 2) return d;
    const uint8_t first = static_cast<uint8_t>(in[0]);
    // Remaining Length: at most 4 bytes, read before the body is here.
    uint32_t remaining = 0;
    size_t i = 1;
    for (;; ++i) {
        if (i > 4) {
            d.status = Status::malformed;
            d.error = "remaining length longer than 4 bytes";
            return d;
        }
        if (i >= in.size()) return d; // need more
        uint8_t b = static_cast<uint8_t>(in[i]);
        remaining |= static_cast<uint32_t>(b & 0x7F) << (7 * (i - 1));
        if (!(b & 0x80)) break;
    }
    const size_t header = i + 1;
    const size_t total = header + remaining;
    if (total > max_packet && (first >> 4) == static_cast<uint8_t>(Type::publish)) {
        // Read the topic and packet id only (at most 64 KiB), so that it can be acknowledged.
        out = Packet{};
        out.type = Type::publish;
        out.flags = first & 0x0F;
        out.qos = (out.flags >> 1) & 3;
        out.dup = out.flags & 8;
        out.retain = out.flags & 1;
        if (out.qos == 3) {
            d.status = Status::malformed;
            d.error = "PUBLISH with QoS 3";
            return d;
        }
        std::string_view body = in.substr(header);
        if (body.size() < 2) return d;
        const size_t topic_len = static_cast<uint8_t>(body[0]) << 8 | static_cast<uint8_t>(body[1]);
        const size_t need = 2 + topic_len + (out.qos > 0 ? 2 : 0);
        if (need > remaining) {
            d.status = Status::malformed;
            d.error = "truncated PUBLISH topic";
            return d;
        }
        if (body.size() < need) return d;
        out.topic = body.substr(2, topic_len);
        if (out.qos > 0) out.packet_id = static_cast<uint16_t>(static_cast<uint8_t>(body[2 + topic_len]) << 8 |
                                                              static_cast<uint8_t>(body[3 + topic_len]));
        d.status = Status::too_large;
        d.consumed = total;
        d.error = "message of " + std::to_string(total) + " bytes, larger than the limit of " + std::to_string(max_packet);
        return d;
    }
    if (total > max_packet) {
        d.status = Status::malformed;
        d.error = "packet of " + std::to_string(total) + " bytes, larger than the limit of " + std::to_string(max_packet);
        return d;
    }
    if (in.size() < total) return d;
    out = Packet{};
    out.type = static_cast<Type>(first >> 4);
    out.flags = first & 0x0F;
    try {
        decode_body(out.type, out.flags, Reader{in.substr(header, remaining)}, v, out);
    } catch (const Malformed& e) {
        d.status = Status::malformed;
        d.error = e.what();
        return d;
    }
    d.status = Status::ok;
    d.consumed = total;
    return d;
}

std::string reason_text(uint8_t code, Version v) {
    if (v == Version::v311) {
        switch (code) {
        case 0: return "accepted";
        case 1: return "unacceptable protocol version";
        case 2: return "identifier rejected";
        case 3: return "server unavailable";
        case 4: return "bad user name or password";
        case 5: return "not authorized";
        }
    } else {
        switch (code) {
        case 0x00: return "success";
        case 0x10: return "no matching subscribers";
        case 0x80: return "unspecified error";
        case 0x81: return "malformed packet";
        case 0x82: return "protocol error";
        case 0x83: return "implementation specific error";
        case 0x84: return "unsupported protocol version";
        case 0x85: return "client identifier not valid";
        case 0x86: return "bad user name or password";
        case 0x87: return "not authorized";
        case 0x88: return "server unavailable";
        case 0x89: return "server busy";
        case 0x8A: return "banned";
        case 0x8B: return "server shutting down";
        case 0x8C: return "bad authentication method";
        case 0x8D: return "keep alive timeout";
        case 0x8E: return "session taken over";
        case 0x90: return "topic name invalid";
        case 0x93: return "receive maximum exceeded";
        case 0x95: return "packet too large";
        case 0x97: return "quota exceeded";
        case 0x99: return "payload format invalid";
        case 0x9A: return "retain not supported";
        case 0x9B: return "QoS not supported";
        case 0x9C: return "use another server";
        case 0x9D: return "server moved";
        case 0x9F: return "connection rate exceeded";
        }
    }
    return "reason code " + std::to_string(code);
}

bool is_auth_refusal(uint8_t code, Version v) {
    if (v == Version::v311) return code == 4 || code == 5;
    return code == 0x86 || code == 0x87 || code == 0x8A || code == 0x8C;
}

} // namespace mqtt::wire
