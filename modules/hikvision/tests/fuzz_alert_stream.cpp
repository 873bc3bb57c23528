// libFuzzer target: arbitrary bytes through the whole pure path (multipart
// framing with input-chosen chunking, XML/JSON decoding, the state machine).
// Build: -DPASSERELLE_FUZZ=ON with clang; run: fuzz_alert_stream -max_total_time=60 corpus/
#include "event_state.hpp"
#include "multipart.hpp"
#include "notification.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    // First byte picks the chunk size (1..256) so framing is fuzzed across splits.
    size_t chunk = static_cast<size_t>(data[0]) + 1;
    std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

    passerelle::hikvision::MultipartLimits lim;
    lim.max_text_part = 64 * 1024;
    lim.max_binary_part = 256 * 1024;
    passerelle::hikvision::MultipartParser parser("myboundary", lim);
    passerelle::hikvision::EventState state({3'000'000'000, 1'000'000'000});
    std::vector<passerelle::Event> out;
    int64_t now = 0;
    parser.set_handlers(
        [&](const passerelle::hikvision::PartView& part) {
            now += 500'000'000;
            state.poll(now, out);
            if (part.is_binary()) {
                state.on_image(part.body, part.media_type, now, out);
                return;
            }
            auto decoded = passerelle::hikvision::decode_part(part);
            if (decoded.notifications.empty()) state.on_other_part(now, out);
            for (const auto& n : decoded.notifications) state.on_notification(n, now, out);
        },
        [](std::string_view) {});
    for (size_t i = 0; i < input.size(); i += chunk) parser.feed(input.substr(i, chunk));
    parser.finish();
    state.flush(now, out);
    // Every start must be matched by a stop once flushed.
    size_t starts = 0, stops = 0;
    for (const auto& e : out) {
        starts += e.state == passerelle::State::start;
        stops += e.state == passerelle::State::stop;
    }
    if (starts != stops) __builtin_trap();
    return 0;
}
