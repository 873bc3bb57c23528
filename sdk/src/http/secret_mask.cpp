#include <passerelle/http/secret_mask.hpp>
#include <passerelle/http/url.hpp>

namespace passerelle::http {

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

} // namespace passerelle::http
