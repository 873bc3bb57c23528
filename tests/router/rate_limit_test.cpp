// Throttle and debounce through the router, driven by explicit now_ns values.
#include "router_support.hpp"

#include <nlohmann/json.hpp>

using namespace router_test;
using passerelle::kernel::make_router;

namespace {
constexpr int64_t ms = 1000000;

RouteConfig throttled(int64_t throttle_ms) {
    RouteConfig r = route({{"source", {"cam_*"}}}, "sink", R"({"s":"{state}","id":"{id}"})");
    r.throttle_ms = throttle_ms;
    return r;
}
RouteConfig debounced(int64_t debounce_ms) {
    RouteConfig r = route({{"source", {"cam_*"}}}, "sink", R"({"s":"{state}","id":"{id}"})");
    r.debounce_ms = debounce_ms;
    return r;
}
Event ev(State s, uint64_t id, std::string source = "cam_garage") {
    Event e = event(std::move(source), "motion", s);
    e.id = id;
    return e;
}
std::string param(const Dispatch& d, const char* key) { return nlohmann::json::parse(d.params_json)[key]; }
} // namespace

TEST_CASE("throttle: one delivery per key per window") {
    auto r = make_router({throttled(1000)});
    CHECK(route_one(*r, ev(State::pulse, 1), 0).size() == 1);
    CHECK(route_one(*r, ev(State::pulse, 2), 100 * ms).empty());
    CHECK(route_one(*r, ev(State::pulse, 3), 999 * ms).empty());
    auto out = route_one(*r, ev(State::pulse, 4), 1000 * ms);
    REQUIRE(out.size() == 1);
    CHECK(param(out[0], "id") == "4");
    CHECK(r->throttled(0) == 2);
    CHECK(r->matches(0) == 4);
}

TEST_CASE("throttle: keys are per source/type/code/channel/region/target") {
    auto r = make_router({throttled(1000)});
    CHECK(route_one(*r, ev(State::pulse, 1, "cam_a"), 0).size() == 1);
    CHECK(route_one(*r, ev(State::pulse, 2, "cam_b"), 1).size() == 1); // other source
    Event other_channel = ev(State::pulse, 3, "cam_a");
    other_channel.channel = 2;
    CHECK(route_one(*r, other_channel, 2).size() == 1);
    Event region = ev(State::pulse, 4, "cam_a");
    region.attrs["region"] = "1";
    CHECK(route_one(*r, region, 3).size() == 1);
    Event target = region;
    target.attrs["target"] = "human";
    CHECK(route_one(*r, target, 4).size() == 1);
    Event other_attr = ev(State::pulse, 5, "cam_a");
    other_attr.attrs["caller"] = "x"; // not part of the key
    CHECK(route_one(*r, other_attr, 5).empty());
    CHECK(route_one(*r, ev(State::pulse, 6, "cam_a"), 6).empty());
}

TEST_CASE("throttle never swallows a stop") {
    auto r = make_router({throttled(2000)});
    CHECK(route_one(*r, ev(State::start, 1), 0).size() == 1);
    CHECK(route_one(*r, ev(State::start, 2), 10 * ms).empty());
    auto stop = route_one(*r, ev(State::stop, 3), 20 * ms);
    REQUIRE(stop.size() == 1);
    CHECK(param(stop[0], "s") == "stop");
    // many stops inside one window: all pass
    for (int i = 0; i < 5; ++i) CHECK(route_one(*r, ev(State::stop, 10 + i), (30 + i) * ms).size() == 1);
    // a stop does not use up the window of the next start once it reopens
    CHECK(route_one(*r, ev(State::start, 20), 2000 * ms).size() == 1);
    // a first-ever stop passes and does not block the start right after it
    auto r2 = make_router({throttled(2000)});
    CHECK(route_one(*r2, ev(State::stop, 1), 0).size() == 1);
    CHECK(route_one(*r2, ev(State::start, 2), 1 * ms).size() == 1);
    CHECK(r->throttled(0) == 1);
}

TEST_CASE("debounce: delayed, latest wins, comes out through poll") {
    auto r = make_router({debounced(500)});
    CHECK(route_one(*r, ev(State::pulse, 1), 0).empty());
    CHECK(r->next_deadline_ns() == 500 * ms);
    CHECK(route_one(*r, ev(State::pulse, 2), 100 * ms).empty());
    CHECK(route_one(*r, ev(State::start, 3), 200 * ms).empty());
    CHECK(r->next_deadline_ns() == 700 * ms); // restarted by the newest

    std::vector<Dispatch> out;
    r->poll(699 * ms, out);
    CHECK(out.empty());
    r->poll(700 * ms, out);
    REQUIRE(out.size() == 1);
    CHECK(param(out[0], "id") == "3");
    CHECK(*out[0].to == "sink");
    REQUIRE(out[0].event != nullptr);
    CHECK(out[0].event->id == 3);
    CHECK(out[0].event->state == State::start);
    CHECK(r->next_deadline_ns() == INT64_MAX);
    out.clear();
    r->poll(10000 * ms, out);
    CHECK(out.empty()); // emitted once
}

