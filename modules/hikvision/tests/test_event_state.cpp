// The state machine: folding, stops, synthesized stops, heartbeats, pictures.
#include "event_state.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

using namespace passerelle::hikvision;
using passerelle::Event;
using passerelle::State;

namespace {

constexpr int64_t S = 1'000'000'000;

Notification note(std::string code, Activity a, int channel = 1, std::string region = {}, int64_t t = 0) {
    Notification n;
    n.event.module = "hikvision";
    n.event.code = code;
    n.event.type = std::string(normalize_event_type(code));
    n.event.channel = channel;
    n.event.time_ns = t;
    if (!region.empty()) n.event.attrs["region"] = region;
    n.activity = a;
    n.heartbeat = code == "videoloss" && a == Activity::inactive;
    return n;
}

} // namespace

TEST_CASE("repeats are folded, inactive is a stop", "[hikvision][state]") {
    EventState st({5 * S, 1 * S});
    std::vector<Event> out;
    for (int i = 0; i < 5; ++i) st.on_notification(note("VMD", Activity::active, 1, {}, (100 + i) * S), (100 + i) * S, out);
    REQUIRE(out.size() == 1);
    CHECK(out[0].state == State::start);
    CHECK(out[0].type == "motion");
    CHECK(out[0].time_ns == 100 * S);
    CHECK(out[0].received_ns == 100 * S);
    CHECK(st.active_count() == 1);
    st.on_notification(note("VMD", Activity::inactive, 1, {}, 106 * S), 106 * S, out);
    REQUIRE(out.size() == 2);
    CHECK(out[1].state == State::stop);
    CHECK(out[1].attr("repeats") == "4");
    CHECK(out[1].attr("synthesized") == "false");
    CHECK(out[1].time_ns == 106 * S);
    CHECK(st.active_count() == 0);
    CHECK_FALSE(st.next_deadline().has_value());
}

TEST_CASE("silence past the timeout synthesizes a stop", "[hikvision][state]") {
    EventState st({5 * S, 1 * S});
    std::vector<Event> out;
    st.on_notification(note("VMD", Activity::active, 7, {}, 10 * S), 1000 * S, out);
    st.on_notification(note("VMD", Activity::active, 7, {}, 11 * S), 1001 * S, out);
    REQUIRE(st.next_deadline() == 1006 * S);
    st.poll(1005 * S, out);
    CHECK(out.size() == 1);
    st.poll(1006 * S, out);
    REQUIRE(out.size() == 2);
    CHECK(out[1].state == State::stop);
    CHECK(out[1].channel == 7);
    CHECK(out[1].attr("synthesized") == "true");
    CHECK(out[1].attr("repeats") == "1");
    CHECK(out[1].time_ns == 11 * S); // device time of the last active seen
    CHECK(out[1].received_ns == 1006 * S);
    // A new active after the stop is a new start.
    st.on_notification(note("VMD", Activity::active, 7, {}, 20 * S), 1010 * S, out);
    REQUIRE(out.size() == 3);
    CHECK(out[2].state == State::start);
}

TEST_CASE("the videoloss heartbeat is not an event but ends a real video loss", "[hikvision][state]") {
    EventState st;
    std::vector<Event> out;
    for (int i = 0; i < 3; ++i) st.on_notification(note("videoloss", Activity::inactive), i * 10 * S, out);
    CHECK(out.empty());
    CHECK(st.orphan_stops() == 0);
    st.on_notification(note("videoloss", Activity::active, 2), 40 * S, out);
    st.on_notification(note("videoloss", Activity::inactive, 1), 41 * S, out); // other channel: heartbeat only
    REQUIRE(out.size() == 1);
    st.on_notification(note("videoloss", Activity::inactive, 2), 42 * S, out);
    REQUIRE(out.size() == 2);
    CHECK(out[1].state == State::stop);
    CHECK(out[1].type == "video_loss");
    CHECK(out[1].channel == 2);
}

TEST_CASE("keys: channel, code, region; an inactive without region stops every region", "[hikvision][state]") {
    EventState st;
    std::vector<Event> out;
    st.on_notification(note("linedetection", Activity::active, 1, "1"), 1 * S, out);
    st.on_notification(note("linedetection", Activity::active, 1, "2"), 1 * S, out);
    st.on_notification(note("linedetection", Activity::active, 2, "1"), 1 * S, out);
    st.on_notification(note("VMD", Activity::active, 1), 1 * S, out);
    CHECK(out.size() == 4);
    st.on_notification(note("linedetection", Activity::inactive, 1, "2"), 2 * S, out);
    REQUIRE(out.size() == 5);
    CHECK(out[4].attr("region") == "2");
    st.on_notification(note("linedetection", Activity::inactive, 1), 2 * S, out);
    REQUIRE(out.size() == 6);
    CHECK(out[5].attr("region") == "1");
    CHECK(out[5].channel == 1);
    CHECK(st.active_count() == 2);
    st.on_notification(note("fielddetection", Activity::inactive, 1), 2 * S, out);
    CHECK(out.size() == 6);
    CHECK(st.orphan_stops() == 1);
    st.flush(3 * S, out);
    REQUIRE(out.size() == 8);
    CHECK(out[7].attr("synthesized") == "true");
    CHECK(out[7].attr("reason") == "disconnected");
    CHECK(st.active_count() == 0);
}

