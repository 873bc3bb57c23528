#include "api/event_filter.hpp"

namespace passerelle::kernel::api {

bool glob_match(std::string_view p, std::string_view t) {
    // Iterative matcher with one backtrack point: linear in practice, no recursion
    // for hostile patterns like "*a*a*a*a*b".
    size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
    while (ti < t.size()) {
        if (pi < p.size() && p[pi] == '*') {
            star = pi++;
            mark = ti;
        } else if (pi < p.size() && p[pi] == t[ti]) {
            ++pi;
            ++ti;
        } else if (star != std::string_view::npos) {
            pi = star + 1;
            ti = ++mark;
        } else {
            return false;
        }
    }
    while (pi < p.size() && p[pi] == '*') ++pi;
    return pi == p.size();
}

static void add_list(std::vector<std::string>& out, std::string_view list) {
    while (true) {
        auto comma = list.find(',');
        std::string_view item = list.substr(0, comma);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (!item.empty()) out.emplace_back(item);
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
}

EventFilter EventFilter::from_query(const QueryParams& query) {
    EventFilter f;
    for (const auto& [k, v] : query) {
        if (k == "source") add_list(f.sources_, v);
        else if (k == "type") add_list(f.types_, v);
    }
    return f;
}

bool EventFilter::any_matches(const std::vector<std::string>& patterns, std::string_view value) {
    if (patterns.empty()) return true;
    for (const auto& p : patterns)
        if (glob_match(p, value)) return true;
    return false;
}

bool EventFilter::matches(std::string_view source, std::string_view type) const {
    return any_matches(sources_, source) && any_matches(types_, type);
}

} // namespace passerelle::kernel::api
