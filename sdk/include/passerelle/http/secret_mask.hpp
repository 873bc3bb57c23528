// Keeping a secret that travels in a URL (an API key in a query string, as
// Jeedom's plain API and eeDomus want) out of every message a module writes:
// logs, health details, replies. Pure; link passerelle::http.
#pragma once

#include <string>
#include <string_view>

namespace passerelle::http {

// `text` with every occurrence of `secret`, raw and percent-encoded
// (url_encode), replaced by "***". A short secret is still masked: a leak is
// worse than an odd-looking message. An empty secret changes nothing.
std::string mask_secret(std::string text, std::string_view secret);

} // namespace passerelle::http
