#include "api/responses.hpp"

#include "api/action_status.hpp"
#include "api/xml_format.hpp"

#include <passerelle/abi.h>

#include <nlohmann/json.hpp>

namespace passerelle::kernel::api {

bool json_too_deep(std::string_view text, size_t max_depth) {
    size_t depth = 0;
    bool in_string = false, escaped = false;
    for (char c : text) {
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
            continue;
        }
        if (c == '"') in_string = true;
        else if (c == '[' || c == '{') {
            if (++depth > max_depth) return true;
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return false;
}

static std::string dump(const nlohmann::json& j) {
    // `replace`: a message carrying invalid UTF-8 must not turn into an exception.
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ApiResponse error_response(unsigned http_status, std::string_view message, bool xml, std::string_view status_name) {
    nlohmann::json j = nlohmann::json::object();
    j["error"] = std::string(message);
    if (!status_name.empty()) j["status"] = std::string(status_name);
    ApiResponse r;
    r.status = http_status;
    if (xml) {
        r.content_type = kXmlType;
        r.body = json_to_xml(j);
    } else {
        r.body = dump(j);
    }
    return r;
}

ApiResponse action_response(int32_t pl_status, std::string_view text, bool xml) {
    if (pl_status != PL_OK)
        return error_response(http_status_for(pl_status), text, xml, status_name(pl_status));
    std::string_view body = text;
    bool blank = body.find_first_not_of(" \t\r\n") == std::string_view::npos;
    if (blank) body = "{}";
    if (json_too_deep(body) || !nlohmann::json::accept(body))
        return error_response(500, "the module returned a result that is not valid JSON", xml,
                              status_name(PL_ERR_INTERNAL));
    ApiResponse r;
    if (xml) {
        r.content_type = kXmlType;
        r.body = json_to_xml(nlohmann::ordered_json::parse(body)); // keep the module's key order
    } else {
        r.body = std::string(body);
    }
    return r;
}

} // namespace passerelle::kernel::api
