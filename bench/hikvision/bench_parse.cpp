// Throughput of the pure path on the real NVR capture (5581 parts), framed as
// on the wire and fed in 16 KiB reads: framing only, framing + XML decode, and
// the full path with the state machine. Prints figures; asserts nothing.
// Run: build/bench/hikvision_parse_bench [iterations]
#include "event_state.hpp"
#include "multipart.hpp"
#include "notification.hpp"
#include "test_support.hpp"

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

using namespace passerelle::hikvision;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

template <class OnPart>
size_t run(const std::string& wire, int iterations, OnPart&& on_part) {
    size_t parts = 0;
    for (int it = 0; it < iterations; ++it) {
        MultipartParser p;
        p.set_handlers([&](const PartView& part) { ++parts; on_part(part); }, [](std::string_view) {});
        for (size_t i = 0; i < wire.size(); i += 16384) p.feed(std::string_view(wire).substr(i, 16384));
        p.finish();
    }
    return parts;
}

void report(const char* what, size_t bytes, size_t parts, double secs) {
    std::printf("%-34s %8.1f MB/s %10.0f parts/s  (%zu parts, %.3f s)\n", what, bytes / secs / 1e6, parts / secs, parts,
                secs);
}

} // namespace

int main(int argc, char** argv) {
    int iterations = argc > 1 ? std::atoi(argv[1]) : 20;
    auto bodies = hiktest::load_samples("hiksink_samples_nvr.txt");
    std::string wire = hiktest::frame(bodies);
    size_t total = wire.size() * static_cast<size_t>(iterations);
    std::printf("NVR capture: %zu parts, %zu bytes framed, %d iterations\n", bodies.size(), wire.size(), iterations);

    auto t0 = std::chrono::steady_clock::now();
    size_t n = run(wire, iterations, [](const PartView&) {});
    report("multipart framing", total, n, seconds_since(t0));

    size_t notes = 0;
    t0 = std::chrono::steady_clock::now();
    n = run(wire, iterations, [&](const PartView& p) { notes += decode_part(p).notifications.size(); });
    report("framing + XML decode", total, n, seconds_since(t0));

    EventState st;
    std::vector<passerelle::Event> out;
    int64_t now = 0;
    size_t events = 0;
    t0 = std::chrono::steady_clock::now();
    n = run(wire, iterations, [&](const PartView& p) {
        now += 1'000'000;
        for (auto& note : decode_part(p).notifications) st.on_notification(std::move(note), now, out); // as alert_stream
        events += out.size();
        out.clear();
    });
    report("framing + decode + state machine", total, n, seconds_since(t0));

    // Just the decoder on in-memory bodies.
    t0 = std::chrono::steady_clock::now();
    size_t decoded = 0;
    for (int it = 0; it < iterations; ++it)
        for (const auto& b : bodies) decoded += decode_xml(b).notifications.size();
    report("XML decode only", total, decoded, seconds_since(t0));

    struct rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    std::printf("notifications %zu, events %zu, peak RSS %ld KiB\n", notes, events, ru.ru_maxrss);
    return 0;
}
