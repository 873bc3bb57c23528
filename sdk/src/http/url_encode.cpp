// Percent-encoding of the values a module puts into a URL (declared in url.hpp).
#include <passerelle/http/url.hpp>

namespace passerelle::http {

void append_url_encoded(std::string& out, std::string_view text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    for (unsigned char c : text) {
        const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                c == '-' || c == '_' || c == '.' || c == '~';
        if (unreserved) {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
}

std::string url_encode(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 2);
    append_url_encoded(out, text);
    return out;
}

} // namespace passerelle::http
