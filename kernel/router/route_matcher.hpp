// A route's `when` compiled into a list of field tests.
//
// Semantics: every field listed must match; a field matches when any of its
// alternatives (globs) matches its text; a field not listed matches anything.
// `channel` is compared as its decimal text ("3", so `channel = "1?"` works),
// `state` as start / stop / pulse.
//
// attrs.KEY when the event has no such attribute: it never matches, except
// for the pattern "" (exactly empty), which means "absent or empty". So
// `attrs.target = "*"` requires the attribute to be present (with any value)
// and `attrs.target = ""` selects events that carry no target. This keeps `*`
// meaning "the device said something" and gives a way to route the unlabelled
// ones.
//
// Tests run cheapest and most selective first (type, source, code, …, attrs);
// alternatives that are `*` make a (non-attrs) field test vanish at compile
// time. Matching never allocates.
#pragma once

#include "router/event_field.hpp"
#include "router/glob.hpp"

#include <passerelle/event.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace passerelle::kernel::routing {

// Per-event values computed at most once across all routes.
struct MatchContext {
    explicit MatchContext(const Event& ev) : e(ev) {}
    const Event& e;
    std::string_view channel_text();

private:
    char channel_buf_[16];
    size_t channel_len_ = 0;
    bool channel_ready_ = false;
};

class RouteMatcher {
public:
    struct Error {
        std::string key; // "when.type"
        std::string message;
    };

    // Appends every problem (unknown field, not matchable, bad glob, empty list) to `errors`.
    static bool compile(const std::map<std::string, std::vector<std::string>>& when, RouteMatcher& out,
                        std::vector<Error>& errors);

    bool matches(MatchContext& ctx) const;

    // The route's `type` alternatives when all are plain words (for RouteIndex);
    // nullopt when any event type could match.
    std::optional<std::vector<std::string>> literal_types() const;

private:
    struct Test {
        FieldRef field;
        std::vector<Glob> alternatives;
        bool absent_ok = false; // attrs only: an alternative is ""
    };
    static bool any_matches(const Test& t, std::string_view text) {
        for (const auto& g : t.alternatives)
            if (g.matches(text)) return true;
        return false;
    }
    std::vector<Test> tests_;
};

} // namespace passerelle::kernel::routing
