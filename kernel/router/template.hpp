// Param templates: the string values of a route's `params`.
//
//   {field}              the event field's text (see event_field.hpp for names)
//   {attrs.key}          an attribute; a missing attribute renders as ""
//   {field|a=x,b=y,*=z}  maps the field's text: a -> x, b -> y, anything else -> z;
//                        with no match and no `*`, the text itself
//   {{  }}               literal braces
//
// Inside a placeholder, `\` escapes the next character (so a map key or value
// may hold `,` `=` `}` `{` `|` or `\`); spaces around the field name and map
// keys are ignored, map values are taken verbatim. Nothing is evaluated: a
// template is text and field look-ups, so a config can never run code.
#pragma once

#include "router/event_field.hpp"

#include <passerelle/event.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace passerelle::kernel::routing {

class Template {
public:
    // Returns false and sets `error` (naming the offset) for unknown fields,
    // unclosed or unmatched braces, empty placeholders and malformed maps.
    static bool compile(std::string_view text, Template& out, std::string& error);

    // True when the template has no placeholder (its text never changes).
    bool is_constant() const;
    // The text of a constant template.
    std::string constant_text() const;

    // Appends the rendered text, raw.
    void render(const Event& e, std::string& out) const;
    // Appends the rendered text as the inside of a JSON string (escaped, no quotes).
    void render_json_escaped(const Event& e, std::string& out) const;

private:
    struct Part {
        std::string literal;  // when !is_field
        bool is_field = false;
        FieldRef field;
        std::vector<std::pair<std::string, std::string>> map; // key -> value
        bool has_default = false;
        std::string fallback; // value of `*`
    };
    template <class Sink>
    void render_to(const Event& e, Sink&& sink) const;

    std::vector<Part> parts_;
};

// Appends `s` JSON-escaped, without the surrounding quotes.
void append_json_escaped(std::string& out, std::string_view s);

} // namespace passerelle::kernel::routing
