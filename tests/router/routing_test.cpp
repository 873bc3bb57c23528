#include "router_support.hpp"

#include <nlohmann/json.hpp>
#include <passerelle/event_json.hpp>

#include <stdexcept>

using namespace router_test;
using passerelle::kernel::make_router;
using passerelle::kernel::RouteIssue;
using passerelle::kernel::validate_route;

TEST_CASE("routing matrix: one route per field kind") {
    std::vector<RouteConfig> routes = {
        route({{"source", {"cam_garage"}}}, "by_source"),
        route({{"source", {"cam_*"}}, {"type", {"motion", "intrusion"}}}, "cams_motion_or_intrusion"),
        route({{"module", {"dahua"}}}, "by_module"),
        route({{"code", {"Video*"}}}, "by_code"),
        route({{"channel", {"2"}}}, "by_channel"),
        route({{"channel", {"1?"}}}, "by_channel_glob"),
        route({{"state", {"stop"}}}, "by_state"),
        route({{"attrs.target", {"human"}}}, "by_target"),
        route({{"attrs.region", {"*"}}}, "has_region"),
        route({{"attrs.region", {""}}}, "no_region"),
        route({{"type", {"*"}}, {"source", {"*"}}}, "everything"),
    };
    auto r = make_router(routes);
    REQUIRE(r->route_count() == routes.size());

    struct Row {
        Event e;
        Names want;
    };
    auto with = [](Event e, auto&& fn) { fn(e); return e; };
    const Row rows[] = {
        {event("cam_garage", "motion"), {"by_source", "cams_motion_or_intrusion", "no_region", "everything"}},
        {event("cam_porch", "intrusion"), {"cams_motion_or_intrusion", "no_region", "everything"}},
        {event("cam_porch", "tamper"), {"no_region", "everything"}},
        {event("door_porch", "motion"), {"no_region", "everything"}},
        {with(event("nvr", "motion"), [](Event& e) { e.module = "dahua"; e.code = "VideoMotion"; }),
         {"by_module", "by_code", "no_region", "everything"}},
        {event("nvr", "motion", State::pulse, 2), {"by_channel", "no_region", "everything"}},
        {event("nvr", "motion", State::pulse, 12), {"by_channel_glob", "no_region", "everything"}},
        {event("nvr", "motion", State::pulse, 22), {"no_region", "everything"}},
        {event("nvr", "motion", State::stop), {"by_state", "no_region", "everything"}},
        {with(event("nvr", "motion"), [](Event& e) { e.attrs = {{"target", "human"}, {"region", "3"}}; }),
         {"by_target", "has_region", "everything"}},
        {with(event("nvr", "motion"), [](Event& e) { e.attrs = {{"target", "vehicle"}, {"region", ""}}; }),
         {"has_region", "no_region", "everything"}},
    };
    for (const auto& row : rows) {
        INFO("event " << passerelle::event_to_json(row.e));
        CHECK(targets(route_one(*r, row.e)) == row.want);
    }
    CHECK(r->matches(0) == 1);  // cam_garage
    CHECK(r->matches(1) == 2);  // cam_garage motion, cam_porch intrusion
    CHECK(r->matches(10) == std::size(rows));
    CHECK(r->matches(99) == 0); // out of range: no crash
}

TEST_CASE("all listed fields must match; any alternative of a field may") {
    auto r = make_router({route(
        {{"source", {"cam_garage", "cam_porch"}}, {"type", {"motion"}}, {"attrs.target", {"human", "vehicle"}}},
        "sink")});
    auto ev = [](std::string src, std::string type, std::string target) {
        Event e = event(std::move(src), std::move(type));
        if (!target.empty()) e.attrs["target"] = target;
        return e;
    };
    CHECK(route_one(*r, ev("cam_garage", "motion", "human")).size() == 1);
    CHECK(route_one(*r, ev("cam_porch", "motion", "vehicle")).size() == 1);
    CHECK(route_one(*r, ev("cam_porch", "motion", "animal")).empty());
    CHECK(route_one(*r, ev("cam_porch", "motion", "")).empty()); // absent attr never matches a non-empty pattern
    CHECK(route_one(*r, ev("cam_back", "motion", "human")).empty());
    CHECK(route_one(*r, ev("cam_garage", "intrusion", "human")).empty());
    CHECK(r->matches(0) == 2);
}

