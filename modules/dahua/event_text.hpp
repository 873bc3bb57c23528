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

// Where the event after the one starting at `from` starts: the next line that
// starts with "Code=" (JSON lines never do); npos when there is none.
std::size_t next_event_start(std::string_view body, std::size_t from);

// parse_event_texts without the vector: fn(EventText&&) for every event, in order.
template <class Fn>
void for_each_event_text(std::string_view body, Fn&& fn) {
    for (std::size_t start = 0;;) {
        const std::size_t next = next_event_start(body, start);
        if (auto ev = parse_event_text(body.substr(start, next == std::string_view::npos ? next : next - start)))
            fn(std::move(*ev));
        if (next == std::string_view::npos) return;
        start = next;
    }
}

} // namespace passerelle::dahua
