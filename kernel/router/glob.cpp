#include "router/glob.hpp"

#include "router/router.hpp"

namespace passerelle::kernel {

bool validate_glob(std::string_view pattern, std::string& error) {
    routing::Glob g;
    return routing::Glob::compile(pattern, g, error);
}

} // namespace passerelle::kernel

namespace passerelle::kernel::routing {

namespace {
std::string at(std::string_view what, size_t offset) {
    return std::string(what) + " at offset " + std::to_string(offset);
}
} // namespace

bool Glob::compile(std::string_view p, Glob& out, std::string& error) {
    Glob g;
    g.pattern_.assign(p);
    size_t i = 0;
    while (i < p.size()) {
        const char c = p[i];
        if (c == '\\') {
            if (i + 1 >= p.size()) {
                error = at("trailing '\\' escapes nothing", i);
                return false;
            }
            g.tokens_.push_back({Token::byte, static_cast<uint8_t>(p[i + 1]), 0});
            i += 2;
        } else if (c == '*') {
            // `**` is the same as `*`; one token keeps backtracking linear.
            if (g.tokens_.empty() || g.tokens_.back().op != Token::star) g.tokens_.push_back({Token::star, 0, 0});
            ++i;
        } else if (c == '?') {
            g.tokens_.push_back({Token::one, 0, 0});
            ++i;
        } else if (c == '[') {
            const size_t open = i++;
            std::bitset<256> set;
            bool negate = false;
            if (i < p.size() && (p[i] == '!' || p[i] == '^')) {
                negate = true;
                ++i;
            }
            bool first = true, closed = false;
            while (i < p.size()) {
                if (p[i] == ']' && !first) {
                    closed = true;
                    ++i;
                    break;
                }
                first = false;
                auto read_member = [&](unsigned char& m) {
                    if (p[i] == '\\') {
                        if (i + 1 >= p.size()) return false;
                        m = static_cast<unsigned char>(p[i + 1]);
                        i += 2;
                    } else {
                        m = static_cast<unsigned char>(p[i]);
                        ++i;
                    }
                    return true;
                };
                unsigned char lo = 0;
                if (!read_member(lo)) break; // trailing '\' inside a class: reported as unclosed
                if (i + 1 < p.size() && p[i] == '-' && p[i + 1] != ']') {
                    ++i;
                    unsigned char hi = 0;
                    if (!read_member(hi)) break;
                    if (hi < lo) {
                        error = at("reversed range in '[' class", open);
                        return false;
                    }
                    for (unsigned v = lo; v <= hi; ++v) set.set(v);
                } else {
                    set.set(lo);
                }
            }
            if (!closed) {
                error = at("unclosed '['", open);
                return false;
            }
            if (negate) set.flip();
            if (g.sets_.size() >= UINT16_MAX) {
                error = "too many '[' classes";
                return false;
            }
            g.tokens_.push_back({Token::set, 0, static_cast<uint16_t>(g.sets_.size())});
            g.sets_.push_back(set);
        } else {
            g.tokens_.push_back({Token::byte, static_cast<uint8_t>(c), 0});
            ++i;
        }
    }

    // Recognise the shapes that need a single compare: [*] lits [*].
    const auto& t = g.tokens_;
    size_t b = 0, e = t.size();
    const bool lead_star = b < e && t[b].op == Token::star;
    if (lead_star) ++b;
    const bool trail_star = b < e && t[e - 1].op == Token::star;
    if (trail_star) --e;
    bool all_bytes = true;
    for (size_t k = b; k < e; ++k) all_bytes = all_bytes && t[k].op == Token::byte;
    if (all_bytes) {
        for (size_t k = b; k < e; ++k) g.literal_.push_back(static_cast<char>(t[k].ch));
        if (g.literal_.empty() && (lead_star || trail_star)) g.shape_ = Shape::any;
        else if (lead_star && trail_star) g.shape_ = Shape::infix;
        else if (lead_star) g.shape_ = Shape::suffix;
        else if (trail_star) g.shape_ = Shape::prefix;
        else g.shape_ = Shape::exact;
        g.tokens_.clear();
        g.sets_.clear();
    } else {
        g.shape_ = Shape::general;
    }
    out = std::move(g);
    return true;
}

bool Glob::token_matches(const Token& t, unsigned char c) const {
    switch (t.op) {
    case Token::byte: return t.ch == c;
    case Token::one: return true;
    case Token::set: return sets_[t.set_ix].test(c);
    case Token::star: return false;
    }
    return false;
}

// Every token but `*` consumes exactly one byte, so the classic
// "remember the last star and retry one byte further" walk is complete and
// runs in O(pattern × text) at worst, with no recursion.
bool Glob::general_match(std::string_view s) const {
    const size_t m = tokens_.size(), n = s.size();
    size_t p = 0, i = 0;
    size_t star_p = SIZE_MAX, star_i = 0;
    while (i < n) {
        if (p < m && tokens_[p].op == Token::star) {
            star_p = p++;
            star_i = i;
        } else if (p < m && token_matches(tokens_[p], static_cast<unsigned char>(s[i]))) {
            ++p;
            ++i;
        } else if (star_p != SIZE_MAX) {
            p = star_p + 1;
            i = ++star_i;
        } else {
            return false;
        }
    }
    while (p < m && tokens_[p].op == Token::star) ++p;
    return p == m;
}

} // namespace passerelle::kernel::routing
