// The three HikSink captures (real part bodies from a DS-2CD2185FWD-I camera,
// an NVR and a PTZ) framed as on the wire and parsed end to end, and the two
// reconstructed wire files fed whole, byte by byte and in random chunks.
// Expected numbers were computed independently with a Python regex script
// over the fixture files while writing this test.
#include "event_state.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

using namespace passerelle::hikvision;
using namespace hiktest;

namespace {

struct Tally {
    size_t parts = 0;
    size_t notifications = 0;
    size_t heartbeats = 0;
    std::map<std::string, size_t> by_code;
    std::map<std::pair<std::string, std::string>, size_t> by_code_state;
    std::map<int, size_t> by_channel;
    std::map<std::string, size_t> by_region;
    std::vector<std::string> errors;
    std::vector<Notification> all;
};

std::string activity_name(Activity a) {
    return a == Activity::active ? "active" : a == Activity::inactive ? "inactive" : "none";
}

Tally tally(const std::vector<Part>& parts) {
    Tally t;
    for (const auto& p : parts) {
        ++t.parts;
        auto d = decode_part(p);
        if (!d.error.empty()) t.errors.push_back(d.error);
        for (auto& n : d.notifications) {
            ++t.notifications;
            if (n.heartbeat) ++t.heartbeats;
            ++t.by_code[n.event.code];
            ++t.by_code_state[{n.event.code, activity_name(n.activity)}];
            ++t.by_channel[n.event.channel];
            if (!n.event.attr("region").empty()) ++t.by_region[std::string(n.event.attr("region"))];
            t.all.push_back(std::move(n));
        }
    }
    return t;
}

struct Replay {
    size_t starts = 0, stops = 0, synthesized = 0, pulses = 0;
    uint64_t folded = 0;
};

// Drives the state machine with the device clock as "now" (monotonic), 5 s timeout.
Replay replay(const std::vector<Notification>& ns) {
    EventState st(EventStateOptions{5'000'000'000, 1'000'000'000});
    std::vector<passerelle::Event> out;
    int64_t now = 0;
    for (const auto& n : ns) {
        now = std::max(now, n.event.time_ns);
        st.poll(now, out);
        st.on_notification(n, now, out);
    }
    st.flush(now, out);
    Replay r;
    for (const auto& e : out) {
        if (e.state == passerelle::State::start) ++r.starts;
        if (e.state == passerelle::State::pulse) ++r.pulses;
        if (e.state == passerelle::State::stop) {
            if (e.attr("synthesized") == "true") ++r.synthesized;
            else ++r.stops;
        }
    }
    r.folded = st.folded();
    return r;
}

} // namespace

