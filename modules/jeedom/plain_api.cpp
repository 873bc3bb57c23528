#include "plain_api.hpp"

#include <passerelle/http/url.hpp>
#include <passerelle/utf8.hpp>

#include <algorithm>
#include <cctype>

namespace passerelle::jeedom {

using http::url_encode;

std::string plain_event_target(std::string_view apikey, bool virtual_plugin, std::string_view id,
                               std::string_view value) {
    std::string t = "/core/api/jeeApi.php?apikey=" + url_encode(apikey);
    if (virtual_plugin) t += "&plugin=virtual&type=event";
    else t += "&type=cmd";
    t += "&id=" + url_encode(id) + "&value=" + url_encode(value);
    return t;
}

Verdict classify_plain_reply(std::string_view body) {
    std::string lower(body.substr(0, 512));
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    Verdict v;
    auto has = [&](std::string_view s) { return lower.find(s) != std::string::npos; };
    std::string text = repair_utf8(body.substr(0, 120));
    for (char& c : text)
        if (c == '\n' || c == '\r') c = ' ';
    if (has("autoris") || has("not authorized") || has("unauthorized") || has("clef api") || has("api key")) {
        v = verdict(http::Verdict::pause, "Jeedom refused the API key: " + text);
    } else if (has("introuvable") || has("aucune commande") || has("not found") || has("inconnu")) {
        v = stale_verdict("Jeedom: unknown command: " + text);
    }
    return v;
}

} // namespace passerelle::jeedom
