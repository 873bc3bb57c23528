#include "query.hpp"

namespace passerelle::homeauto {

std::string url_encode(std::string_view text) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size() + text.size() / 2);
    for (unsigned char c : text) {
        const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                c == '-' || c == '_' || c == '.' || c == '~';
        if (unreserved) out.push_back(static_cast<char>(c));
        else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

namespace {
void replace_all(std::string& text, std::string_view needle) {
    if (needle.empty()) return;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 3))
        text.replace(at, needle.size(), "***");
}
} // namespace

std::string mask_secret(std::string text, std::string_view secret) {
    if (secret.empty()) return text;
    replace_all(text, secret);
    const std::string encoded = url_encode(secret);
    if (encoded != secret) replace_all(text, encoded);
    return text;
}

} // namespace passerelle::homeauto
