#include "event_template.hpp"

#include <passerelle/event_json.hpp>
#include <passerelle/http/url.hpp>

#include <algorithm>

namespace webhook {

namespace {

bool name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
}

void append_escaped(std::string& out, std::string_view value, Escape escape) {
    switch (escape) {
    case Escape::none: out += value; break;
    case Escape::url: passerelle::http::append_url_encoded(out, value); break;
    case Escape::json: {
        // append_json_string adds the quotes; drop them.
        std::string quoted;
        passerelle::append_json_string(quoted, value);
        out.append(quoted, 1, quoted.size() - 2);
        break;
    }
    }
}

} // namespace

const char* EventTemplate::field_names() {
    return "id, time, received, time_unix, source, module, type, code, channel, state, attrs.KEY, params.NAME, event";
}

bool EventTemplate::parse_field(std::string_view name, Part& out) {
    static const std::pair<std::string_view, Field> names[] = {
        {"id", Field::id},         {"time", Field::time},     {"received", Field::received},
        {"time_unix", Field::time_unix}, {"source", Field::source}, {"module", Field::module},
        {"type", Field::type},     {"code", Field::code},     {"channel", Field::channel},
        {"state", Field::state},   {"event", Field::event},
    };
    for (const auto& [n, f] : names) {
        if (name == n) {
            out.field = f;
            return true;
        }
    }
    if (name.substr(0, 6) == "attrs.") {
        out.field = Field::attr;
        out.attr_key = std::string(name.substr(6));
        return true;
    }
    if (name.substr(0, 7) == "params.") {
        out.field = Field::param;
        out.attr_key = std::string(name.substr(7));
        return true;
    }
    return false;
}

EventTemplate EventTemplate::compile(std::string_view text) {
    EventTemplate t;
    t.text_ = std::string(text);
    std::string literal;
    size_t i = 0;
    while (i < text.size()) {
        if (text[i] != '{') {
            literal.push_back(text[i++]);
            continue;
        }
        // `{name}` with a known name is a placeholder; anything else is literal text.
        size_t j = i + 1;
        while (j < text.size() && text[j] != '}' && text[j] != '{' && text[j] != '|' && text[j] != '\n') ++j;
        std::string_view name = text.substr(i + 1, j - i - 1);
        Part p;
        bool known = !name.empty() && std::all_of(name.begin(), name.end(), name_char) && parse_field(name, p);
        if (j < text.size() && text[j] == '|' && known)
            throw TemplateError("{" + std::string(name) +
                                "|...}: value maps are rendered by the kernel in a route's params; write this url or "
                                "body in the route's params instead");
        if (j < text.size() && text[j] == '}' && known) {
            if ((p.field == Field::attr || p.field == Field::param) && p.attr_key.empty())
                throw TemplateError("{" + std::string(name) + "} names nothing");
            if (!literal.empty()) {
                Part lit;
                lit.literal = std::move(literal);
                literal.clear();
                t.parts_.push_back(std::move(lit));
            }
            p.is_field = true;
            t.parts_.push_back(std::move(p));
            i = j + 1;
            continue;
        }
        literal.push_back(text[i++]);
    }
    if (!literal.empty()) {
        Part lit;
        lit.literal = std::move(literal);
        t.parts_.push_back(std::move(lit));
    }
    return t;
}

std::string EventTemplate::render_sample() const {
    std::string out;
    for (const auto& p : parts_) {
        if (!p.is_field) out += p.literal;
        else if (p.field == Field::id || p.field == Field::channel || p.field == Field::time_unix) out += "1";
        else out += "x";
    }
    return out;
}

bool EventTemplate::is_constant() const {
    for (const auto& p : parts_)
        if (p.is_field) return false;
    return true;
}

void EventTemplate::append_value(const passerelle::Event& e, const Params* params, const Part& p, Escape escape,
                                 std::string& out) {
    switch (p.field) {
    case Field::id: out += std::to_string(e.id); return;
    case Field::time: out += passerelle::format_rfc3339(e.time_ns); return;
    case Field::received: out += passerelle::format_rfc3339(e.received_ns); return;
    case Field::time_unix: {
        int64_t s = e.time_ns / 1000000000;
        if (e.time_ns < 0 && e.time_ns % 1000000000) --s;
        out += std::to_string(s);
        return;
    }
    case Field::channel: out += std::to_string(e.channel); return;
    case Field::state: out += passerelle::to_string(e.state); return;
    case Field::source: append_escaped(out, e.source, escape); return;
    case Field::module: append_escaped(out, e.module, escape); return;
    case Field::type: append_escaped(out, e.type, escape); return;
    case Field::code: append_escaped(out, e.code, escape); return;
    case Field::attr: append_escaped(out, e.attr(p.attr_key), escape); return;
    case Field::param:
        if (params) {
            if (auto it = params->find(p.attr_key); it != params->end()) append_escaped(out, it->second, escape);
        }
        return;
    case Field::event: {
        // The whole event as JSON (the file log's shape), escaped like any value:
        // raw in a JSON body (`"event": {event}`), percent-encoded in a URL.
        std::string json;
        passerelle::append_event_json(json, e);
        append_escaped(out, json, escape == Escape::json ? Escape::none : escape);
        return;
    }
    }
}

std::string EventTemplate::render(const passerelle::Event& e, Escape escape, const Params* params) const {
    std::string out;
    out.reserve(text_.size() + 32);
    for (const auto& p : parts_) {
        if (p.is_field) append_value(e, params, p, escape, out);
        else out += p.literal;
    }
    return out;
}

} // namespace webhook
