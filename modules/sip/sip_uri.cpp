#include "sip_uri.hpp"

#include "sip_message.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace sip {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

void parse_params(std::string_view s, std::vector<std::pair<std::string, std::string>>& out) {
    size_t pos = 0;
    while (pos < s.size()) {
        size_t end = s.find(';', pos);
        std::string_view item = trim(s.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos));
        if (!item.empty()) {
            size_t eq = item.find('=');
            std::string_view val = eq == std::string_view::npos ? std::string_view() : trim(item.substr(eq + 1));
            if (val.size() >= 2 && val.front() == '"' && val.back() == '"') val = val.substr(1, val.size() - 2);
            out.emplace_back(lower(trim(item.substr(0, eq))), std::string(val));
        }
        if (end == std::string_view::npos) break;
        pos = end + 1;
    }
}

} // namespace

bool Uri::has_param(std::string_view name) const {
    return std::any_of(params.begin(), params.end(), [&](const auto& p) { return iequals(p.first, name); });
}

std::string Uri::str() const {
    std::string out = scheme + ":";
    if (!user.empty()) out += user + "@";
    if (host.find(':') != std::string::npos) out += "[" + host + "]";
    else out += host;
    if (port) {
        out += ':';
        out += std::to_string(port);
    }
    for (const auto& [k, v] : params) {
        out += ";" + k;
        if (!v.empty()) out += "=" + v;
    }
    return out;
}

std::optional<Uri> parse_uri(std::string_view text) {
    text = trim(text);
    size_t colon = text.find(':');
    if (colon == std::string_view::npos || colon == 0 || text.size() > 2048) return std::nullopt;
    Uri u;
    u.scheme = lower(text.substr(0, colon));
    if (u.scheme != "sip" && u.scheme != "sips" && u.scheme != "tel") return std::nullopt;
    std::string_view rest = text.substr(colon + 1);
    if (size_t q = rest.find('?'); q != std::string_view::npos) rest = rest.substr(0, q);
    if (u.scheme == "tel") {
        size_t semi = rest.find(';');
        u.user = std::string(rest.substr(0, semi));
        if (semi != std::string_view::npos) parse_params(rest.substr(semi + 1), u.params);
        return u.user.empty() ? std::nullopt : std::optional<Uri>(u);
    }
    if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
        std::string_view userinfo = rest.substr(0, at);
        if (size_t pw = userinfo.find(':'); pw != std::string_view::npos) userinfo = userinfo.substr(0, pw);
        u.user = std::string(userinfo);
        rest = rest.substr(at + 1);
    }
    size_t semi = rest.find(';');
    std::string_view hostport = rest.substr(0, semi);
    if (semi != std::string_view::npos) parse_params(rest.substr(semi + 1), u.params);
    std::string_view portpart;
    if (!hostport.empty() && hostport.front() == '[') {
        size_t close = hostport.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        u.host = std::string(hostport.substr(1, close - 1));
        std::string_view after = hostport.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return std::nullopt;
            portpart = after.substr(1);
        }
    } else {
        size_t pc = hostport.find(':');
        u.host = std::string(hostport.substr(0, pc));
        if (pc != std::string_view::npos) portpart = hostport.substr(pc + 1);
    }
    if (u.host.empty()) return std::nullopt;
    for (char c : u.host)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '_')) return std::nullopt;
    if (!portpart.empty()) {
        unsigned p = 0;
        auto [ptr, ec] = std::from_chars(portpart.data(), portpart.data() + portpart.size(), p);
        if (ec != std::errc() || ptr != portpart.data() + portpart.size() || p == 0 || p > 65535) return std::nullopt;
        u.port = static_cast<uint16_t>(p);
    }
    return u;
}

std::optional<std::string> NameAddr::param(std::string_view name) const {
    for (const auto& [k, v] : params)
        if (iequals(k, name)) return v;
    return std::nullopt;
}

std::optional<NameAddr> parse_name_addr(std::string_view text) {
    text = trim(text);
    NameAddr na;
    size_t lt = std::string_view::npos;
    // Display name: quoted string or tokens before '<'.
    if (!text.empty() && text.front() == '"') {
        size_t i = 1;
        std::string disp;
        for (; i < text.size() && text[i] != '"'; ++i) {
            if (text[i] == '\\' && i + 1 < text.size()) ++i;
            disp += text[i];
        }
        if (i >= text.size()) return std::nullopt;
        na.display = disp;
        lt = text.find('<', i);
        if (lt == std::string_view::npos) return std::nullopt;
    } else {
        lt = text.find('<');
        if (lt != std::string_view::npos) na.display = std::string(trim(text.substr(0, lt)));
    }
    if (lt != std::string_view::npos) {
        size_t gt = text.find('>', lt);
        if (gt == std::string_view::npos) return std::nullopt;
        auto uri = parse_uri(text.substr(lt + 1, gt - lt - 1));
        if (!uri) return std::nullopt;
        na.uri = std::move(*uri);
        std::string_view after = trim(text.substr(gt + 1));
        if (!after.empty() && after.front() == ';') parse_params(after.substr(1), na.params);
        return na;
    }
    // addr-spec without <>: every ;param belongs to the header (RFC 3261 20.10).
    size_t semi = text.find(';');
    auto uri = parse_uri(text.substr(0, semi));
    if (!uri) return std::nullopt;
    na.uri = std::move(*uri);
    if (semi != std::string_view::npos) parse_params(text.substr(semi + 1), na.params);
    return na;
}

} // namespace sip
