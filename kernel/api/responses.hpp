// The API's answers as plain values (status, content type, body), built
// without any I/O so the formats are tested alone. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace passerelle::kernel::api {

inline constexpr std::string_view kJsonType = "application/json";
inline constexpr std::string_view kXmlType = "application/xml";
inline constexpr std::string_view kMetricsType = "text/plain; version=0.0.4";

struct ApiResponse {
    unsigned status = 200;
    std::string content_type{kJsonType};
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers; // extra: Allow, WWW-Authenticate
};

// Deeper JSON is refused (request bodies) or not converted (XML): nlohmann's
// writer and our XML writer recurse, so a hostile "[[[[..." must not reach them.
inline constexpr size_t kMaxJsonDepth = 64;
// True when `text` nests arrays/objects deeper than `max_depth` (strings are skipped).
bool json_too_deep(std::string_view text, size_t max_depth = kMaxJsonDepth);

// {"error":"<message>"} (+ "status":"<status_name>" when given), or as XML
// <result><error>…</error><status>…</status></result> when `xml`.
ApiResponse error_response(unsigned http_status, std::string_view message, bool xml = false,
                           std::string_view status_name = {});

// The answer to an action: PL_OK -> 200 with the module's JSON result ("{}" when
// empty); otherwise the mapped HTTP status and {"error","status"}.
// A result that is not valid JSON is the module's bug: 500.
ApiResponse action_response(int32_t pl_status, std::string_view result_or_message, bool xml);

} // namespace passerelle::kernel::api
