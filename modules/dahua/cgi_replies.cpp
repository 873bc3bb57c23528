#include "cgi_replies.hpp"

#include <charconv>

namespace passerelle::dahua {

// Epoch seconds that still fit in int64 nanoseconds (until 2255); beyond is garbage.
constexpr int64_t kMaxEpochSeconds = 9'000'000'000;

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

// "records[12].CreateTime" -> (12, "CreateTime") under `prefix` "records"; nullopt otherwise.
std::optional<std::pair<int, std::string_view>> indexed(std::string_view key, std::string_view prefix) {
    if (key.substr(0, prefix.size()) != prefix) return std::nullopt;
    key.remove_prefix(prefix.size());
    if (key.empty() || key.front() != '[') return std::nullopt;
    auto close = key.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    int n = -1;
    auto digits = key.substr(1, close - 1);
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc() || p != digits.data() + digits.size() || n < 0 || n > 100000) return std::nullopt;
    key.remove_prefix(close + 1);
    if (key.empty() || key.front() != '.') return std::nullopt;
    return std::make_pair(n, key.substr(1));
}

} // namespace

std::vector<std::pair<std::string, std::string>> parse_kv_lines(std::string_view text, std::size_t max_lines) {
    std::vector<std::pair<std::string, std::string>> out;
    while (!text.empty() && out.size() < max_lines) {
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        line = trim(line);
        auto eq = line.find('=');
        if (eq == std::string_view::npos || eq == 0) continue;
        out.emplace_back(std::string(trim(line.substr(0, eq))), std::string(trim(line.substr(eq + 1))));
    }
    return out;
}

SystemInfo parse_system_info(std::string_view text) {
    SystemInfo info;
    std::string update_serial;
    for (auto& [k, v] : parse_kv_lines(text)) {
        if (k == "deviceType") info.model = v;
        else if (k == "updateSerial") update_serial = v;
        else if (k == "serialNumber") info.serial = v;
        else if (k == "hardwareVersion") info.hardware = v;
    }
    if (info.model.empty()) info.model = update_serial;
    return info;
}

std::map<int, std::string> parse_channel_titles(std::string_view text) {
    std::map<int, std::string> out;
    for (auto& [k, v] : parse_kv_lines(text)) {
        std::string_view key = k;
        if (key.substr(0, 6) == "table.") key.remove_prefix(6);
        auto ix = indexed(key, "ChannelTitle");
        if (ix && ix->second == "Name" && !v.empty()) out[ix->first + 1] = v;
    }
    return out;
}

std::vector<CallRecord> parse_call_log(std::string_view text) {
    std::map<int, CallRecord> by_index;
    std::map<int, bool> has_time;
    for (auto& [k, v] : parse_kv_lines(text)) {
        auto ix = indexed(k, "records");
        if (!ix) continue;
        CallRecord& r = by_index[ix->first];
        if (ix->second == "CreateTime") {
            int64_t t = 0;
            auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), t);
            if (ec == std::errc() && p == v.data() + v.size() && t > 0 && t < kMaxEpochSeconds) {
                r.create_time = t;
                has_time[ix->first] = true;
            }
        } else if (ix->second == "EndState") r.end_state = v;
        else if (ix->second == "PeerNumber") r.peer = v;
        else if (ix->second == "RecNo") r.rec_no = v;
    }
    std::vector<CallRecord> out;
    for (auto& [i, r] : by_index)
        if (has_time[i]) out.push_back(std::move(r));
    return out;
}

bool is_ok_reply(std::string_view text) {
    text = trim(text);
    return text.size() == 2 && (text[0] == 'O' || text[0] == 'o') && (text[1] == 'K' || text[1] == 'k');
}

} // namespace passerelle::dahua