TEST_CASE("every matching route fires in order; final stops evaluation") {
    std::vector<RouteConfig> routes = {
        route({{"type", {"motion"}}}, "first"),
        route({{"source", {"cam_garage"}}}, "second"),
        route({{"source", {"cam_*"}}}, "third"),
        route({}, "catch_all"),
    };
    routes[2].final = true;
    auto r = make_router(routes);
    CHECK(targets(route_one(*r, event("cam_garage", "motion"))) == Names{"first", "second", "third"});
    CHECK(targets(route_one(*r, event("cam_porch", "tamper"))) == Names{"third"});
    CHECK(targets(route_one(*r, event("sip", "call"))) == Names{"catch_all"});
    std::vector<Dispatch> out = route_one(*r, event("cam_garage", "motion"));
    REQUIRE(out.size() == 3);
    CHECK(out[0].route == 0);
    CHECK(out[1].route == 1);
    CHECK(out[2].route == 2);
    CHECK(r->matches(3) == 1);
}

TEST_CASE("a final route that does not match does not stop evaluation") {
    std::vector<RouteConfig> routes = {route({{"type", {"doorbell"}}}, "bell"), route({}, "all")};
    routes[0].final = true;
    auto r = make_router(routes);
    CHECK(targets(route_one(*r, event("cam", "motion"))) == Names{"all"});
    CHECK(targets(route_one(*r, event("cam", "doorbell"))) == Names{"bell"});
}

TEST_CASE("dispatch carries action, params and max_age") {
    RouteConfig rc = route({{"type", {"region_entrance"}}}, "jeedom",
                           R"({"id":"1234","value":"{state|start=1,stop=0}","n":5,"on":true,"nested":{"a":"{type}"},)"
                           R"("list":[1,"x"],"who":"{attrs.caller}","t":"{time}"})");
    rc.action = "set";
    rc.max_age_ms = 30000;
    auto r = make_router({rc});
    Event e = event("cam_garage", "region_entrance", State::start);
    e.time_ns = 1700000000123000000;
    e.attrs["caller"] = "say \"hi\"\nbye";
    auto out = route_one(*r, e);
    REQUIRE(out.size() == 1);
    CHECK(*out[0].to == "jeedom");
    CHECK(*out[0].action == "set");
    CHECK(out[0].max_age_ms == 30000);
    CHECK(out[0].event == nullptr); // the routed event itself
    auto params = nlohmann::json::parse(out[0].params_json);
    CHECK(params["id"] == "1234");
    CHECK(params["value"] == "1");
    CHECK(params["n"] == 5);
    CHECK(params["on"] == true);
    CHECK(params["nested"]["a"] == "{type}"); // nested tables are copied as is
    CHECK(params["list"] == nlohmann::json::parse(R"([1,"x"])"));
    CHECK(params["who"] == "say \"hi\"\nbye");
    CHECK(params["t"] == passerelle::format_rfc3339(e.time_ns));
    // key order as written
    CHECK(out[0].params_json.find("\"id\"") < out[0].params_json.find("\"value\""));

    e.state = State::stop;
    e.attrs.erase("caller");
    auto params2 = nlohmann::json::parse(route_one(*r, e).at(0).params_json);
    CHECK(params2["value"] == "0");
    CHECK(params2["who"] == "");
}

TEST_CASE("default action and empty params") {
    RouteConfig rc = route({}, "log", "");
    auto r = make_router({rc});
    auto out = route_one(*r, event("a", "b"));
    REQUIRE(out.size() == 1);
    CHECK(out[0].action->empty());
    CHECK(out[0].params_json == "{}");
}

TEST_CASE("invalid UTF-8 from a device still yields valid JSON params") {
    auto r = make_router({route({}, "s", R"({"v":"{attrs.name}"})")});
    Event e = event("cam", "motion");
    e.attrs["name"] = std::string("caf\xc3\xa9 \xff\xfe end \xe2\x82", 15); // ends in a truncated 3-byte sequence
    auto out = route_one(*r, e);
    REQUIRE(out.size() == 1);
    auto params = nlohmann::json::parse(out[0].params_json); // throws on invalid UTF-8
    CHECK(params["v"].get<std::string>().rfind("caf\xc3\xa9 ", 0) == 0);
    CHECK(params["v"].get<std::string>().find("\xef\xbf\xbd") != std::string::npos);
}

