// Parsers for the small `key=value` replies of Dahua CGI endpoints (magicBox,
// configManager getConfig, recordFinder). Pure: text in, values out.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace passerelle::dahua {

// "a=b\r\nc=d\n" -> {{a,b},{c,d}}; lines without '=' are skipped; values keep
// everything after the first '=' (trailing CR/spaces trimmed). Capped at
// `max_lines` lines so a hostile reply cannot grow the map without bound.
std::vector<std::pair<std::string, std::string>> parse_kv_lines(std::string_view text,
                                                                std::size_t max_lines = 4096);

struct SystemInfo {
    std::string model;  // deviceType (else updateSerial)
    std::string serial; // serialNumber
    std::string hardware;
};
SystemInfo parse_system_info(std::string_view text);

// table.ChannelTitle[0].Name=Front -> {1: "Front"} (1-based channel numbers).
std::map<int, std::string> parse_channel_titles(std::string_view text);

struct CallRecord {
    int64_t create_time = 0; // device time, seconds since the epoch
    std::string end_state;   // "Missed", "Received"...
    std::string peer;        // PeerNumber
    std::string rec_no;
};
// recordFinder.cgi?action=find&name=VideoTalkLog -> records (missing CreateTime: skipped).
std::vector<CallRecord> parse_call_log(std::string_view text);

// "OK" (any case, surrounded by whitespace) is how setConfig/openDoor say yes.
bool is_ok_reply(std::string_view text);

} // namespace passerelle::dahua
