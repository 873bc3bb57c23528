// Server-sent events wire format (WHATWG HTML, "Server-sent events"). Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace passerelle::kernel::api {

// "id: <id>\nevent: <type>\ndata: <json>\n\n". A line break inside `type` would
// end the field early, so CR/LF there become spaces; a multi-line `data` is sent
// as several `data:` lines, which the client joins back with "\n".
std::string format_sse_event(uint64_t id, std::string_view type, std::string_view data);

// ": <text>\n\n", a comment every client ignores (keeps proxies and NATs awake).
std::string format_sse_comment(std::string_view text);

} // namespace passerelle::kernel::api
