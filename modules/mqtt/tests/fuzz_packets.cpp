// libFuzzer: the MQTT packet decoder (packets.*) fed what a hostile broker could
// send, in both protocol versions, as a stream: every packet decoded must stay
// inside the input, and a PUBLISH re-encoded must decode to the same message.
#include "packets.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const auto v = (data[0] & 1) ? mqtt::wire::Version::v5 : mqtt::wire::Version::v311;
    std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
    while (!in.empty()) {
        mqtt::wire::Packet p;
        mqtt::wire::Decoded d = mqtt::wire::decode(in, v, p, 1 << 20);
        if (d.status == mqtt::wire::Status::too_large) {
            if (d.consumed <= (1u << 20)) std::abort();
            break;
        }
        if (d.status != mqtt::wire::Status::ok) break;
        if (d.consumed < 2 || d.consumed > in.size()) std::abort();
        if (p.type == mqtt::wire::Type::publish) {
            mqtt::wire::PublishOut o;
            o.topic = p.topic;
            o.payload = p.payload;
            o.qos = p.qos;
            o.retain = p.retain;
            o.dup = p.dup;
            o.packet_id = p.packet_id;
            o.correlation_data = p.correlation_data;
            o.response_topic = p.response_topic;
            std::string out;
            mqtt::wire::encode_publish(out, v, o);
            if (out.size() != mqtt::wire::publish_size(v, o)) std::abort();
            mqtt::wire::Packet back;
            if (mqtt::wire::decode(out, v, back).status != mqtt::wire::Status::ok) std::abort();
            if (back.topic != p.topic || back.payload != p.payload || back.packet_id != p.packet_id ||
                back.correlation_data != p.correlation_data)
                std::abort();
        }
        in.remove_prefix(d.consumed);
    }
    return 0;
}
