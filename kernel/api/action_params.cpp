#include "api/action_params.hpp"

#include "api/responses.hpp"

#include <nlohmann/json.hpp>

#include <cctype>

namespace passerelle::kernel::api {

// "Application/JSON; charset=utf-8" -> "application/json"
static std::string media_type(std::string_view content_type) {
    content_type = content_type.substr(0, content_type.find(';'));
    std::string out;
    for (char c : content_type)
        if (c != ' ' && c != '\t') out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    return out;
}

ActionParams build_action_params(const QueryParams& query, std::string_view content_type, std::string_view body) {
    ActionParams out;
    nlohmann::json params = nlohmann::json::object();
    std::string type = media_type(content_type);
    bool blank = body.find_first_not_of(" \t\r\n") == std::string_view::npos;
    if (!body.empty()) {
        bool is_json = type.empty() || type == "application/json" ||
                       (type.size() > 5 && type.compare(type.size() - 5, 5, "+json") == 0);
        if (type == "application/x-www-form-urlencoded") {
            for (auto& [k, v] : parse_query(body)) params[k] = v;
        } else if (!is_json) {
            out.error_status = 415;
            out.error = "unsupported Content-Type '" + std::string(content_type) +
                        "': send application/json or application/x-www-form-urlencoded";
            return out;
        } else if (!(type.empty() && blank)) {
            if (json_too_deep(body)) {
                out.error_status = 400;
                out.error = "request body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels";
                return out;
            }
            auto parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
            if (parsed.is_discarded()) {
                out.error_status = 400;
                out.error = "request body is not valid JSON";
                return out;
            }
            if (!parsed.is_object()) {
                out.error_status = 400;
                out.error = "request body must be a JSON object";
                return out;
            }
            params = std::move(parsed);
        }
    }
    for (const auto& [k, v] : query) {
        if (k == "token" || k == "format") continue;
        params[k] = v;
    }
    out.json = params.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return out;
}

} // namespace passerelle::kernel::api