TEST_CASE("debounce: a pending stop is never replaced, it is emitted first") {
    auto r = make_router({debounced(500)});
    CHECK(route_one(*r, ev(State::start, 1), 0).empty());
    CHECK(route_one(*r, ev(State::stop, 2), 100 * ms).empty()); // start replaced by stop: latest wins
    auto out = route_one(*r, ev(State::start, 3), 200 * ms);    // the held stop is flushed first
    REQUIRE(out.size() == 1);
    CHECK(param(out[0], "s") == "stop");
    REQUIRE(out[0].event != nullptr);
    CHECK(out[0].event->id == 2);
    // the new start is held
    CHECK(r->next_deadline_ns() == 700 * ms);
    std::vector<Dispatch> later;
    r->poll(700 * ms, later);
    REQUIRE(later.size() == 1);
    CHECK(param(later[0], "s") == "start");

    // stop followed by stop: both are delivered
    CHECK(route_one(*r, ev(State::stop, 4), 1000 * ms).empty());
    auto again = route_one(*r, ev(State::stop, 5), 1100 * ms);
    REQUIRE(again.size() == 1);
    CHECK(again[0].event->id == 4);
    later.clear();
    r->poll(1600 * ms, later);
    REQUIRE(later.size() == 1);
    CHECK(later[0].event->id == 5);
}

TEST_CASE("debounce: keys are independent and poll emits in due order") {
    auto r = make_router({debounced(500)});
    CHECK(route_one(*r, ev(State::start, 1, "cam_a"), 0).empty());
    CHECK(route_one(*r, ev(State::start, 2, "cam_b"), 100 * ms).empty());
    CHECK(route_one(*r, ev(State::start, 3, "cam_a"), 200 * ms).empty()); // cam_a now due at 700
    std::vector<Dispatch> out;
    r->poll(1000 * ms, out);
    REQUIRE(out.size() == 2);
    CHECK(out[0].event->id == 2); // due 600
    CHECK(out[1].event->id == 3); // due 700
}

TEST_CASE("throttle, debounce and plain routes side by side") {
    RouteConfig t = throttled(1000);
    t.to = "throttled";
    RouteConfig d = debounced(300);
    d.to = "debounced";
    auto r = make_router({t, d, route({}, "plain")});
    CHECK(targets(route_one(*r, ev(State::start, 1), 0)) == Names{"throttled", "plain"});
    CHECK(targets(route_one(*r, ev(State::start, 2), 10 * ms)) == Names{"plain"});
    std::vector<Dispatch> out;
    r->poll(310 * ms, out);
    CHECK(targets(out) == Names{"debounced"});
    CHECK(out.at(0).route == 1);
}

TEST_CASE("state for keys unseen for more than 10 windows is expired") {
    auto r = make_router({throttled(100)});
    for (int i = 0; i < 50; ++i) route_one(*r, ev(State::pulse, i, "cam_" + std::to_string(i)), i * ms);
    CHECK(r->tracked_keys() == 50);
    // 10 windows later, one fresh key keeps being seen; the old ones go.
    route_one(*r, ev(State::pulse, 100, "cam_fresh"), 1060 * ms);
    CHECK(r->tracked_keys() == 1);

    auto d = make_router({debounced(100)});
    for (int i = 0; i < 20; ++i) route_one(*d, ev(State::pulse, i, "cam_" + std::to_string(i)), 0);
    CHECK(d->tracked_keys() == 20);
    std::vector<Dispatch> out;
    d->poll(100 * ms, out);
    CHECK(out.size() == 20);
    CHECK(d->tracked_keys() == 20); // seen 100 ms ago: kept
    d->poll(1101 * ms, out);
    CHECK(d->tracked_keys() == 0);
}

TEST_CASE("debounce never expires a key with something held") {
    auto r = make_router({debounced(100)});
    route_one(*r, ev(State::stop, 1), 0);
    // A poll far in the future: the held stop is emitted, never lost to expiry.
    std::vector<Dispatch> out;
    r->poll(1000000 * ms, out);
    REQUIRE(out.size() == 1);
    CHECK(param(out[0], "s") == "stop");
}

TEST_CASE("memory stays bounded under many distinct keys") {
    auto r = make_router({throttled(10)});
    int64_t now = 0;
    for (int i = 0; i < 100000; ++i) {
        now += ms / 10; // 10,000 events per second
        route_one(*r, ev(State::pulse, i, "cam_" + std::to_string(i)), now);
    }
    // 10 windows = 100 ms = 1,000 events; sweeps every window: at most ~1,100 keys held.
    CHECK(r->tracked_keys() <= 1200);
    CHECK(r->tracked_keys() >= 1000);
}
