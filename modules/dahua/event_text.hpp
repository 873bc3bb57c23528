// One CGI event part body, e.g.
//   Code=VideoMotion;action=Start;index=0;data={ ...JSON over several lines... }
// split into its fields. `data=` is always last and runs to the end of the event
// (its JSON may contain ';', '=' and line breaks). Some firmware puts several
// events in one part, one per line starting with "Code=": parse_event_texts splits them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace passerelle::dahua {

struct EventText {
    std::string code;              // "VideoMotion"
    std::string action;            // "Start", "Stop", "Pulse", "State"...
    std::optional<long> index;     // 0-based channel index when present and numeric
    std::string data;              // raw JSON text after "data=", trimmed ("" when absent)
    std::vector<std::pair<std::string, std::string>> extra; // any other key=value, in order
};

// Parses one event; nullopt when there is no Code.
std::optional<EventText> parse_event_text(std::string_view text);

// Every event of a part body (usually one).
std::vector<EventText> parse_event_texts(std::string_view body);

} // namespace passerelle::dahua
