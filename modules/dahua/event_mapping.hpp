// Dahua event (from the CGI stream or DHIP) -> passerelle::Event. Pure functions.
//
// type: normalized kind (DESIGN.md table), code: the Dahua code verbatim,
// channel: index + 1 (0 when the event has no index), state: Start/Stop/Pulse ->
// start/stop/pulse, attrs: target (human/vehicle), region (rule or region name),
// every data JSON leaf flattened as `data.Object.ObjectType`, `data.object[0].VehicleID`
// (arrays of scalars joined with ','), and `data` = the raw JSON text.
// source, id and received_ns are left for the session to fill; time_ns comes from
// data.UTC when the device sent it, else 0.
#pragma once

#include "event_text.hpp"

#include <passerelle/event.hpp>

#include <optional>
#include <string_view>
#include <vector>

namespace passerelle::dahua {

// Normalized type for a code alone (no data needed); "other" when unknown.
// Codes whose type depends on data (_DoTalkAction_, BackKeyLight, ProfileAlarmTransmit)
// return their most common type here; map_event decides with the data.
std::string_view normalized_type(std::string_view code);

// nullopt: not an event (VideoMotionInfo state refreshes).
std::optional<Event> map_event(const EventText& ev);
// Same, moving the raw data text into attrs.data instead of copying it.
std::optional<Event> map_event(EventText&& ev);

// map_event reading the data JSON only through nlohmann's DOM, never the fast
// flat reader: the reference the fast path is tested and fuzzed against.
std::optional<Event> map_event_dom(EventText&& ev);

// A whole CGI part body -> its events (usually zero or one).
std::vector<Event> map_part_body(std::string_view body);
// Same, appending to `out` (a session reuses one vector from part to part).
void map_part_body(std::string_view body, std::vector<Event>& out);

// Caps on flattening untrusted JSON.
inline constexpr std::size_t kMaxFlattenedAttrs = 128;
inline constexpr int kMaxFlattenDepth = 8;

} // namespace passerelle::dahua
