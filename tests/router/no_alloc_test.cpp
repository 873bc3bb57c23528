// The non-matching path must not allocate: count operator new calls while
// routing events that no route matches. (Replacing the global operator new is
// why this test is its own executable.)
#include "router_support.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<long> g_allocations{0};
}

void* operator new(std::size_t n) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    return std::malloc(n ? n : 1);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

using namespace router_test;
using passerelle::kernel::make_router;

TEST_CASE("routing an event no route matches does not allocate") {
    std::vector<RouteConfig> routes = {
        route({{"source", {"cam_*"}}, {"type", {"motion"}}}, "a", R"({"v":"{state|start=1,stop=0}"})"),
        route({{"type", {"doorbell", "door"}}}, "b"),
        route({{"channel", {"[1-4]"}}, {"source", {"nvr_?"}}}, "c"),
        route({{"attrs.target", {"human"}}, {"attrs.region", {"*"}}}, "d"),
        route({{"attrs.caller", {""}}, {"module", {"asterisk"}}}, "e"),
        route({{"code", {"*Motion*"}}, {"state", {"start"}}}, "f"),
    };
    routes[0].throttle_ms = 1000;
    routes[1].debounce_ms = 1000;
    auto r = make_router(routes);
    Event e = event("cam_garage", "tamper", State::start, 7);
    e.code = "VideoBlind";
    e.attrs = {{"target", "vehicle"}, {"region", "2"}};
    Event other = event("pbx", "call");
    other.attrs["caller"] = "0611223344";
    std::vector<Dispatch> out;
    out.reserve(16);
    const long before = g_allocations.load();
    for (int i = 0; i < 1000; ++i) {
        r->route(e, i, out);
        r->route(other, i, out);
        r->poll(i, out);
    }
    const long after = g_allocations.load();
    CHECK(out.empty());
    CHECK(after - before == 0);
    CHECK(r->matches(0) == 0);

    // Sanity: the counter does see the matching path's allocations.
    Event hit = event("cam_garage", "motion", State::start);
    r->route(hit, 2000, out);
    CHECK(out.size() == 1);
    CHECK(g_allocations.load() > after);
}
