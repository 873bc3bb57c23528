#include "xml_scan.hpp"

#include <algorithm>
#include <cstring>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace passerelle::hikvision::xml {
namespace {

// pugixml's character classes: names start with a letter, '_', ':' or any
// byte >= 0x80 (UTF-8), and go on with digits, '-' and '.' too.
constexpr bool name_start(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || c >= 0x80;
}
constexpr bool name_char(unsigned char c) { return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.'; }
constexpr bool space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

struct CharClass {
    bool start[256]{};
    bool name[256]{};
    bool space[256]{};
    constexpr CharClass() {
        for (int c = 0; c < 256; ++c) {
            start[c] = name_start(static_cast<unsigned char>(c));
            name[c] = name_char(static_cast<unsigned char>(c));
            space[c] = ::passerelle::hikvision::xml::space(static_cast<char>(c));
        }
    }
};
constexpr CharClass kClass;

// memcmp(a, b, n) == 0 for names (a few to a few dozen bytes), inline: a
// memcmp call per end tag cost more than the comparison itself.
// Word loads, the last one overlapping the previous (no byte loop for the tail).
template <class Word>
bool same_words(const char* a, const char* b, size_t n) { // sizeof(Word) <= n
    Word x, y;
    for (; n > sizeof(Word); a += sizeof(Word), b += sizeof(Word), n -= sizeof(Word)) {
        std::memcpy(&x, a, sizeof(Word));
        std::memcpy(&y, b, sizeof(Word));
        if (x != y) return false;
    }
    std::memcpy(&x, a + n - sizeof(Word), sizeof(Word));
    std::memcpy(&y, b + n - sizeof(Word), sizeof(Word));
    return x == y;
}

[[gnu::always_inline]] inline bool same_bytes(const char* a, const char* b, size_t n) {
    if (n >= 8) return same_words<uint64_t>(a, b, n);
    if (n >= 4) return same_words<uint32_t>(a, b, n);
    for (; n > 0; ++a, ++b, --n)
        if (*a != *b) return false;
    return true;
}

bool all_space(std::string_view s) {
    for (char c : s)
        if (!space(c)) return false;
    return true;
}

// The entities the old escape pass left alone (so pugixml decoded them):
// &amp; &lt; &gt; &quot; &apos;, &#N; and &#xN; with 1..8 digits. Returns the
// entity's length and its code point, or 0 when `s` does not start with one.
size_t entity(std::string_view s, uint32_t& cp) {
    size_t i = 1;
    if (i < s.size() && s[i] == '#') {
        ++i;
        const bool hex = i < s.size() && (s[i] == 'x' || s[i] == 'X');
        if (hex) ++i;
        const size_t start = i;
        uint32_t v = 0;
        while (i < s.size() && i - start < 8) {
            const char c = s[i];
            if (c >= '0' && c <= '9') v = v * (hex ? 16 : 10) + static_cast<uint32_t>(c - '0');
            else if (hex && c >= 'a' && c <= 'f') v = v * 16 + static_cast<uint32_t>(c - 'a' + 10);
            else if (hex && c >= 'A' && c <= 'F') v = v * 16 + static_cast<uint32_t>(c - 'A' + 10);
            else break;
            ++i;
        }
        if (i == start || i >= s.size() || s[i] != ';') return 0;
        cp = v;
        return i + 1;
    }
    static constexpr struct {
        std::string_view name;
        char c;
    } kNamed[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
    for (const auto& n : kNamed)
        if (s.substr(1, n.name.size()) == n.name) {
            cp = static_cast<unsigned char>(n.c);
            return 1 + n.name.size();
        }
    return 0;
}

// UTF-8 as pugixml writes a code point (no range check: it never had one).
void append_utf8(std::string& out, uint32_t ch) {
    if (ch < 0x80) {
        out.push_back(static_cast<char>(ch));
    } else if (ch < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (ch >> 6)));
        out.push_back(static_cast<char>(0x80 | (ch & 0x3F)));
    } else if (ch < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (ch >> 12)));
        out.push_back(static_cast<char>(0x80 | ((ch >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (ch & 0x3F)));
    } else {
        out.push_back(static_cast<char>(static_cast<uint8_t>(0xF0 | (ch >> 18))));
        out.push_back(static_cast<char>(0x80 | ((ch >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((ch >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (ch & 0x3F)));
    }
}

} // namespace

Scanner::Scanner(std::string_view document) : doc_(document) {
    // pugixml stops at the first NUL byte; so do we.
    if (const void* nul = std::memchr(doc_.data(), '\0', doc_.size()))
        doc_ = doc_.substr(0, static_cast<size_t>(static_cast<const char*>(nul) - doc_.data()));
    plain_ = !std::memchr(doc_.data(), '&', doc_.size()) && !std::memchr(doc_.data(), '\r', doc_.size());
}

Token Scanner::fail(const char* message, size_t at) {
    error_ = message;
    offset_ = at;
    return Token::error;
}

bool Scanner::skip_to(std::string_view terminator) {
    const size_t p = doc_.find(terminator, pos_);
    if (p == std::string_view::npos) return false;
    pos_ = p + terminator.size();
    return true;
}

Token Scanner::next() {
    if (error_) return Token::error;
    if (pending_close_) {
        pending_close_ = false;
        --depth_; // name_ and local_ are still the element's
        return Token::close;
    }
    const size_t n = doc_.size();
    while (pos_ < n) {
        if (doc_[pos_] != '<') {
            // Most runs are the "\n" between elements (one byte: no call) or a
            // value, which memchr crosses faster than a byte loop.
            size_t end = pos_ + 1;
            if (end < n && doc_[end] != '<') {
                const void* lt = std::memchr(doc_.data() + end, '<', n - end);
                end = lt ? static_cast<size_t>(static_cast<const char*>(lt) - doc_.data()) : n;
            }
            std::string_view run = doc_.substr(pos_, end - pos_);
            pos_ = end;
            if (depth_ > 0 && !all_space(run)) {
                raw_ = run;
                return Token::text;
            }
            continue;
        }
        if (pos_ + 1 >= n) return fail("'<' at the end of the document", pos_);
        const char c = doc_[pos_ + 1];
        if (c == '/') return end_tag();
        if (kClass.start[static_cast<unsigned char>(c)]) return start_tag();
        if (c == '?' || c == '!') {
            if (std::optional<Token> t = markup()) return *t;
            continue;
        }
        return fail("'<' not followed by a tag name", pos_);
    }
    if (depth_ > 0) return fail("unclosed element at the end of the document", pos_);
    if (!seen_root_) return fail("no element in the document", pos_);
    return Token::end;
}

// "<?" and "<!": rare in alerts, kept out of next() so that its hot path
// stays small (fewer registers saved and restored on every token).
// nullopt: skipped, scan on; else the token to return.
std::optional<Token> Scanner::markup() {
    const size_t n = doc_.size();
    const char c = doc_[pos_ + 1];
    if (c == '?') {
        const size_t at = pos_;
        if (pos_ + 2 >= n || !kClass.start[static_cast<unsigned char>(doc_[pos_ + 2])])
            return fail("malformed processing instruction", at);
        pos_ += 2;
        if (!skip_to("?>")) return fail("unterminated processing instruction", at);
        return std::nullopt;
    }
    if (c == '!') {
        const size_t at = pos_;
        std::string_view rest = doc_.substr(pos_);
        if (rest.starts_with("<!--")) {
            pos_ += 4;
            if (!skip_to("-->")) return fail("unterminated comment", at);
            return std::nullopt;
        }
        if (rest.starts_with("<![CDATA[")) {
            const size_t end = doc_.find("]]>", pos_ + 9);
            if (end == std::string_view::npos) return fail("unterminated CDATA section", at);
            raw_ = doc_.substr(pos_ + 9, end - pos_ - 9);
            pos_ = end + 3;
            if (depth_ > 0) return Token::cdata;
            return std::nullopt;
        }
        // Refused, not skipped: no camera sends one, a DOCTYPE is where entity
        // attacks come in, and skipping one exactly as pugixml did is a
        // grammar of its own (the differential fuzzer kept finding cases).
        if (rest.starts_with("<!DOCTYPE")) return fail("DOCTYPE not accepted in an event", at);
        return fail("unexpected '<!' markup", at);
    }
    return fail("'<' not followed by a tag name", pos_); // not reached: called at '?' or '!'
}

#ifdef __SSE2__
namespace {
// Bit k set when byte k of `v` is not a name character (kClass.name, 16 at once):
// letters, digits, '_', ':', '-', '.' and bytes >= 0x80 are.
unsigned non_name_mask(__m128i v) {
    const __m128i lower = _mm_or_si128(v, _mm_set1_epi8(0x20));
    // Signed compares only: shift each range to start at -128, then one compare.
    const __m128i letter =
        _mm_cmplt_epi8(_mm_add_epi8(lower, _mm_set1_epi8(static_cast<char>(-128 - 'a'))), _mm_set1_epi8(-128 + 26));
    const __m128i digit =
        _mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8(static_cast<char>(-128 - '0'))), _mm_set1_epi8(-128 + 10));
    const __m128i high = _mm_cmplt_epi8(v, _mm_setzero_si128());
    __m128i ok = _mm_or_si128(_mm_or_si128(letter, digit), high);
    ok = _mm_or_si128(ok, _mm_cmpeq_epi8(v, _mm_set1_epi8('_')));
    ok = _mm_or_si128(ok, _mm_cmpeq_epi8(v, _mm_set1_epi8(':')));
    ok = _mm_or_si128(ok, _mm_cmpeq_epi8(v, _mm_set1_epi8('-')));
    ok = _mm_or_si128(ok, _mm_cmpeq_epi8(v, _mm_set1_epi8('.')));
    return ~static_cast<unsigned>(_mm_movemask_epi8(ok)) & 0xFFFFu;
}
} // namespace
#endif

namespace {
// First byte at or after `i` of d[0, n) that is not a name character (n when none).
size_t name_end_in(const unsigned char* d, size_t n, size_t i) {
#ifdef __SSE2__
    // Sixteen bytes a step (names are most of the bytes of an alert's markup),
    // never reading past the document.
    while (i + 16 <= n) {
        const unsigned stop = non_name_mask(_mm_loadu_si128(reinterpret_cast<const __m128i*>(d + i)));
        if (stop) return i + static_cast<size_t>(__builtin_ctz(stop));
        i += 16;
    }
#endif
    // Four bytes a step, then one: the document's tail (and targets without SSE2).
    while (i + 4 <= n && kClass.name[d[i]] && kClass.name[d[i + 1]] && kClass.name[d[i + 2]] && kClass.name[d[i + 3]])
        i += 4;
    while (i < n && kClass.name[d[i]]) ++i;
    return i;
}

// Same, and where the local name starts (past the name's last ':'; `i` when none):
// for scan_flat, which needs the local name of every child.
[[gnu::always_inline]] inline size_t name_end_in(const unsigned char* d, size_t n, size_t i, size_t& local) {
    local = i;
#ifdef __SSE2__
    while (i + 16 <= n) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + i));
        const unsigned stop = non_name_mask(v);
        unsigned colons = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(':'))));
        if (stop) {
            const unsigned end = static_cast<unsigned>(__builtin_ctz(stop));
            colons &= (1u << end) - 1; // the name's own
            if (colons) [[unlikely]]
                local = i + static_cast<size_t>(32 - __builtin_clz(colons));
            return i + end;
        }
        if (colons) [[unlikely]]
            local = i + static_cast<size_t>(32 - __builtin_clz(colons));
        i += 16;
    }
