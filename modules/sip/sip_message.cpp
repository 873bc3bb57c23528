#include "sip_message.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace sip {
namespace {

struct NameMap {
    const char* compact;
    const char* full;
};
// RFC 3261 7.3.3 and the registry of compact forms.
constexpr NameMap kCompact[] = {
    {"i", "Call-ID"}, {"m", "Contact"}, {"e", "Content-Encoding"}, {"l", "Content-Length"},
    {"c", "Content-Type"}, {"f", "From"}, {"s", "Subject"}, {"k", "Supported"}, {"t", "To"},
    {"v", "Via"}, {"o", "Event"}, {"r", "Refer-To"}, {"u", "Allow-Events"}, {"x", "Session-Expires"},
    {"b", "Referred-By"},
};
constexpr const char* kKnown[] = {
    "Via", "From", "To", "Call-ID", "CSeq", "Contact", "Content-Length", "Content-Type", "Max-Forwards",
    "Route", "Record-Route", "Expires", "Min-Expires", "WWW-Authenticate", "Proxy-Authenticate",
    "Authorization", "Proxy-Authorization", "User-Agent", "Server", "Allow", "Supported", "Require",
    "Unsupported", "P-Asserted-Identity", "Event", "Subject", "Accept", "Content-Encoding", "Retry-After",
    "Session-Expires", "Refer-To", "Referred-By", "Allow-Events", "Date", "Timestamp",
};

bool valid_token_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("-.!%*_+`'~").find(c) != std::string_view::npos;
}

} // namespace

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
    return s;
}

std::string canonical_name(std::string_view name) {
    name = trim(name);
    if (name.size() == 1) {
        for (const auto& m : kCompact)
            if (iequals(name, m.compact)) return m.full;
    }
    for (const char* k : kKnown)
        if (iequals(name, k)) return k;
    return std::string(name);
}

std::vector<std::string> split_commas(std::string_view v) {
    std::vector<std::string> out;
    bool quoted = false;
    int angle = 0;
    size_t start = 0;
    for (size_t i = 0; i < v.size(); ++i) {
        char c = v[i];
        if (quoted) {
            if (c == '\\' && i + 1 < v.size()) ++i;
            else if (c == '"') quoted = false;
        } else if (c == '"') {
            quoted = true;
        } else if (c == '<') {
            ++angle;
        } else if (c == '>') {
            if (angle > 0) --angle;
        } else if (c == ',' && angle == 0) {
            auto part = trim(v.substr(start, i - start));
            if (!part.empty()) out.emplace_back(part);
            start = i + 1;
        }
    }
    auto part = trim(v.substr(start));
    if (!part.empty()) out.emplace_back(part);
    return out;
}

std::optional<std::string> header_param(std::string_view value, std::string_view name) {
    // Params start after the name-addr's closing '>' (or the whole value for a bare URI,
    // whose own ;params then count: Via and Contact without <> work that way).
    size_t from = 0;
    bool quoted = false;
    for (size_t i = 0; i < value.size(); ++i) {
        if (value[i] == '"') quoted = !quoted;
        else if (!quoted && value[i] == '>') from = i + 1;
    }
    std::string_view rest = value.substr(from);
    size_t pos = 0;
    while ((pos = rest.find(';', pos)) != std::string_view::npos) {
        ++pos;
        size_t end = rest.find(';', pos);
        std::string_view item = rest.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
        size_t eq = item.find('=');
        std::string_view key = trim(item.substr(0, eq));
        if (iequals(key, name)) {
            if (eq == std::string_view::npos) return std::string();
            std::string_view val = trim(item.substr(eq + 1));
            if (val.size() >= 2 && val.front() == '"' && val.back() == '"') val = val.substr(1, val.size() - 2);
            return std::string(val);
        }
        if (end == std::string_view::npos) break;
    }
    return std::nullopt;
}

const std::string* Message::get(std::string_view name) const {
    std::string n = canonical_name(name);
    for (const auto& h : headers)
        if (iequals(h.name, n)) return &h.value;
    return nullptr;
}

std::vector<std::string> Message::get_lines(std::string_view name) const {
    std::string n = canonical_name(name);
    std::vector<std::string> out;
    for (const auto& h : headers)
        if (iequals(h.name, n)) out.push_back(h.value);
    return out;
}

std::vector<std::string> Message::get_all(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& line : get_lines(name))
        for (auto& v : split_commas(line)) out.push_back(std::move(v));
    return out;
}

void Message::add(std::string_view name, std::string value) { headers.push_back({canonical_name(name), std::move(value)}); }

void Message::set(std::string_view name, std::string value) {
    remove(name);
    add(name, std::move(value));
}

void Message::remove(std::string_view name) {
    std::string n = canonical_name(name);
    headers.erase(std::remove_if(headers.begin(), headers.end(), [&](const Header& h) { return iequals(h.name, n); }),
                  headers.end());
}

uint32_t Message::cseq_number() const {
    const std::string* v = get("CSeq");
    if (!v) return 0;
    std::string_view s = trim(*v);
    uint32_t n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc()) return 0;
    return n;
}

