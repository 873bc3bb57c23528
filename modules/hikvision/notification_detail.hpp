// Helpers shared by the notification decoders (XML scanner, JSON) and by the
// tests' reference DOM decoder: how a decoded value becomes an attr, a channel,
// a time, and how a notification is finished. Internal to hikvision_core.
#pragma once

#include "notification.hpp"

#include <string>
#include <string_view>

namespace passerelle::hikvision::detail {

bool iequals(std::string_view a, std::string_view b);
// Inline: called for every value of every part, most of them already trimmed.
inline std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}
// Positive decimal channel number, 0 when empty or not a number.
int32_t parse_channel(std::string_view s);
// Same, capped at 1000 (picture counts).
int parse_small_int(std::string_view s);
// "channelName" -> "channel_name", "URL" -> "url", "doorNo" -> "door_no".
std::string camel_to_snake(std::string_view s);
// Trimmed value set as attrs[key] unless empty (replacing an earlier value).
void set_attr(Event& e, std::string_view key, std::string_view value);
Activity parse_activity(std::string_view s);
// attrs.device_time and time_ns from the device's dateTime.
void set_time(Event& e, std::string_view raw);
// module, code, type (from relationEvent when given), heartbeat, pulse kinds.
void finish_notification(Notification& n, std::string_view code, std::string_view relation);

// decode_xml without its fast path (xml::scan_flat): the Scanner reads every
// document. The reference the fast path is tested against (tests, fuzz target).
Decoded decode_xml_scanned(std::string_view body, DecodeScope scope = DecodeScope::everything,
                           const FoldQuery* folds = nullptr);

} // namespace passerelle::hikvision::detail
