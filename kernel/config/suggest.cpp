#include "config/suggest.hpp"

#include <algorithm>
#include <cctype>

namespace passerelle::kernel {

size_t edit_distance(std::string_view a, std::string_view b) {
    // Two rows of the classic dynamic programme; names are short.
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
        }
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

namespace {
std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}
} // namespace

std::string closest_match(std::string_view word, const std::vector<std::string>& candidates) {
    const std::string w = lower(word);
    const size_t limit = w.size() <= 3 ? 1 : 2;
    size_t best = limit + 1;
    const std::string* found = nullptr;
    for (const auto& c : candidates) {
        if (c == word) continue; // the word itself is not a suggestion
        // Case-insensitive: "Module" for "module" is a near miss of distance 0.
        size_t d = edit_distance(w, lower(c));
        if (d < best) {
            best = d;
            found = &c;
        }
    }
    if (found) return *found;
    for (const auto& c : candidates) {
        const std::string lc = lower(c);
        if (c == word || std::min(lc.size(), w.size()) < 3) continue;
        if (w.compare(0, lc.size(), lc) == 0 || lc.compare(0, w.size(), w) == 0) return c;
    }
    return {};
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
    std::string m = closest_match(word, candidates);
    return m.empty() ? std::string() : " (did you mean '" + m + "'?)";
}

} // namespace passerelle::kernel