TEST_CASE("validate_route reports every problem with its key") {
    RouteConfig rc;
    rc.when = {{"colour", {"red"}}, {"type", {"cam_[0-9"}}, {"source", {}}, {"id", {"1"}}, {"attrs.x", {"ok"}}};
    rc.params_json = R"({"a":"{nope}","b":"fine {type}","c":"{state"})";
    rc.throttle_ms = -1;
    std::vector<RouteIssue> issues;
    CHECK_FALSE(validate_route(rc, issues));
    auto has = [&](std::string key, std::string fragment) {
        for (const auto& i : issues)
            if (i.key == key && i.message.find(fragment) != std::string::npos) return true;
        return false;
    };
    CHECK(has("when.colour", "unknown field"));
    CHECK(has("when.id", "unknown field")); // templates may use id, `when` may not
    CHECK(has("when.type", "unclosed '['"));
    CHECK(has("when.source", "empty list"));
    CHECK(has("params.a", "unknown field 'nope'"));
    CHECK(has("params.c", "unclosed"));
    CHECK(has("to", "missing"));
    CHECK(has("throttle", "negative"));
    CHECK(issues.size() == 8);

    issues.clear();
    RouteConfig bad_json = route({}, "x", "[1,2]");
    CHECK_FALSE(validate_route(bad_json, issues));
    REQUIRE(issues.size() == 1);
    CHECK(issues[0].key == "params");
    issues.clear();
    CHECK_FALSE(validate_route(route({}, "x", "{not json"), issues));
    CHECK(issues.at(0).key == "params");

    issues.clear();
    CHECK(validate_route(route({{"attrs.target", {"human", ""}}, {"channel", {"[1-4]"}}}, "x",
                               R"({"v":"{time_local} {attrs.target|*=none}"})"),
                         issues));
    CHECK(issues.empty());
}

TEST_CASE("make_router refuses an unvalidated bad route") {
    CHECK_THROWS_AS(make_router({route({{"type", {"[x"}}}, "s")}), std::invalid_argument);
    CHECK_THROWS_WITH(make_router({route({}, "s"), route({}, "s", R"({"a":"{bad}"})")}),
                      Catch::Contains("route[1].params.a"));
}

TEST_CASE("an empty route table routes nothing") {
    auto r = make_router({});
    CHECK(route_one(*r, event("a", "b")).empty());
    CHECK(r->route_count() == 0);
    CHECK(r->next_deadline_ns() == INT64_MAX);
}

TEST_CASE("the type index keeps route order across typed, glob-typed and untyped routes") {
    std::vector<RouteConfig> routes = {
        route({}, "A_any"),
        route({{"type", {"motion"}}}, "B_motion"),
        route({{"source", {"cam_*"}}}, "C_cams"),
        route({{"type", {"motion", "doorbell"}}}, "D_motion_doorbell"),
        route({{"type", {"mot*"}}}, "E_mot_glob"),
        route({{"type", {"doorbell"}}}, "F_doorbell"),
        route({}, "G_any"),
    };
    auto r = make_router(routes);
    CHECK(targets(route_one(*r, event("cam_1", "motion"))) ==
          Names{"A_any", "B_motion", "C_cams", "D_motion_doorbell", "E_mot_glob", "G_any"});
    CHECK(targets(route_one(*r, event("cam_1", "doorbell"))) ==
          Names{"A_any", "C_cams", "D_motion_doorbell", "F_doorbell", "G_any"});
    CHECK(targets(route_one(*r, event("cam_1", "motorway"))) == Names{"A_any", "C_cams", "E_mot_glob", "G_any"});
    CHECK(targets(route_one(*r, event("pbx", "call"))) == Names{"A_any", "G_any"});
    CHECK(targets(route_one(*r, event("pbx", ""))) == Names{"A_any", "G_any"});

    routes[3].final = true;
    auto f = make_router(routes);
    CHECK(targets(route_one(*f, event("cam_1", "doorbell"))) == Names{"A_any", "C_cams", "D_motion_doorbell"});
    CHECK(targets(route_one(*f, event("x", "tamper"))) == Names{"A_any", "G_any"});
}

TEST_CASE("escaped glob characters in a type stay literal in the index") {
    auto r = make_router({route({{"type", {"a\\*b"}}}, "lit"), route({{"type", {"a*b"}}}, "glob")});
    CHECK(targets(route_one(*r, event("s", "a*b"))) == Names{"lit", "glob"});
    CHECK(targets(route_one(*r, event("s", "axb"))) == Names{"glob"});
}
