// The webhook's own small templates for its `url` and `body` config keys:
// plain `{field}` substitution over the event, nothing more. Anything between
// braces that is not a known field name stays as written, so a JSON body needs
// no escaping: `{"text": "{type} on {source}", "event": {event}}`.
//
// The richer syntax (value maps `{state|start=1,stop=0}`) belongs to a route's
// `params`, which the kernel renders before the delivery: a module does not
// include kernel code, so the webhook does not reimplement it. A map written
// here is refused at config time with that advice. To combine both, a route
// renders a value (`params = { value = "{state|start=1,stop=0}" }`) and the
// instance's url uses it as `{params.value}`: the instance keeps the secret
// parts of the URL (an apikey from ${ENV}), the route the mapping.
//
// Pure: no I/O, no SDK beyond Event.
#pragma once

#include <passerelle/event.hpp>

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace webhook {

// How substituted values are written (the literal text is never touched).
enum class Escape {
    none,      // as is
    url,       // percent-encoded (RFC 3986 unreserved characters kept): URL paths and query values
    json,      // JSON string escaping without the quotes: values inside "..." of a JSON body
};

struct TemplateError : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

class EventTemplate {
public:
    EventTemplate() = default;
    // Throws TemplateError for a value map or an empty attrs key.
    static EventTemplate compile(std::string_view text);

    // `params`: the route's rendered params, for `{params.NAME}` (missing = "").
    using Params = std::map<std::string, std::string, std::less<>>;
    std::string render(const passerelle::Event& e, Escape escape, const Params* params = nullptr) const;
    // Every placeholder rendered as "x" (numbers as "1"): to check at config
    // time that a url template gives a URL whatever the event.
    std::string render_sample() const;
    bool is_constant() const;
    const std::string& text() const { return text_; }

    // The field names a placeholder may use (for error messages and the README).
    static const char* field_names();

private:
    enum class Field { id, time, received, time_unix, source, module, type, code, channel, state, attr, param, event };
    struct Part {
        std::string literal; // when !is_field
        bool is_field = false;
        Field field = Field::source;
        std::string attr_key; // attrs.KEY or params.NAME
    };
    static bool parse_field(std::string_view name, Part& out);
    static void append_value(const passerelle::Event& e, const Params* params, const Part& p, Escape escape,
                             std::string& out);

    std::string text_;
    std::vector<Part> parts_;
};

} // namespace webhook
