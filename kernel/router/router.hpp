// Routing: which events go to which instance's action, with which params.
// The router runs under the bus's lock only (one publisher at a time); it is not thread-safe.
#pragma once

#include "config/config.hpp"

#include <passerelle/event.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace passerelle::kernel {

// One delivery decided by a route.
struct Dispatch {
    uint32_t route = 0;          // index of the route that decided it
    const std::string* to = nullptr; // instance name (owned by the router)
    const std::string* action = nullptr; // "" = the sink's default action
    std::string params_json;     // rendered templates, a JSON object
    int64_t max_age_ms = 0;
    // Set by poll() for debounced deliveries: the (copied) event that came due.
    // Null from route(): the delivery is about the event being routed.
    std::shared_ptr<const Event> event;
};

// Glob syntax: `*` any run, `?` one char, `[abc]` / `[a-z]` / `[!x]` classes, `\` escapes.
// Returns false and sets `error` for a malformed pattern (unclosed class, trailing `\`).
bool validate_glob(std::string_view pattern, std::string& error);

// Template syntax (string values of `params`): `{field}`, `{attrs.key}`,
// `{field|a=x,b=y,*=z}` maps values, `{{` and `}}` are literal braces.
bool validate_template(std::string_view text, std::string& error);

// One problem in a route, for the config loader to place at the route's position.
struct RouteIssue {
    std::string key;     // relative to the route: "when.type", "params.value", "to"
    std::string message;
};

// Checks everything make_router relies on: `when` field names (source, module,
// type, code, channel, state, attrs.KEY) and their globs, `params_json` being a
// JSON object whose string values are valid templates, `to` not empty, and
// non-negative durations. Appends every issue found; returns true when none.
bool validate_route(const RouteConfig& route, std::vector<RouteIssue>& issues);

// Routing semantics (details in route_matcher.hpp, throttle.hpp, debounce.hpp):
// - routes are evaluated in order; every matching route fires; a matching
//   route with `final` ends the evaluation;
// - `when`: all listed fields must match, a field matches when any of its
//   globs does; `channel` is matched as decimal text; an absent attrs.KEY
//   matches only the pattern "" (so `attrs.target = "*"` means "present");
// - throttle: one delivery per key per window, a `stop` always passes;
//   debounce: held for the delay, latest wins, a held `stop` is never
//   replaced (flushed first); key = (route, source, type, code, channel,
//   attrs.region, attrs.target); state unseen for > 10 windows is expired.
//   With both set, the throttle applies first.
class Router {
public:
    virtual ~Router() = default;
    // Appends the deliveries for `e`. `now_ns` drives throttle/debounce.
    virtual void route(const Event& e, int64_t now_ns, std::vector<Dispatch>& out) = 0;
    // Debounced deliveries that came due by `now_ns`.
    virtual void poll(int64_t now_ns, std::vector<Dispatch>& out) = 0;
    // Earliest time poll() has something to emit; INT64_MAX when nothing is pending.
    virtual int64_t next_deadline_ns() const = 0;
    virtual size_t route_count() const = 0;
    virtual uint64_t matches(size_t route) const = 0;
    // Deliveries a route's throttle dropped (a count, never a stop).
    virtual uint64_t throttled(size_t /*route*/) const { return 0; }
    // Throttle/debounce keys currently held (bounded: keys unseen for more
    // than 10 windows are expired).
    virtual size_t tracked_keys() const { return 0; }
};

// Routes must have been validated by the config loader (validate_route);
// throws std::invalid_argument naming the route and key otherwise.
std::unique_ptr<Router> make_router(const std::vector<RouteConfig>& routes);

} // namespace passerelle::kernel
