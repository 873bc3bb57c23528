// UTF-8 checks shared by the kernel and modules: devices send Latin-1, broken
// bytes and truncated sequences; JSON readers reject all of them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace passerelle {

// Strict: rejects overlong forms, surrogates and values past U+10FFFF.
inline bool is_valid_utf8(std::string_view s) {
    size_t i = 0;
    const size_t n = s.size();
    while (i < n) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) { ++i; continue; }
        size_t len;
        uint32_t cp;
        if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
        else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
        else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
        else return false;
        if (i + len > n) return false;
        for (size_t k = 1; k < len; ++k) {
            unsigned char cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += len;
    }
    return true;
}

// Valid sequences go through as they are; each byte that does not start one becomes U+FFFD.
inline std::string repair_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        size_t best = 0;
        for (size_t len = 1; len <= 4 && i + len <= s.size(); ++len) {
            if (is_valid_utf8(s.substr(i, len))) { best = len; break; }
        }
        if (best) { out.append(s.substr(i, best)); i += best; }
        else { out += "\xEF\xBF\xBD"; ++i; }
    }
    return out;
}

// Latin-1 (ISO 8859-1) to UTF-8, for devices and boxes that still answer in it.
inline std::string latin1_to_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size() + s.size() / 8);
    for (unsigned char c : s) {
        if (c < 0x80) out.push_back(static_cast<char>(c));
        else { out.push_back(static_cast<char>(0xC0 | (c >> 6))); out.push_back(static_cast<char>(0x80 | (c & 0x3F))); }
    }
    return out;
}

} // namespace passerelle
