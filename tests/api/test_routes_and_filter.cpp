#include "api/action_status.hpp"
#include "api/api_routes.hpp"
#include "api/event_filter.hpp"
#include "api/sse_frame.hpp"

#include <passerelle/abi.h>

#include <catch2/catch.hpp>

using namespace passerelle::kernel::api;

TEST_CASE("match_route") {
    CHECK(match_route("GET", "/healthz").endpoint == Endpoint::healthz);
    CHECK(match_route("GET", "/metrics").method_allowed);
    CHECK(match_route("GET", "/api/v1/instances").endpoint == Endpoint::instances);
    CHECK(match_route("GET", "/api/v1/events").endpoint == Endpoint::events);

    auto post = match_route("POST", "/metrics");
    CHECK(post.endpoint == Endpoint::metrics);
    CHECK(!post.method_allowed);
    CHECK(post.allow == "GET");

    auto a = match_route("POST", "/api/v1/instances/cam%5Fgarage/actions/snap%20shot");
    CHECK(a.endpoint == Endpoint::action);
    CHECK(a.method_allowed);
    CHECK(a.instance == "cam_garage");
    CHECK(a.action == "snap shot");
    CHECK(match_route("PUT", "/api/v1/instances/x/actions/y").allow == "GET, POST");
    CHECK(!match_route("get", "/healthz").method_allowed); // methods are case-sensitive

    for (const char* p : {"/", "", "/healthz/", "/api/v1/instances/", "/api/v1/instances/x/actions",
                          "/api/v1/instances/x/actions/", "/api/v1/instances//actions/y",
                          "/api/v1/instances/x/actions/y/z", "/api/v2/instances/x/actions/y", "healthz"}) {
        INFO(p);
        CHECK(match_route("GET", p).endpoint == Endpoint::not_found);
    }
}

TEST_CASE("glob_match") {
    CHECK(glob_match("cam", "cam"));
    CHECK(!glob_match("cam", "cam2"));
    CHECK(glob_match("cam*", "cam"));
    CHECK(glob_match("cam*", "cam_garage"));
    CHECK(glob_match("*garage", "cam_garage"));
    CHECK(glob_match("c*_*e", "cam_garage"));
    CHECK(glob_match("*", ""));
    CHECK(!glob_match("", "x"));
    CHECK(glob_match("", ""));
    CHECK(!glob_match("cam?", "cam1")); // only '*' is special
    CHECK(glob_match("cam?", "cam?"));
    // a pathological pattern is still fast (no exponential backtracking)
    CHECK(!glob_match("*a*a*a*a*a*a*a*a*a*a*b", std::string(5000, 'a')));
}

TEST_CASE("EventFilter from source= and type=") {
    auto f = EventFilter::from_query(parse_query("source=cam*,%20door%20&type=motion&type=doorbell,&other=x"));
    CHECK(f.sources() == std::vector<std::string>{"cam*", "door"});
    CHECK(f.types() == std::vector<std::string>{"motion", "doorbell"});
    CHECK(f.matches("cam_garage", "motion"));
    CHECK(f.matches("door", "doorbell"));
    CHECK(!f.matches("door", "call"));
    CHECK(!f.matches("sip", "motion"));
    EventFilter all = EventFilter::from_query(parse_query("source=&type=,,"));
    CHECK(all.matches("anything", "at_all"));
}

TEST_CASE("SSE frames") {
    CHECK(format_sse_event(42, "motion", R"({"a":1})") == "id: 42\nevent: motion\ndata: {\"a\":1}\n\n");
    CHECK(format_sse_event(1, "bad\ntype", "x") == "id: 1\nevent: bad type\ndata: x\n\n");
    CHECK(format_sse_event(1, "t", "l1\nl2\r\nl3") == "id: 1\nevent: t\ndata: l1\ndata: l2\ndata: l3\n\n");
    CHECK(format_sse_event(1, "t", "") == "id: 1\nevent: t\ndata: \n\n");
    CHECK(format_sse_comment("keepalive") == ": keepalive\n\n");
}

TEST_CASE("pl_status to HTTP") {
    CHECK(http_status_for(PL_OK) == 200);
    CHECK(http_status_for(PL_ERR_INVALID) == 400);
    CHECK(http_status_for(PL_ERR_UNKNOWN_ACTION) == 404);
    CHECK(http_status_for(PL_ERR_AUTH) == 502);
    CHECK(http_status_for(PL_ERR_RETRY) == 503);
    CHECK(http_status_for(PL_ERR_TIMEOUT) == 504);
    CHECK(http_status_for(PL_ERR_PERMANENT) == 502);
    CHECK(http_status_for(PL_ERR_INTERNAL) == 500);
    CHECK(http_status_for(-1) == 500);
    CHECK(status_name(PL_ERR_UNKNOWN_ACTION) == "unknown_action");
    CHECK(status_name(99) == "unknown");
}
