// The event fields that routes match on and templates substitute, named the
// way operators write them in the TOML: `source`, `channel`, `attrs.region`…
// Parsed once (at config time), read many times (per event), so reading a
// field's text never allocates except for the formatted times.
#pragma once

#include <passerelle/event.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace passerelle::kernel::routing {

enum class Field : uint8_t {
    id,
    time,        // RFC 3339 UTC, milliseconds
    received,    // RFC 3339 UTC, milliseconds
    time_unix,   // integer seconds since the epoch
    time_local,  // "YYYY-MM-DD HH:MM:SS" in the host's local time zone (Jeedom wants it)
    source,
    module,
    type,
    code,
    channel,     // decimal text
    state,       // start / stop / pulse
    attachment_mime,
    attachment_path,
    attr,        // attrs.KEY; the key is held beside the Field
};

struct FieldRef {
    Field field = Field::source;
    std::string attr_key; // only for Field::attr
};

// Parses a field name ("type", "attrs.region"). Returns false for an unknown
// name or an empty attrs key.
bool parse_field(std::string_view name, FieldRef& out);

// Fields a route's `when` may test: source, module, type, code, channel, state, attrs.KEY.
bool is_matchable(Field f);

// Names for error messages.
std::string_view known_template_fields();
std::string_view known_when_fields();

// Scratch space so a field's text can be returned as a view without allocating
// for the numeric fields. Valid until the next call with the same scratch.
struct FieldScratch {
    char buf[40];
    std::string text; // for the RFC 3339 times
};

// The field's text. `present` is false only for an attrs.KEY the event lacks
// (its text is then empty).
std::string_view field_text(const Event& e, const FieldRef& f, FieldScratch& scratch, bool& present);

} // namespace passerelle::kernel::routing
