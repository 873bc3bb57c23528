// libFuzzer target: DHIP framing (chunked), message and event decoding.
#include "dhip.hpp"

#include <cstdint>
#include <string_view>
#include <vector>

using namespace passerelle::dahua;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const std::size_t chunk = 1 + data[0] % 48;
    std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
    dhip::FrameDecoder decoder(4096);
    std::vector<dhip::Frame> frames;
    for (std::size_t i = 0; i < in.size(); i += chunk)
        if (!decoder.feed(in.substr(i, chunk), frames)) break;
    for (const auto& f : frames) {
        (void)dhip::parse_message(f.body);
        (void)dhip::parse_login_challenge(f.body);
        (void)dhip::decode_event_stream(f.body);
    }
    // The raw bytes as a JSON body too (most fuzz inputs never frame correctly).
    (void)dhip::decode_event_stream(in);
    return 0;
}