#endif
    for (; i < n && kClass.name[d[i]]; ++i)
        if (d[i] == ':') local = i + 1;
    return i;
}
} // namespace

size_t Scanner::name_end(size_t i) const {
    return name_end_in(reinterpret_cast<const unsigned char*>(doc_.data()), doc_.size(), i);
}

Token Scanner::start_tag() {
    const size_t at = pos_;
    const size_t n = doc_.size();
    const char* d = doc_.data();
    size_t i = name_end(pos_ + 1);
    std::string_view name(d + pos_ + 1, i - pos_ - 1);
    if (name.size() > UINT32_MAX) return fail("name too long", at);
    // Offset of the local name in `name` (past a "prefix:").
    size_t local = 0;
    if (std::memchr(name.data(), ':', name.size())) local = name.rfind(':') + 1;
    for (;;) {
        const size_t ws = i;
        while (i < n && space(d[i])) ++i;
        if (i >= n) return fail("unterminated start tag", at);
        const char c = d[i];
        if (c == '>' || c == '/') {
            if (c == '/' && (i + 1 >= n || d[i + 1] != '>')) return fail("malformed start tag", i);
            if (depth_ == kMaxDepth) return fail("elements nested too deep", at);
            name_ = name;
            local_ = name.substr(local);
            stack_[depth_++] = Open{name.data(), static_cast<uint32_t>(name.size()), static_cast<uint32_t>(local)};
            seen_root_ = true;
            pending_close_ = c == '/';
            pos_ = i + (c == '/' ? 2 : 1);
            return Token::open;
        }
        // An attribute: whitespace before it, name, '=', quoted value.
        if (i == ws || !kClass.start[static_cast<unsigned char>(c)]) return fail("malformed start tag", i);
        i = name_end(i);
        while (i < n && space(d[i])) ++i;
        if (i >= n || d[i] != '=') return fail("malformed attribute", i);
        ++i;
        while (i < n && space(d[i])) ++i;
        if (i >= n || (d[i] != '"' && d[i] != '\'')) return fail("malformed attribute", i);
        const void* q = std::memchr(d + i + 1, d[i], n - i - 1);
        if (!q) return fail("unterminated attribute value", i);
        i = static_cast<size_t>(static_cast<const char*>(q) - d) + 1;
    }
}

