#include "router/event_field.hpp"

#include <passerelle/event_json.hpp>

#include <charconv>
#include <cstdio>
#include <ctime>

namespace passerelle::kernel::routing {

namespace {
struct Named {
    std::string_view name;
    Field field;
};
constexpr Named kNames[] = {
    {"id", Field::id},
    {"time", Field::time},
    {"received", Field::received},
    {"time_unix", Field::time_unix},
    {"time_local", Field::time_local},
    {"source", Field::source},
    {"module", Field::module},
    {"type", Field::type},
    {"code", Field::code},
    {"channel", Field::channel},
    {"state", Field::state},
    {"attachment_mime", Field::attachment_mime},
    {"attachment_path", Field::attachment_path},
};
constexpr std::string_view kAttrsPrefix = "attrs.";

std::string_view format_int(char* buf, size_t size, int64_t v) {
    auto r = std::to_chars(buf, buf + size, v);
    return {buf, static_cast<size_t>(r.ptr - buf)};
}

int64_t floor_seconds(int64_t ns) {
    int64_t s = ns / 1000000000;
    if (ns % 1000000000 < 0) --s;
    return s;
}
} // namespace

bool parse_field(std::string_view name, FieldRef& out) {
    if (name.starts_with(kAttrsPrefix)) {
        if (name.size() == kAttrsPrefix.size()) return false;
        out.field = Field::attr;
        out.attr_key.assign(name.substr(kAttrsPrefix.size()));
        return true;
    }
    for (const auto& n : kNames) {
        if (n.name == name) {
            out.field = n.field;
            out.attr_key.clear();
            return true;
        }
    }
    return false;
}

bool is_matchable(Field f) {
    switch (f) {
    case Field::source:
    case Field::module:
    case Field::type:
    case Field::code:
    case Field::channel:
    case Field::state:
    case Field::attr: return true;
    default: return false;
    }
}

std::string_view known_template_fields() {
    return "id, time, received, time_unix, time_local, source, module, type, code, channel, state, "
           "attachment_mime, attachment_path, attrs.KEY";
}

std::string_view known_when_fields() { return "source, module, type, code, channel, state, attrs.KEY"; }

std::string_view field_text(const Event& e, const FieldRef& f, FieldScratch& scratch, bool& present) {
    present = true;
    switch (f.field) {
    case Field::id: return format_int(scratch.buf, sizeof scratch.buf, static_cast<int64_t>(e.id));
    case Field::time: scratch.text = format_rfc3339(e.time_ns); return scratch.text;
    case Field::received: scratch.text = format_rfc3339(e.received_ns); return scratch.text;
    case Field::time_unix: return format_int(scratch.buf, sizeof scratch.buf, floor_seconds(e.time_ns));
    case Field::time_local: {
        std::time_t t = static_cast<std::time_t>(floor_seconds(e.time_ns));
        std::tm tm{};
        localtime_r(&t, &tm);
        int n = std::snprintf(scratch.buf, sizeof scratch.buf, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900,
                              tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        return {scratch.buf, n > 0 ? static_cast<size_t>(n) : 0};
    }
    case Field::source: return e.source;
    case Field::module: return e.module;
    case Field::type: return e.type;
    case Field::code: return e.code;
    case Field::channel: return format_int(scratch.buf, sizeof scratch.buf, e.channel);
    case Field::state: return to_string(e.state);
    case Field::attachment_mime: return e.attachment_mime;
    case Field::attachment_path: return e.attachment_path;
    case Field::attr: {
        auto it = e.attrs.find(f.attr_key);
        if (it == e.attrs.end()) {
            present = false;
            return {};
        }
        return it->second;
    }
    }
    return {};
}

} // namespace passerelle::kernel::routing
