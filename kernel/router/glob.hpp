// Compiled glob patterns for route matching.
//
// Syntax: `*` any run (also empty), `?` exactly one byte, `[abc]`, `[a-z]`,
// `[!x]` (or `[^x]`) byte classes, `\` escapes the next character anywhere.
// A `]` right after `[` or `[!` is a member, not the end. Matching is on
// bytes and case-sensitive. Malformed patterns (unclosed `[`, trailing `\`,
// reversed range `[z-a]`) are rejected at compile time.
//
// Most route patterns are plain words or `cam_*`, so compile() recognises
// `*`, exact, prefix*, *suffix and *infix* shapes and matches them with a
// single compare; only the rest run the general matcher. Matching never
// allocates.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace passerelle::kernel::routing {

class Glob {
public:
    enum class Shape : uint8_t { any, exact, prefix, suffix, infix, general };

    // Returns false and sets `error` (with the byte offset) for a malformed pattern.
    static bool compile(std::string_view pattern, Glob& out, std::string& error);

    bool matches(std::string_view s) const {
        switch (shape_) {
        case Shape::any: return true;
        case Shape::exact: return s == literal_;
        case Shape::prefix: return s.starts_with(literal_);
        case Shape::suffix: return s.ends_with(literal_);
        case Shape::infix: return s.find(literal_) != std::string_view::npos;
        case Shape::general: break;
        }
        return general_match(s);
    }

    Shape shape() const { return shape_; }
    const std::string& pattern() const { return pattern_; }
    // The unescaped text of an exact/prefix/suffix/infix pattern.
    const std::string& literal() const { return literal_; }

private:
    struct Token {
        enum Op : uint8_t { byte, one, star, set } op;
        uint8_t ch;      // for byte
        uint16_t set_ix; // for set, index into sets_
    };

    bool general_match(std::string_view s) const;
    bool token_matches(const Token& t, unsigned char c) const;

    Shape shape_ = Shape::exact;
    std::string pattern_; // as written, for diagnostics
    std::string literal_; // unescaped text for the non-general shapes
    std::vector<Token> tokens_;
    std::vector<std::bitset<256>> sets_;
};

} // namespace passerelle::kernel::routing
