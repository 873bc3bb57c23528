// Query-string encoding shared by the Jeedom plain API and the eeDomus API,
// and masking of a secret that travels in a URL. Pure.
#pragma once

#include <string>
#include <string_view>

namespace passerelle::homeauto {

// RFC 3986 percent-encoding of everything but unreserved characters.
std::string url_encode(std::string_view text);

// `text` with every occurrence of `secret` (raw and percent-encoded) replaced
// by "***". A secret shorter than 3 characters is still masked.
std::string mask_secret(std::string text, std::string_view secret);

} // namespace passerelle::homeauto
