// libFuzzer: the AMI packet parser and the call tracker behind it. The input
// is split at its first byte's value so that chunk boundaries vary too.
#include "ami_parser.hpp"
#include "call_tracker.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace passerelle::asterisk;
    AmiParserLimits limits;
    limits.max_line = 4096;
    limits.max_packet = 65536;
    limits.max_fields = 512;
    AmiParser parser(limits);
    CallTracker calls(64);
    std::vector<passerelle::Event> out;
    size_t chunk = size ? (data[0] % 64) + 1 : 1;
    std::string_view all(reinterpret_cast<const char*>(data), size);
    while (!all.empty()) {
        size_t n = std::min(chunk, all.size());
        parser.feed(all.substr(0, n), [&](AmiPacket&& p) {
            calls.on_packet(p, out);
            if (out.size() > 1000) out.clear();
        });
        all.remove_prefix(n);
        if (parser.buffered() > limits.max_line + limits.max_packet + 64) __builtin_trap(); // bounded memory
    }
    return 0;
}
