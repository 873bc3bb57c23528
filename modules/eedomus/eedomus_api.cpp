#include "eedomus_api.hpp"

#include <passerelle/http/url.hpp>
#include <passerelle/utf8.hpp>

#include <algorithm>
#include <cctype>

namespace passerelle::eedomus {

using http::url_encode;

std::optional<Api> make_api(std::string_view url, std::string user, std::string secret, std::string& error) {
    std::string base(url);
    while (!base.empty() && base.back() == '/') base.pop_back();
    auto parsed = http::parse_url(base);
    if (!parsed || base.find('?') != std::string::npos) {
        error = "must be the box (http://BOX_IP) or the cloud API (https://api.eedomus.com)";
        return std::nullopt;
    }
    Api api;
    api.base = base;
    std::string host = parsed->host;
    std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
    api.cloud = host == "eedomus.com" || (host.size() > 12 && host.compare(host.size() - 12, 12, ".eedomus.com") == 0);
    api.user = std::move(user);
    api.secret = std::move(secret);
    return api;
}

namespace {
std::string prefix(const Api& api, std::string_view verb) {
    return api.base + (api.cloud ? "/" : "/api/") + std::string(verb);
}
std::string credentials(const Api& api) {
    return "&api_user=" + url_encode(api.user) + "&api_secret=" + url_encode(api.secret);
}
} // namespace

std::string set_url(const Api& api, std::string_view periph_id, std::string_view value, std::string_view value_date) {
    std::string u = prefix(api, "set") + "?action=periph.value&periph_id=" + url_encode(periph_id) +
                    "&value=" + url_encode(value);
    if (!value_date.empty()) u += "&value_date=" + url_encode(value_date);
    return u + credentials(api);
}

std::string get_url(const Api& api, std::string_view periph_id) {
    return prefix(api, "get") + "?action=periph.caract&periph_id=" + url_encode(periph_id) + credentials(api);
}

std::optional<int64_t> loose_int(const nlohmann::json& v) {
    if (v.is_number_integer()) return v.get<int64_t>();
    if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
    if (v.is_string()) {
        const auto& s = v.get_ref<const std::string&>();
        try {
            size_t used = 0;
            int64_t n = std::stoll(s, &used);
            if (used == s.size()) return n;
        } catch (...) {
        }
    }
    return std::nullopt;
}

namespace {
std::string one_line(std::string_view text, size_t max = 160) {
    std::string s = repair_utf8(text.substr(0, max));
    for (char& c : s)
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    return s;
}

bool contains_any(const std::string& lower, std::initializer_list<std::string_view> words) {
    return std::any_of(words.begin(), words.end(), [&](std::string_view w) { return lower.find(w) != std::string::npos; });
}
} // namespace

ApiReply classify_reply(std::string_view raw, std::string_view what) {
    ApiReply out;
    Verdict& v = out.verdict;
    // The box may answer in Latin-1: nlohmann refuses invalid UTF-8, so convert first.
    const std::string text = is_valid_utf8(raw) ? std::string(raw) : latin1_to_utf8(raw);
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("success")) {
        v.kind = Verdict::retry;
        v.message = "eeDomus " + std::string(what) + ": the reply is not eeDomus JSON (" + one_line(text, 100) + ")";
        return out;
    }
    const auto success = loose_int(j["success"]);
    const nlohmann::json body = j.contains("body") ? j["body"] : nlohmann::json();
    if (success && *success == 1) {
        v.kind = Verdict::ok;
        out.body = body;
        return out;
    }
    std::string msg;
    int64_t code = 0;
    if (body.is_object()) {
        if (auto c = body.find("error_code"); c != body.end()) code = loose_int(*c).value_or(0);
        if (auto m = body.find("error_msg"); m != body.end() && m->is_string()) msg = m->get<std::string>();
    } else if (body.is_string()) {
        msg = body.get<std::string>();
    }
    out.code = code;
    std::string lower = msg;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    // eeDomus documents no stable table of codes: the credentials and the
    // peripheral are recognized by what the message is about.
    if (contains_any(lower, {"api_user", "api_secret", "authent", "identifi", "unauthorized", "not allowed",
                             "non autoris", "interdit", "forbidden", "credential"})) {
        v.kind = Verdict::pause;
        v.message = "eeDomus refused api_user/api_secret (error " + std::to_string(code) + ": " + one_line(msg) + ")";
    } else {
        v.kind = Verdict::give_up;
        v.message = "eeDomus " + std::string(what) + " error " + std::to_string(code) + ": " + one_line(msg);
    }
    return out;
}

} // namespace passerelle::eedomus