Token Scanner::end_tag() {
    const size_t at = pos_;
    const size_t n = doc_.size();
    const char* d = doc_.data();
    // The only valid name here is the open element's: compare it whole (a
    // longer name fails on the character after it).
    if (depth_ == 0) return fail("end tag without an open element", at);
    const std::string_view open(stack_[depth_ - 1].name, stack_[depth_ - 1].size);
    size_t i = pos_ + 2;
    if (n - i < open.size() || !same_bytes(d + i, open.data(), open.size()) ||
        (i + open.size() < n && kClass.name[static_cast<unsigned char>(d[i + open.size()])]))
        return fail("end tag does not match the open element", at);
    i += open.size();
    while (i < n && space(d[i])) ++i;
    if (i >= n || d[i] != '>') return fail("malformed end tag", at);
    --depth_;
    pos_ = i + 1;
    name_ = open;
    local_ = open.substr(stack_[depth_].local);
    return Token::close;
}

namespace {

// First byte at or after `i` of d[0, n) that is '<', CR or NUL (n when none):
// the end of a text run, or a byte that may make its value differ from its raw
// text (scan_flat has declined any document with an '&').
size_t text_stop(const unsigned char* d, size_t n, size_t i) {
#ifdef __SSE2__
    while (i + 16 <= n) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + i));
        const __m128i stop =
            _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('<')),
                         _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\r')), _mm_cmpeq_epi8(v, _mm_setzero_si128())));
        if (const unsigned bits = static_cast<unsigned>(_mm_movemask_epi8(stop)))
            return i + static_cast<size_t>(__builtin_ctz(bits));
        i += 16;
    }
