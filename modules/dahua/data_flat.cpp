#include "data_flat.hpp"

#include <algorithm>

namespace passerelle::dahua {

namespace {
// As parse_plain_json: deeper input is nlohmann's.
constexpr int kMaxDepth = 32;
} // namespace

bool FlatJson::parse(std::string_view text) {
    nodes_.clear();
    p_ = text.data();
    end_ = text.data() + text.size();
    skip_space();
    if (!value(add(), 0)) return false;
    skip_space();
    return p_ == end_;
}

void FlatJson::skip_space() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
}

bool FlatJson::literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) return false;
    p_ += word.size();
    return true;
}

// nodes_ may grow (and move) below: slots are indices, never references kept across calls.
bool FlatJson::value(uint32_t slot, int depth) {
    if (p_ == end_) return false;
    switch (*p_) {
    case '{': return object(slot, depth + 1);
    case '[': return array(slot, depth + 1);
    case '"': {
        std::string_view s;
        bool escaped = false;
        if (!string(s, escaped)) return false;
        nodes_[slot].kind = Kind::string;
        nodes_[slot].text = s;
        nodes_[slot].escaped = escaped;
        return true;
    }
    case 't': nodes_[slot].kind = Kind::boolean_true; return literal("true");
    case 'f': nodes_[slot].kind = Kind::boolean_false; return literal("false");
    case 'n': nodes_[slot].kind = Kind::null; return literal("null");
    default: {
        std::string_view digits;
        if (!integer(digits)) return false;
        nodes_[slot].kind = Kind::number;
        nodes_[slot].text = digits;
        return true;
    }
    }
}

bool FlatJson::object(uint32_t slot, int depth) {
    if (depth > kMaxDepth) return false;
    ++p_; // '{'
    nodes_[slot].kind = Kind::object;
    skip_space();
    if (p_ != end_ && *p_ == '}') {
        ++p_;
        return true;
    }
    uint32_t last = npos;
    bool sorted = true; // keys strictly increasing: nlohmann's order already, no repeat
    for (;;) {
        skip_space();
        std::string_view key;
        bool escaped = false;
        if (p_ == end_ || *p_ != '"' || !string(key, escaped) || escaped) return false; // escaped keys: DOM path
        skip_space();
        if (p_ == end_ || *p_ != ':') return false;
        ++p_;
        skip_space();
        const uint32_t child = add();
        nodes_[child].key = key;
        if (last == npos) nodes_[slot].first = child;
        else {
            nodes_[last].next = child;
            if (!(nodes_[last].key < key)) sorted = false;
        }
        last = child;
        if (!value(child, depth)) return false;
        skip_space();
        if (p_ == end_) return false;
        if (*p_ == '}') {
            ++p_;
            if (!sorted) sort_members(slot);
            return true;
        }
        if (*p_ != ',') return false;
        ++p_;
    }
}

// nlohmann keeps members in a std::map: sorted by key, a repeated key holding the
// value given last. Relinks the members in that order, dropping the overwritten ones.
void FlatJson::sort_members(uint32_t object) {
    scratch_.clear();
    for (uint32_t c = nodes_[object].first; c != npos; c = nodes_[c].next) scratch_.push_back(c);
    std::stable_sort(scratch_.begin(), scratch_.end(),
                     [&](uint32_t a, uint32_t b) { return nodes_[a].key < nodes_[b].key; });
    uint32_t last = npos;
    for (std::size_t i = 0; i < scratch_.size(); ++i) {
        const uint32_t c = scratch_[i];
        if (i + 1 < scratch_.size() && nodes_[scratch_[i + 1]].key == nodes_[c].key) continue; // a later one wins
        if (last == npos) nodes_[object].first = c;
        else nodes_[last].next = c;
        last = c;
    }
    nodes_[last].next = npos;
}

bool FlatJson::array(uint32_t slot, int depth) {
    if (depth > kMaxDepth) return false;
    ++p_; // '['
    nodes_[slot].kind = Kind::array;
    skip_space();
    if (p_ != end_ && *p_ == ']') {
        ++p_;
        return true;
    }
    uint32_t last = npos;
    for (;;) {
        skip_space();
        const uint32_t child = add();
        if (last == npos) nodes_[slot].first = child;
        else nodes_[last].next = child;
        last = child;
        if (!value(child, depth)) return false;
        skip_space();
        if (p_ == end_) return false;
        if (*p_ == ']') {
            ++p_;
            return true;
        }
        if (*p_ != ',') return false;
        ++p_;
    }
}

// The grammar of PlainReader::string: ASCII, no control bytes, simple escapes only.
bool FlatJson::string(std::string_view& out, bool& escaped) {
    ++p_; // '"'
    const char* start = p_;
    escaped = false;
    for (;;) {
        if (p_ == end_) return false;
        const auto c = static_cast<unsigned char>(*p_);
        if (c == '"') {
            out = std::string_view(start, static_cast<size_t>(p_ - start));
            ++p_;
            return true;
        }
        if (c < 0x20 || c >= 0x80) return false;
        if (c == '\\') {
            if (++p_ == end_) return false;
            switch (*p_) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't': break;
            default: return false; // \u and invalid escapes
            }
            escaped = true;
        }
        ++p_;
    }
}

// The grammar of PlainReader::integer: -?(0|[1-9][0-9]*) within uint64 (int64
// when negative), not -0. Such text is exactly what nlohmann prints back.
bool FlatJson::integer(std::string_view& out) {
    const char* start = p_;
    const bool negative = *p_ == '-';
    const char* digits = negative ? p_ + 1 : p_;
    const char* q = digits;
    while (q != end_ && *q >= '0' && *q <= '9') ++q;
    const std::string_view d(digits, static_cast<size_t>(q - digits));
    if (d.empty() || (d.size() > 1 && d[0] == '0')) return false;
    if (q != end_ && (*q == '.' || *q == 'e' || *q == 'E')) return false;
    // Range by comparing digits (same length: lexicographic is numeric), no division per digit.
    const std::string_view max = negative ? "9223372036854775808" : "18446744073709551615"; // -INT64_MIN, UINT64_MAX
    if (d.size() > max.size() || (d.size() == max.size() && d > max)) return false;
    if (negative && d == "0") return false; // -0: nlohmann's (a float)
    out = std::string_view(start, static_cast<size_t>(q - start));
    p_ = q;
    return true;
}

uint32_t FlatJson::member(uint32_t object, std::string_view key) const {
    if (nodes_[object].kind != Kind::object) return npos;
    for (uint32_t c = nodes_[object].first; c != npos; c = nodes_[c].next)
        if (nodes_[c].key == key) return c;
    return npos;
}

std::optional<std::string> FlatJson::scalar_text(uint32_t i) const {
    const Node& n = nodes_[i];
    switch (n.kind) {
    case Kind::object:
    case Kind::array: return std::nullopt;
    case Kind::number: return std::string(n.text);
    case Kind::boolean_true: return std::string("true");
    case Kind::boolean_false: return std::string("false");
    case Kind::null: return std::string();
    case Kind::string: break;
    }
    if (!n.escaped) return std::string(n.text);
    std::string out;
    out.reserve(n.text.size());
    for (std::size_t k = 0; k < n.text.size(); ++k) {
        char c = n.text[k];
        if (c == '\\') {
            switch (n.text[++k]) { // the reader let only these through
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            default: c = n.text[k]; break; // '"', '\\', '/'
            }
        }
        out.push_back(c);
    }
    return out;
}

} // namespace passerelle::dahua
