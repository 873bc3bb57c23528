#include "router/route_matcher.hpp"

#include <algorithm>
#include <charconv>

namespace passerelle::kernel::routing {

std::string_view MatchContext::channel_text() {
    if (!channel_ready_) {
        auto r = std::to_chars(channel_buf_, channel_buf_ + sizeof channel_buf_, e.channel);
        channel_len_ = static_cast<size_t>(r.ptr - channel_buf_);
        channel_ready_ = true;
    }
    return {channel_buf_, channel_len_};
}

namespace {
// Lower runs first: short, selective fields before the map look-ups.
int cost_rank(Field f) {
    switch (f) {
    case Field::type: return 0;
    case Field::source: return 1;
    case Field::code: return 2;
    case Field::module: return 3;
    case Field::state: return 4;
    case Field::channel: return 5;
    default: return 6;
    }
}
} // namespace

bool RouteMatcher::compile(const std::map<std::string, std::vector<std::string>>& when, RouteMatcher& out,
                           std::vector<Error>& errors) {
    const size_t before = errors.size();
    RouteMatcher m;
    for (const auto& [name, patterns] : when) {
        const std::string key = "when." + name;
        Test t;
        if (!parse_field(name, t.field) || !is_matchable(t.field.field)) {
            errors.push_back({key, "unknown field '" + name + "' (known: " + std::string(known_when_fields()) + ")"});
            continue;
        }
        if (patterns.empty()) {
            errors.push_back({key, "empty list: no value could ever match"});
            continue;
        }
        bool always = false;
        for (size_t i = 0; i < patterns.size(); ++i) {
            Glob g;
            std::string error;
            if (!Glob::compile(patterns[i], g, error)) {
                errors.push_back({patterns.size() > 1 ? key + "[" + std::to_string(i) + "]" : key,
                                  "bad pattern '" + patterns[i] + "': " + error});
                continue;
            }
            if (t.field.field == Field::attr && patterns[i].empty()) t.absent_ok = true;
            if (g.shape() == Glob::Shape::any) always = true;
            t.alternatives.push_back(std::move(g));
        }
        // `*` on a field every event has: the test cannot fail, drop it.
        if (always && t.field.field != Field::attr) continue;
        if (always) { // attrs.KEY = "*": presence is the whole test
            Glob any;
            std::string unused;
            Glob::compile("*", any, unused);
            t.alternatives.assign(1, std::move(any));
        }
        m.tests_.push_back(std::move(t));
    }
    if (errors.size() != before) return false;
    std::stable_sort(m.tests_.begin(), m.tests_.end(),
                     [](const Test& a, const Test& b) { return cost_rank(a.field.field) < cost_rank(b.field.field); });
    out = std::move(m);
    return true;
}

std::optional<std::vector<std::string>> RouteMatcher::literal_types() const {
    for (const auto& t : tests_) {
        if (t.field.field != Field::type) continue;
        std::vector<std::string> words;
        for (const auto& g : t.alternatives) {
            if (g.shape() != Glob::Shape::exact) return std::nullopt;
            words.push_back(g.literal());
        }
        return words;
    }
    return std::nullopt;
}

bool RouteMatcher::matches(MatchContext& ctx) const {
    const Event& e = ctx.e;
    for (const auto& t : tests_) {
        std::string_view text;
        switch (t.field.field) {
        case Field::source: text = e.source; break;
        case Field::module: text = e.module; break;
        case Field::type: text = e.type; break;
        case Field::code: text = e.code; break;
        case Field::state: text = to_string(e.state); break;
        case Field::channel: text = ctx.channel_text(); break;
        case Field::attr: {
            auto it = e.attrs.find(t.field.attr_key);
            if (it == e.attrs.end()) {
                if (!t.absent_ok) return false;
                continue;
            }
            text = it->second;
            break;
        }
        default: return false; // rejected at compile time
        }
        if (!any_matches(t, text)) return false;
    }
    return true;
}

} // namespace passerelle::kernel::routing