#endif
    while (i < n && d[i] != '<' && d[i] != '\r' && d[i] != '\0') ++i;
    return i;
}

// First byte at or after `i` of d[0, n) that is `a` or `b` (n when none).
size_t find_either(const unsigned char* d, size_t n, size_t i, char a, char b) {
#ifdef __SSE2__
    while (i + 16 <= n) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + i));
        const __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(a)), _mm_cmpeq_epi8(v, _mm_set1_epi8(b)));
        if (const unsigned bits = static_cast<unsigned>(_mm_movemask_epi8(hit)))
            return i + static_cast<size_t>(__builtin_ctz(bits));
        i += 16;
    }
#endif
    while (i < n && d[i] != static_cast<unsigned char>(a) && d[i] != static_cast<unsigned char>(b)) ++i;
    return i;
}

size_t skip_space(const unsigned char* d, size_t n, size_t i) {
    while (i < n && kClass.space[d[i]]) ++i;
    return i;
}

} // namespace

// Each step below accepts only what Scanner::next() reads the same way, and
// declines everything else: the Scanner (the reference) handles the document then.
// Every byte is looked at, so a NUL anywhere declines (the Scanner would end
// the document there): names stop at it, text runs stop at it, quoted
// attribute values and PIs are searched for it.
size_t scan_flat(std::string_view document, std::string_view root_local, Leaf* out, size_t cap) {
    const unsigned char* d = reinterpret_cast<const unsigned char*>(document.data());
    const char* c = document.data();
    const size_t n = document.size();
    // An '&' anywhere declines at once: a value to decode, or (every capture
    // with one) the psialliance <Extensions> block, whose eventPush holds
    // "&amp;&amp;" -- a nested element the fast path would only reach at the
    // end, after reading everything else for nothing. Text runs then need no
    // '&' check.
    if (std::memchr(c, '&', n)) return kNotFlat;
    size_t i = skip_space(d, n, 0);
    // The XML declaration, and any other PI, as Scanner::markup() skips them.
    while (i + 1 < n && d[i] == '<' && d[i + 1] == '?') {
        if (i + 2 >= n || !kClass.start[d[i + 2]]) return kNotFlat;
        const size_t end = document.find("?>", i + 2);
        if (end == std::string_view::npos || std::memchr(c + i, '\0', end - i)) return kNotFlat;
        i = skip_space(d, n, end + 2);
    }
    // The root's start tag, attributes checked as Scanner::start_tag() does.
    if (i + 1 >= n || d[i] != '<' || !kClass.start[d[i + 1]]) return kNotFlat;
    const size_t root_begin = i + 1;
    i = name_end_in(d, n, root_begin);
    const std::string_view root(c + root_begin, i - root_begin);
    if (local_name(root) != root_local) return kNotFlat;
    for (;;) {
        const size_t ws = i;
        i = skip_space(d, n, i);
        if (i >= n) return kNotFlat;
        if (d[i] == '>') break;
        if (i == ws || !kClass.start[d[i]]) return kNotFlat; // "/>" (an empty root) too
        i = skip_space(d, n, name_end_in(d, n, i));
        if (i >= n || d[i] != '=') return kNotFlat;
        i = skip_space(d, n, i + 1);
        if (i >= n || (d[i] != '"' && d[i] != '\'')) return kNotFlat;
        const size_t q = find_either(d, n, i + 1, c[i], '\0');
        if (q >= n || c[q] != c[i]) return kNotFlat;
        i = q + 1;
    }
    ++i;
    // The root's children: "<name>text</name>", whitespace between them.
    size_t count = 0;
    for (;;) {
        i = skip_space(d, n, i);
        if (i + 1 >= n || d[i] != '<') return kNotFlat; // text in the root, or unclosed
        if (d[i + 1] == '/') break;                     // the root's end tag
        if (!kClass.start[d[i + 1]]) return kNotFlat;   // comment, CDATA, PI
        const size_t name_begin = i + 1;
        size_t local = 0;
        const size_t name_stop = name_end_in(d, n, name_begin, local);
        if (name_stop >= n || d[name_stop] != '>') return kNotFlat; // attributes, "/>"
        const size_t size = name_stop - name_begin;
        // The text run up to the next '<'. A CR in it is harmless at its edges
        // (trimmed away both ways), not inside; a NUL never is.
        const size_t text_begin = name_stop + 1;
        size_t t = text_begin;
        bool cr = false;
        for (;;) {
            t = text_stop(d, n, t);
            if (t >= n) return kNotFlat;
            if (d[t] == '<') break;
            if (d[t] != '\r') return kNotFlat;
            cr = true;
            ++t;
        }
        // The end tag must close this leaf: "</" + the same name + ">".
        if (n - t < size + 3 || d[t + 1] != '/' || !same_bytes(c + t + 2, c + name_begin, size) ||
            d[t + 2 + size] != '>')
            return kNotFlat;
        size_t first = text_begin, last = t; // trimmed: [first, last)
        while (first < last && kClass.space[d[first]]) ++first;
        while (last > first && kClass.space[d[last - 1]]) --last;
        const std::string_view text(c + first, last - first);
        if (cr && text.find('\r') != std::string_view::npos) return kNotFlat;
        if (count == cap) return kNotFlat;
        out[count++] = Leaf{c + local, name_stop - local, text.data(), text.size()};
        i = t + size + 3;
    }
    // The root's end tag, then only whitespace.
    i += 2;
    if (n - i < root.size() || !same_bytes(c + i, root.data(), root.size())) return kNotFlat;
    i = skip_space(d, n, i + root.size());
    if (i >= n || d[i] != '>') return kNotFlat;
    if (skip_space(d, n, i + 1) != n) return kNotFlat;
    return count;
}

std::string_view text_value(std::string_view raw, bool cdata, std::string& scratch) {
    size_t first = 0;
    while (first < raw.size() && raw[first] != '\r' && (cdata || raw[first] != '&')) ++first;
    if (first == raw.size()) return raw;
    scratch.assign(raw.substr(0, first));
    for (size_t i = first; i < raw.size();) {
        const char c = raw[i];
        if (c == '\r') {
            scratch.push_back('\n');
            i += (i + 1 < raw.size() && raw[i + 1] == '\n') ? 2 : 1;
        } else if (c == '&' && !cdata) {
            uint32_t cp = 0;
            if (size_t len = entity(raw.substr(i), cp)) {
                append_utf8(scratch, cp);
                i += len;
            } else {
                scratch.push_back('&');
                ++i;
            }
        } else {
            scratch.push_back(c);
            ++i;
        }
    }
    // pugixml values are C strings: a decoded NUL (&#0;) ends them.
    if (auto nul = scratch.find('\0'); nul != std::string::npos) scratch.resize(nul);
    return scratch;
}

} // namespace passerelle::hikvision::xml
