// Deterministic cost of the pure per-part path, for callgrind: frames a stream,
// feeds it in 16 KiB reads and runs one stage set per invocation, inside
// measure() so that `--toggle-collect=hik_measure` counts only the hot path:
//   frame   multipart framing
//   decode  framing + decode_part
//   full    framing + decode_part + EventState (as alert_stream.cpp does)
// Streams: "nvr" = the real NVR capture (5581 parts, mostly folded repeats),
// "bench" = the daemon benchmark's parts as one of its streams sends them
// (hikvision_loadgen: the NVR's VMD part, active/inactive alternating, so every
// part is one event: a start, then a stop), "cam" and "ptz" = the other two real
// captures (770 and 1516 parts; CRLF, the camera's with an <Extensions> block).
//   valgrind --tool=callgrind --toggle-collect=hik_measure build/bench/hikvision_instr_bench full bench
// then instructions per part = Ir / parts (printed). Also usable without valgrind.
#include "event_state.hpp"
#include "multipart.hpp"
#include "notification.hpp"
#include "test_support.hpp"

#include <cstdio>
#include <cstring>
#include <string>

using namespace passerelle::hikvision;

namespace {

std::string bench_body(int channel, bool active, long long ts) {
    return "<EventNotificationAlert version=\"1.0\" xmlns=\"http://www.hikvision.com/ver20/XMLSchema\">\n"
           "<ipAddress>127.0.0.1</ipAddress>\n<portNo>80</portNo>\n<protocol>HTTP</protocol>\n"
           "<macAddress>ff:ff:ff:ff:ff:ff</macAddress>\n<dynChannelID>" +
           std::to_string(channel) +
           "</dynChannelID>\n<dateTime>2021-07-02T15:30:56+10:00</dateTime>\n<activePostCount>1</activePostCount>\n"
           "<eventType>VMD</eventType>\n<eventState>" +
           (active ? "active" : "inactive") + "</eventState>\n<eventDescription>bench " + std::to_string(ts) +
           "</eventDescription>\n</EventNotificationAlert>\n";
}

struct Totals {
    size_t parts = 0, notifications = 0, events = 0;
};

} // namespace

// C linkage: a plain symbol for --toggle-collect=hik_measure (which then counts its callees too).
extern "C" __attribute__((noinline)) void hik_measure(const std::string& wire, int stage, int iterations, Totals& t) {
    EventState st;
    std::vector<passerelle::Event> out;
    Decoded d; // reused part after part, as alert_stream.cpp does
    int64_t now = 1'700'000'000'000'000'000;
    for (int it = 0; it < iterations; ++it) {
        MultipartParser p;
        p.set_handlers(
            [&](const PartView& part) {
                ++t.parts;
                if (stage == 0) return;
                now += 1'000'000;
                decode_part(part, DecodeScope::for_event_state, &st, d); // as alert_stream.cpp
                t.notifications += d.notifications.size();
                if (stage == 1) return;
                if (d.notifications.empty()) st.on_other_part(now, out);
                for (auto& n : d.notifications) st.on_notification(std::move(n), now, out);
                t.events += out.size();
                out.clear();
            },
            [](std::string_view) {});
        for (size_t i = 0; i < wire.size(); i += 16384) p.feed(std::string_view(wire).substr(i, 16384));
        p.finish();
    }
}

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s frame|decode|full nvr|bench|cam|ptz [iterations]\n", argv[0]);
        return 2;
    }
    const int stage = std::strcmp(argv[1], "frame") == 0 ? 0 : std::strcmp(argv[1], "decode") == 0 ? 1 : 2;
    const int iterations = argc > 3 ? std::atoi(argv[3]) : 1;
    std::vector<std::string> bodies;
    if (std::strcmp(argv[2], "bench") == 0) {
        // One device (one EventState): its channel alternates active / inactive, as each loadgen stream does.
        for (int i = 0; i < 5000; ++i) bodies.push_back(bench_body(7, i % 2 == 0, 1700000000000000000LL + i));
    } else if (std::strcmp(argv[2], "cam") == 0 || std::strcmp(argv[2], "ptz") == 0) {
        bodies = hiktest::load_samples(std::string("hiksink_samples_") + argv[2] + ".txt");
    } else {
        bodies = hiktest::load_samples("hiksink_samples_nvr.txt");
    }
    std::string wire = hiktest::frame(bodies);
    Totals t;
    hik_measure(wire, stage, iterations, t);
    std::printf("stage %s stream %s: %zu parts, %zu notifications, %zu events\n", argv[1], argv[2], t.parts,
                t.notifications, t.events);
    return 0;
}
