#include "api/sse_frame.hpp"

namespace passerelle::kernel::api {

static void append_single_line(std::string& out, std::string_view s) {
    for (char c : s) out.push_back(c == '\n' || c == '\r' ? ' ' : c);
}

std::string format_sse_event(uint64_t id, std::string_view type, std::string_view data) {
    std::string out;
    out.reserve(32 + type.size() + data.size());
    out += "id: ";
    out += std::to_string(id);
    out += "\nevent: ";
    append_single_line(out, type);
    out += '\n';
    while (true) {
        auto nl = data.find_first_of("\r\n");
        out += "data: ";
        out.append(data.substr(0, nl));
        out += '\n';
        if (nl == std::string_view::npos) break;
        // CRLF counts as one line break
        data.remove_prefix(nl + ((data[nl] == '\r' && nl + 1 < data.size() && data[nl + 1] == '\n') ? 2 : 1));
    }
    out += '\n';
    return out;
}

std::string format_sse_comment(std::string_view text) {
    std::string out = ": ";
    append_single_line(out, text);
    out += "\n\n";
    return out;
}

} // namespace passerelle::kernel::api