TEST_CASE("hiksink camera sample: 770 parts end to end", "[hikvision][samples]") {
    auto bodies = load_samples("hiksink_samples_cam.txt");
    REQUIRE(bodies.size() == 770);
    auto c = parse(frame(bodies), 0, 7);
    REQUIRE(c.errors.empty());
    REQUIRE(c.parts.size() == 770);
    for (size_t i = 0; i < bodies.size(); ++i) REQUIRE(c.parts[i].body == bodies[i]);
    auto t = tally(c.parts);
    CHECK(t.errors.empty());
    CHECK(t.notifications == 770);
    CHECK(t.by_code == std::map<std::string, size_t>{{"videoloss", 349}, {"VMD", 289}, {"linedetection", 132}});
    CHECK(t.by_code_state[{"videoloss", "inactive"}] == 349);
    CHECK(t.by_code_state[{"VMD", "active"}] == 259);
    CHECK(t.by_code_state[{"VMD", "inactive"}] == 30);
    CHECK(t.by_code_state[{"linedetection", "active"}] == 112);
    CHECK(t.by_code_state[{"linedetection", "inactive"}] == 20);
    CHECK(t.heartbeats == 349);
    CHECK(t.by_channel == std::map<int, size_t>{{1, 770}});
    CHECK(t.by_region == std::map<std::string, size_t>{{"1", 112}});
    // 2021-07-02T14:25:36+08:00
    CHECK(t.all.front().event.time_ns == 1625207136LL * 1'000'000'000);
    CHECK(t.all.front().event.attr("device_time") == "2021-07-02T14:25:36+08:00");
    CHECK(t.all.front().event.type == "video_loss");
    auto r = replay(t.all);
    CHECK(r.starts == 50);
    CHECK(r.stops == 50);
    CHECK(r.synthesized == 0);
    CHECK(r.folded == 321);
    CHECK(r.pulses == 0);
}

TEST_CASE("hiksink NVR sample: 5581 parts end to end", "[hikvision][samples]") {
    auto bodies = load_samples("hiksink_samples_nvr.txt");
    REQUIRE(bodies.size() == 5581);
    auto c = parse(frame(bodies), 0, 11, "myboundary"); // NVR declares another boundary
    REQUIRE(c.errors.empty());
    REQUIRE(c.parts.size() == 5581);
    auto t = tally(c.parts);
    CHECK(t.errors.empty());
    CHECK(t.by_code ==
          std::map<std::string, size_t>{{"videoloss", 3062}, {"VMD", 2516}, {"linedetection", 2}, {"fielddetection", 1}});
    CHECK(t.by_code_state[{"videoloss", "active"}] == 3062);
    CHECK(t.heartbeats == 0); // NVR video loss here is real (channel 16, no camera), not the heartbeat
    CHECK(t.by_channel == std::map<int, size_t>{{16, 3062}, {15, 1040}, {7, 719}, {6, 240}, {2, 200},
                                               {4, 165}, {5, 96}, {10, 39}, {3, 20}});
    CHECK(t.all.front().event.time_ns == 1625203856LL * 1'000'000'000);
    auto r = replay(t.all);
    CHECK(r.starts == 83);
    CHECK(r.stops == 0);           // this NVR never sends inactive
    CHECK(r.synthesized == 80 + 3); // 80 by timeout, 3 still active at the end (flush)
    CHECK(r.folded == 5498);
}

TEST_CASE("hiksink PTZ sample: 1516 parts end to end", "[hikvision][samples]") {
    auto bodies = load_samples("hiksink_samples_ptz.txt");
    REQUIRE(bodies.size() == 1516);
    auto c = parse(frame(bodies), 0, 13);
    REQUIRE(c.errors.empty());
    REQUIRE(c.parts.size() == 1516);
    auto t = tally(c.parts);
    CHECK(t.errors.empty());
    CHECK(t.notifications == 1516);
    CHECK(t.by_code == std::map<std::string, size_t>{{"VMD", 1425}, {"videoloss", 75}, {"fielddetection", 16}});
    CHECK(t.heartbeats == 75);
    CHECK(t.by_region == std::map<std::string, size_t>{{"1", 16}});
    CHECK(t.all.front().event.time_ns == 1625211575LL * 1'000'000'000);
    auto r = replay(t.all);
    CHECK(r.starts == 18);
    CHECK(r.stops == 0);
    CHECK(r.synthesized == 17 + 1);
    CHECK(r.folded == 1423);
}

TEST_CASE("reconstructed wire files: whole, byte by byte, random chunks agree", "[hikvision][wire]") {
    struct Case {
        const char* wire;
        const char* samples;
        std::map<std::string, size_t> codes;
    };
    const Case cases[] = {
        {"reconstructed_hiksink_cam_first200_wire.bin", "hiksink_samples_cam.txt",
         {{"videoloss", 91}, {"VMD", 66}, {"linedetection", 43}}},
        {"reconstructed_hiksink_nvr_first200_wire.bin", "hiksink_samples_nvr.txt", {{"videoloss", 109}, {"VMD", 91}}},
    };
    for (const auto& k : cases) {
        INFO(k.wire);
        auto wire = fixture(k.wire);
        auto bodies = load_samples(k.samples);
        bodies.resize(200);
        // The wire file starts with the HTTP response head: the parser learns the
        // boundary from its Content-Type line and skips the rest as preamble.
        auto whole = parse_whole(wire);
        auto bytewise = parse(wire, 1);
        auto chunks = parse(wire, 0, 42, {}, 97);
        auto chunks2 = parse(wire, 0, 4242, {}, 4000);
        REQUIRE(whole.errors.empty());
        REQUIRE(whole.parts.size() == 200);
        for (size_t i = 0; i < 200; ++i) REQUIRE(whole.parts[i].body == bodies[i]);
        for (const auto* other : {&bytewise, &chunks, &chunks2}) {
            REQUIRE(other->errors.empty());
            REQUIRE(other->parts.size() == 200);
            for (size_t i = 0; i < 200; ++i) {
                REQUIRE(other->parts[i].body == whole.parts[i].body);
                REQUIRE(other->parts[i].headers == whole.parts[i].headers);
            }
        }
        auto t = tally(whole.parts);
        CHECK(t.errors.empty());
        CHECK(t.by_code == k.codes);
    }
}
