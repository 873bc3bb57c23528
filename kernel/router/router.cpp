// The router: compiled routes evaluated in order, every match fires (until a
// `final` one), then throttle and debounce per route and key.
#include "router/router.hpp"

#include "router/debounce.hpp"
#include "router/params_renderer.hpp"
#include "router/route_index.hpp"
#include "router/route_matcher.hpp"
#include "router/throttle.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace passerelle::kernel {

using namespace routing;

bool validate_route(const RouteConfig& route, std::vector<RouteIssue>& issues) {
    const size_t before = issues.size();
    std::vector<RouteMatcher::Error> when_errors;
    RouteMatcher matcher;
    RouteMatcher::compile(route.when, matcher, when_errors);
    for (auto& e : when_errors) issues.push_back({std::move(e.key), std::move(e.message)});
    std::vector<ParamsRenderer::Error> param_errors;
    ParamsRenderer params;
    ParamsRenderer::compile(route.params_json, params, param_errors);
    for (auto& e : param_errors) issues.push_back({std::move(e.key), std::move(e.message)});
    if (route.to.empty()) issues.push_back({"to", "missing: the instance the route delivers to"});
    if (route.throttle_ms < 0) issues.push_back({"throttle", "must not be negative"});
    if (route.debounce_ms < 0) issues.push_back({"debounce", "must not be negative"});
    if (route.max_age_ms < 0) issues.push_back({"max_age", "must not be negative"});
    return issues.size() == before;
}

namespace {

constexpr int64_t kMsToNs = 1000000;

struct CompiledRoute {
    RouteMatcher when;
    ParamsRenderer params;
    std::string to;
    std::string action;
    int64_t throttle_ns = 0;
    int64_t debounce_ns = 0;
    int64_t max_age_ms = 0;
    bool final = false;
};

class RouterImpl final : public Router {
public:
    RouterImpl(std::vector<CompiledRoute> routes, int64_t min_throttle_ns, int64_t min_debounce_ns)
        : routes_(std::move(routes)), matches_(routes_.size(), 0), throttled_(routes_.size(), 0),
          throttle_(min_throttle_ns), debounce_(min_debounce_ns) {
        std::vector<std::optional<std::vector<std::string>>> types;
        for (const auto& r : routes_) types.push_back(r.when.literal_types());
        index_.build(types);
    }

    void route(const Event& e, int64_t now_ns, std::vector<Dispatch>& out) override {
        MatchContext ctx(e);
        const bool is_stop = e.state == State::stop;
        for (const uint32_t i : index_.candidates(e.type)) {
            const CompiledRoute& r = routes_[i];
            if (!r.when.matches(ctx)) continue;
            ++matches_[i];
            deliver(i, r, e, is_stop, now_ns, out);
            if (r.final) break;
        }
    }

    void poll(int64_t now_ns, std::vector<Dispatch>& out) override { debounce_.poll(now_ns, out); }
    int64_t next_deadline_ns() const override { return debounce_.next_deadline_ns(); }
    size_t route_count() const override { return routes_.size(); }
    uint64_t matches(size_t route) const override { return route < matches_.size() ? matches_[route] : 0; }
    uint64_t throttled(size_t route) const override { return route < throttled_.size() ? throttled_[route] : 0; }
    size_t tracked_keys() const override { return throttle_.size() + debounce_.size(); }

private:
    void deliver(uint32_t ix, const CompiledRoute& r, const Event& e, bool is_stop, int64_t now_ns,
                 std::vector<Dispatch>& out) {
        if (r.throttle_ns > 0) {
            if (!throttle_.admit(make_key(ix, e), r.throttle_ns, is_stop, now_ns)) {
                ++throttled_[ix];
                return;
            }
        }
        Dispatch d;
        d.route = ix;
        d.to = &r.to;
        d.action = &r.action;
        d.params_json = r.params.render(e);
        d.max_age_ms = r.max_age_ms;
        if (r.debounce_ns > 0) {
            d.event = std::make_shared<const Event>(e);
            debounce_.offer(make_key(ix, e), r.debounce_ns, std::move(d), is_stop, now_ns, out);
            return;
        }
        out.push_back(std::move(d));
    }

    // (route, source, type, code, channel, attrs.region, attrs.target), each
    // part length-prefixed so no value can forge another key. Built in a reused
    // buffer: no allocation once it has grown.
    std::string_view make_key(uint32_t ix, const Event& e) {
        key_.clear();
        auto put_raw = [&](const void* p, size_t n) { key_.append(static_cast<const char*>(p), n); };
        auto put = [&](std::string_view s) {
            const uint32_t n = static_cast<uint32_t>(s.size());
            put_raw(&n, sizeof n);
            key_.append(s);
        };
        put_raw(&ix, sizeof ix);
        put(e.source);
        put(e.type);
        put(e.code);
        put_raw(&e.channel, sizeof e.channel);
        put(e.attr("region"));
        put(e.attr("target"));
        return key_;
    }

    std::vector<CompiledRoute> routes_;
    RouteIndex index_;
    std::vector<uint64_t> matches_;
    std::vector<uint64_t> throttled_;
    Throttle throttle_;
    Debounce debounce_;
    std::string key_;
};

} // namespace

std::unique_ptr<Router> make_router(const std::vector<RouteConfig>& routes) {
    std::vector<CompiledRoute> compiled;
    compiled.reserve(routes.size());
    int64_t min_throttle = std::numeric_limits<int64_t>::max();
    int64_t min_debounce = std::numeric_limits<int64_t>::max();
    for (size_t i = 0; i < routes.size(); ++i) {
        const RouteConfig& rc = routes[i];
        std::vector<RouteIssue> issues;
        if (!validate_route(rc, issues)) {
            std::string msg = "route[" + std::to_string(i) + "]." + issues.front().key + ": " + issues.front().message;
            throw std::invalid_argument(msg);
        }
        CompiledRoute r;
        std::vector<RouteMatcher::Error> when_errors;
        std::vector<ParamsRenderer::Error> param_errors;
        RouteMatcher::compile(rc.when, r.when, when_errors);
        ParamsRenderer::compile(rc.params_json, r.params, param_errors);
        r.to = rc.to;
        r.action = rc.action;
        r.throttle_ns = rc.throttle_ms * kMsToNs;
        r.debounce_ns = rc.debounce_ms * kMsToNs;
        r.max_age_ms = rc.max_age_ms;
        r.final = rc.final;
        if (r.throttle_ns > 0) min_throttle = std::min(min_throttle, r.throttle_ns);
        if (r.debounce_ns > 0) min_debounce = std::min(min_debounce, r.debounce_ns);
        compiled.push_back(std::move(r));
    }
    return std::make_unique<RouterImpl>(std::move(compiled), min_throttle, min_debounce);
}

} // namespace passerelle::kernel