TEST_CASE("door and doorbell are pulses; missing device time falls back to receive time", "[hikvision][state]") {
    EventState st;
    std::vector<Event> out;
    auto d = decode_json(hiktest::fixture("pergolafabio-177_DS-K1T502_AccessControllerEvent.json"));
    REQUIRE(d.notifications.size() == 1);
    st.on_notification(d.notifications[0], 5 * S, out);
    st.on_notification(d.notifications[0], 6 * S, out);
    REQUIRE(out.size() == 2);
    CHECK(out[0].state == State::pulse);
    CHECK(out[0].type == "door");
    st.on_notification(note("IO", Activity::none), 9 * S, out);
    REQUIRE(out.size() == 3);
    CHECK(out[2].state == State::pulse);
    CHECK(out[2].time_ns == 9 * S);
}

TEST_CASE("pictures: the announced image attaches to the held event", "[hikvision][state]") {
    EventState st({5 * S, 1 * S});
    std::vector<Event> out;
    auto smart = note("fielddetection", Activity::active, 1, "3");
    smart.pictures_expected = 1;
    st.on_notification(smart, 10 * S, out);
    CHECK(out.empty()); // held for its picture
    CHECK(st.next_deadline() == 11 * S);
    std::string jpeg = "\xFF\xD8 pixels \xFF\xD9";
    st.on_image(jpeg, "image/jpeg", 10 * S, out);
    REQUIRE(out.size() == 1);
    CHECK(out[0].state == State::start);
    CHECK(out[0].attachment_mime == "image/jpeg");
    CHECK(std::string(out[0].attachment.begin(), out[0].attachment.end()) == jpeg);
    st.on_image(jpeg, "image/jpeg", 10 * S, out); // second picture: nothing to attach to
    CHECK(st.orphan_images() == 1);
    // The stop never carries the picture.
    st.on_notification(note("fielddetection", Activity::inactive, 1, "3"), 12 * S, out);
    REQUIRE(out.size() == 2);
    CHECK(out[1].attachment.empty());

    SECTION("no image in time: released bare by poll") {
        auto s2 = note("linedetection", Activity::active, 2, "1");
        s2.pictures_expected = 1;
        st.on_notification(s2, 20 * S, out);
        CHECK(out.size() == 2);
        st.poll(21 * S - 1, out);
        CHECK(out.size() == 2);
        st.poll(21 * S, out);
        REQUIRE(out.size() == 3);
        CHECK(out[2].attachment.empty());
    }
    SECTION("another part first: released bare, order kept") {
        auto s2 = note("linedetection", Activity::active, 2, "1");
        s2.pictures_expected = 1;
        st.on_notification(s2, 20 * S, out);
        st.on_notification(note("VMD", Activity::active, 2), 20 * S, out);
        REQUIRE(out.size() == 4);
        CHECK(out[2].code == "linedetection");
        CHECK(out[3].code == "VMD");
    }
}

TEST_CASE("hold_smart_events: an unannounced picture after a smart start attaches", "[hikvision][state]") {
    EventStateOptions opt{5 * S, 1 * S, true};
    EventState st(opt);
    std::vector<Event> out;
    st.on_notification(note("VMD", Activity::active, 1), 1 * S, out); // not smart: emitted at once
    REQUIRE(out.size() == 1);
    st.on_notification(note("linedetection", Activity::active, 1, "1"), 2 * S, out);
    CHECK(out.size() == 1);
    st.on_image("\xFF\xD8..", "image/jpeg", 2 * S, out);
    REQUIRE(out.size() == 2);
    CHECK(out[1].attachment_mime == "image/jpeg");
    EventState plain({5 * S, 1 * S});
    std::vector<Event> out2;
    plain.on_notification(note("linedetection", Activity::active, 1, "1"), 2 * S, out2);
    CHECK(out2.size() == 1);
    plain.on_image("\xFF\xD8..", "image/jpeg", 2 * S, out2);
    CHECK(plain.orphan_images() == 1);
}
