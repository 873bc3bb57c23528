#include "router/template.hpp"

#include "router/router.hpp"

#include <cstdint>

namespace passerelle::kernel {

bool validate_template(std::string_view text, std::string& error) {
    routing::Template t;
    return routing::Template::compile(text, t, error);
}

} // namespace passerelle::kernel

namespace passerelle::kernel::routing {

namespace {

std::string at(std::string_view what, size_t offset) {
    return std::string(what) + " at offset " + std::to_string(offset);
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Reads placeholder text from `i` up to one of `stops` (unescaped), applying
// `\` escapes. Returns the stop char found, or 0 at end of text / on error.
// `escaped_any` tells whether the token used an escape (so `\*` is a key, not the default).
char read_until(std::string_view t, size_t& i, std::string_view stops, std::string& token, bool& escaped_any,
                std::string& error, size_t open) {
    token.clear();
    escaped_any = false;
    while (i < t.size()) {
        char c = t[i];
        if (c == '\\') {
            if (i + 1 >= t.size()) break;
            token.push_back(t[i + 1]);
            escaped_any = true;
            i += 2;
            continue;
        }
        if (stops.find(c) != std::string_view::npos) return c;
        if (c == '{') {
            error = at("unescaped '{' inside the placeholder opened", open) + " (write \\{)";
            return 0;
        }
        token.push_back(c);
        ++i;
    }
    error = at("unclosed '{'", open);
    return 0;
}

} // namespace

bool Template::compile(std::string_view t, Template& out, std::string& error) {
    Template tpl;
    std::string literal;
    auto flush_literal = [&] {
        if (!literal.empty()) {
            Part p;
            p.literal = std::move(literal);
            tpl.parts_.push_back(std::move(p));
            literal.clear();
        }
    };
    size_t i = 0;
    while (i < t.size()) {
        const char c = t[i];
        if (c == '}') {
            if (i + 1 < t.size() && t[i + 1] == '}') {
                literal.push_back('}');
                i += 2;
                continue;
            }
            error = at("unmatched '}'", i) + " (write }} for a literal brace)";
            return false;
        }
        if (c != '{') {
            literal.push_back(c);
            ++i;
            continue;
        }
        if (i + 1 < t.size() && t[i + 1] == '{') {
            literal.push_back('{');
            i += 2;
            continue;
        }
        // A placeholder: {name} or {name|k=v,...}
        const size_t open = i++;
        std::string token;
        bool escaped = false;
        char stop = read_until(t, i, "|}", token, escaped, error, open);
        if (!stop) return false;
        Part p;
        p.is_field = true;
        std::string_view name = trim(token);
        if (name.empty()) {
            error = at("empty placeholder '{}'", open) + " (write {{}} for literal braces)";
            return false;
        }
        if (!parse_field(name, p.field)) {
            error = at("unknown field '" + std::string(name) + "'", open) + " (known: " +
                    std::string(known_template_fields()) + ")";
            return false;
        }
        ++i; // past '|' or '}'
        if (stop == '|') {
            for (;;) {
                const size_t entry = i;
                std::string key, value;
                bool key_escaped = false, value_escaped = false;
                char s1 = read_until(t, i, "=,}", key, key_escaped, error, open);
                if (!s1) return false;
                if (s1 != '=') {
                    error = at("map entry '" + key + "' has no '='", entry);
                    return false;
                }
                ++i;
                char s2 = read_until(t, i, ",}", value, value_escaped, error, open);
                if (!s2) return false;
                ++i;
                std::string k(trim(key));
                if (k == "*" && !key_escaped) {
                    if (!p.has_default) {
                        p.has_default = true;
                        p.fallback = std::move(value);
                    }
                } else {
                    p.map.emplace_back(std::move(k), std::move(value)); // the first of duplicate keys wins
                }
                if (s2 == '}') break;
            }
        }
        flush_literal();
        tpl.parts_.push_back(std::move(p));
    }
    flush_literal();
    out = std::move(tpl);
    return true;
}

bool Template::is_constant() const {
    for (const auto& p : parts_)
        if (p.is_field) return false;
    return true;
}

std::string Template::constant_text() const {
    std::string s;
    for (const auto& p : parts_) s += p.literal;
    return s;
}

template <class Sink>
void Template::render_to(const Event& e, Sink&& sink) const {
    FieldScratch scratch;
    for (const auto& p : parts_) {
        if (!p.is_field) {
            sink(p.literal);
            continue;
        }
        bool present = true;
        std::string_view text = field_text(e, p.field, scratch, present);
        if (!p.map.empty() || p.has_default) {
            bool mapped = false;
            for (const auto& [k, v] : p.map) {
                if (k == text) {
                    sink(v);
                    mapped = true;
                    break;
                }
            }
            if (mapped) continue;
            if (p.has_default) {
                sink(p.fallback);
                continue;
            }
        }
        sink(text);
    }
}

void Template::render(const Event& e, std::string& out) const {
    render_to(e, [&](std::string_view s) { out += s; });
}

void Template::render_json_escaped(const Event& e, std::string& out) const {
    render_to(e, [&](std::string_view s) { append_json_escaped(out, s); });
}

namespace {
// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not one
// (overlong forms, surrogates and code points past U+10FFFF are invalid).
size_t utf8_sequence(std::string_view s, size_t i) {
    const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; }
    else return 0;
    if (i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k) {
        if ((b(i + k) & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (b(i + k) & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return n;
}
} // namespace

// Device attributes are bytes from the network: invalid UTF-8 becomes U+FFFD
// so the rendered params are always valid JSON for the sink's parser.
void append_json_escaped(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < s.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            size_t n = utf8_sequence(s, i);
            if (n == 0) {
                out += "\xEF\xBF\xBD";
            } else {
                out.append(s.data() + i, n);
                i += n - 1;
            }
            continue;
        }
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            if (c < 0x20) {
                out += "\\u00";
                out.push_back(hex[c >> 4]);
                out.push_back(hex[c & 15]);
            } else {
                out.push_back(static_cast<char>(c));
            }
        }
    }
}

} // namespace passerelle::kernel::routing
