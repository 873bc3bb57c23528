// eeDomus API: request URLs and the classification of replies. Pure.
//
// The box's local API lives at http://BOX_IP/api/set and /api/get; the cloud
// API at https://api.eedomus.com/set and /get. Everything travels in the
// query string, the api_secret too (so every message is masked by the caller).
// Replies are JSON {"success":1,"body":...}; `success` and `error_code` may be
// numbers or strings, and the body may be Latin-1 (converted to UTF-8 here).
#pragma once

#include <passerelle/http/verdict.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace passerelle::eedomus {

using http::Verdict;

struct Api {
    std::string base; // "http://192.168.1.20" (no trailing slash)
    bool cloud = false;
    std::string user;
    std::string secret;
};

// Validates `url` and picks local or cloud paths (cloud when the host is
// api.eedomus.com or another *.eedomus.com). nullopt + error when unusable.
std::optional<Api> make_api(std::string_view url, std::string user, std::string secret, std::string& error);

// .../set?action=periph.value&periph_id=&value=[&value_date=]&api_user=&api_secret=
std::string set_url(const Api& api, std::string_view periph_id, std::string_view value, std::string_view value_date);
// .../get?action=periph.caract&periph_id=&api_user=&api_secret=
std::string get_url(const Api& api, std::string_view periph_id);

// eeDomus has no "stale" case of its own: an unknown periph is a give_up, a
// refused api_user/api_secret a pause, a body that is not eeDomus JSON a retry.
struct ApiReply {
    Verdict verdict;
    int64_t code = 0;    // the box's error_code when it gave one
    nlohmann::json body; // "body" (UTF-8) on success
};

// A 200 body. `what` names the call in messages ("periph 1234").
ApiReply classify_reply(std::string_view raw, std::string_view what);

// success/error_code as a number whether sent as 1 or "1"; nullopt otherwise.
std::optional<int64_t> loose_int(const nlohmann::json& v);

} // namespace passerelle::eedomus
