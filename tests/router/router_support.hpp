// Small builders shared by the router tests.
#pragma once

#include "router/router.hpp"

#include <catch2/catch.hpp>

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace router_test {

using passerelle::Event;
using passerelle::State;
using passerelle::kernel::Dispatch;
using passerelle::kernel::RouteConfig;

inline RouteConfig route(std::initializer_list<std::pair<const std::string, std::vector<std::string>>> when,
                         std::string to, std::string params_json = "{}") {
    RouteConfig r;
    r.when = when;
    r.to = std::move(to);
    r.params_json = std::move(params_json);
    return r;
}

inline Event event(std::string source, std::string type, State state = State::pulse, int32_t channel = 1) {
    Event e;
    e.id = 1;
    e.source = std::move(source);
    e.module = "hikvision";
    e.type = std::move(type);
    e.code = "code_" + e.type;
    e.channel = channel;
    e.state = state;
    return e;
}

inline std::vector<Dispatch> route_one(passerelle::kernel::Router& r, const Event& e, int64_t now_ns = 0) {
    std::vector<Dispatch> out;
    r.route(e, now_ns, out);
    return out;
}

// The routes' target names, in delivery order.
inline std::vector<std::string> targets(const std::vector<Dispatch>& out) {
    std::vector<std::string> t;
    for (const auto& d : out) t.push_back(*d.to);
    return t;
}

using Names = std::vector<std::string>;

} // namespace router_test