std::string Message::cseq_method() const {
    const std::string* v = get("CSeq");
    if (!v) return {};
    std::string_view s = trim(*v);
    size_t sp = s.find_first_of(" \t");
    if (sp == std::string_view::npos) return {};
    return std::string(trim(s.substr(sp)));
}

std::string Message::serialize() const {
    std::string out;
    out.reserve(512 + body.size());
    if (request) out += method + " " + uri + " SIP/2.0\r\n";
    else out += "SIP/2.0 " + std::to_string(status) + " " + reason + "\r\n";
    for (const auto& h : headers) {
        if (iequals(h.name, "Content-Length")) continue;
        out += h.name;
        out += ": ";
        out += h.value;
        out += "\r\n";
    }
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    out += body;
    return out;
}

ParseResult parse(std::string_view data, const Limits& limits) {
    ParseResult r;
    if (data.size() > limits.max_message) {
        r.error = "message too large";
        return r;
    }
    // Keep-alives (CRLF) and leading blank lines are not messages.
    size_t head_end = data.find("\r\n\r\n");
    size_t sep_len = 4;
    if (head_end == std::string_view::npos) {
        head_end = data.find("\n\n");
        sep_len = 2;
    }
    std::string_view head = head_end == std::string_view::npos ? data : data.substr(0, head_end);
    std::string_view rest = head_end == std::string_view::npos ? std::string_view() : data.substr(head_end + sep_len);

    // Split lines (CRLF or bare LF), unfolding continuation lines.
    std::vector<std::string> lines;
    size_t pos = 0;
    while (pos <= head.size()) {
        size_t nl = head.find('\n', pos);
        std::string_view line = head.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (!line.empty() && (line.front() == ' ' || line.front() == '\t') && lines.size() > 1) {
            lines.back() += ' ';
            lines.back() += trim(line);
            if (lines.back().size() > limits.max_header_bytes) {
                r.error = "header too large";
                return r;
            }
        } else if (!line.empty()) {
            if (lines.size() > limits.max_headers) {
                r.error = "too many headers";
                return r;
            }
            lines.emplace_back(line);
        }
        if (nl == std::string_view::npos) break;
        pos = nl + 1;
    }
    if (lines.empty()) {
        r.error = "empty";
        return r;
    }

    Message m;
    std::string_view start = lines[0];
    if (start.size() > limits.max_start_line) {
        r.error = "start line too large";
        return r;
    }
    if (start.substr(0, 8) == "SIP/2.0 ") {
        std::string_view s = start.substr(8);
        int code = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), code);
        if (ec != std::errc() || code < 100 || code > 699 || p != s.data() + 3) {
            r.error = "bad status line";
            return r;
        }
        m.status = code;
        m.reason = std::string(trim(s.substr(3)));
    } else {
        size_t sp1 = start.find(' ');
        size_t sp2 = sp1 == std::string_view::npos ? sp1 : start.find(' ', sp1 + 1);
        if (sp1 == std::string_view::npos || sp2 == std::string_view::npos || start.substr(sp2 + 1) != "SIP/2.0") {
            r.error = "bad request line";
            return r;
        }
        std::string_view method = start.substr(0, sp1);
        if (method.empty() || !std::all_of(method.begin(), method.end(), valid_token_char)) {
            r.error = "bad method";
            return r;
        }
        std::string_view uri = start.substr(sp1 + 1, sp2 - sp1 - 1);
        if (uri.empty() || uri.find_first_of(" \t") != std::string_view::npos) {
            r.error = "bad request uri";
            return r;
        }
        m.request = true;
        m.method = std::string(method);
        m.uri = std::string(uri);
    }
    for (size_t i = 1; i < lines.size(); ++i) {
        std::string_view line = lines[i];
        size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) {
            r.error = "bad header line";
            return r;
        }
        std::string_view name = trim(line.substr(0, colon));
        if (name.empty() || !std::all_of(name.begin(), name.end(), valid_token_char)) {
            r.error = "bad header name";
            return r;
        }
        if (line.size() > limits.max_header_bytes) {
            r.error = "header too large";
            return r;
        }
        m.headers.push_back({canonical_name(name), std::string(trim(line.substr(colon + 1)))});
    }
    for (const char* mandatory : {"Via", "From", "To", "Call-ID", "CSeq"}) {
        if (!m.get(mandatory)) {
            r.error = std::string("missing ") + mandatory;
            return r;
        }
    }
    if (m.cseq_number() == 0 && trim(m.value("CSeq")).substr(0, 1) != "0") {
        r.error = "bad CSeq";
        return r;
    }
    if (m.request && !iequals(m.cseq_method(), m.method) && m.method != "ACK" && m.method != "CANCEL") {
        // ACK/CANCEL carry their own method too, but be lenient only about case.
    }
    if (const std::string* cl = m.get("Content-Length")) {
        std::string_view s = trim(*cl);
        size_t n = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
        if (ec != std::errc() || p != s.data() + s.size()) {
            r.error = "bad Content-Length";
            return r;
        }
        if (n > rest.size()) {
            r.error = "truncated body";
            return r;
        }
        m.body = std::string(rest.substr(0, n));
    } else {
        m.body = std::string(rest);  // UDP: the datagram ends the body (RFC 3261 18.3)
    }
    r.message = std::move(m);
    return r;
}

} // namespace sip
