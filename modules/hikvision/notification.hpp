// One alertStream part -> zero or more decoded notifications. Pure functions:
// bytes in, values out, no clock, no I/O.
//
// XML: EventNotificationAlert in any namespace or none (hikvision.com ver10 /
// ver20, isapi.org, isapi.com, std-cgi.com OEMs, urn:psialliance-org), matched on
// local names. JSON: intercom and access-control terminals (VideoIntercomEvent,
// AccessControllerEvent, heartBeat), bare or wrapped in "EventNotificationAlert".
//
// A Notification carries the vendor-neutral Event (module, type, code, channel,
// device time, attrs) with state left at pulse, plus what the device said about
// activity (active / inactive / nothing). Turning activity into start / stop /
// pulse with repeat folding and synthesized stops is EventState's job.
#pragma once

#include "multipart.hpp"

#include <passerelle/event.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace passerelle::hikvision {

enum class Activity { none, active, inactive };

struct Notification {
    Event event;                        // state == pulse; time_ns 0 if the device gave no usable time
    Activity activity = Activity::none; // eventState
    // Health, not an event: the "videoloss inactive" keep-alive Hikvision sends
    // every ~10 s (it may still end a real video_loss), or a JSON heartBeat.
    bool heartbeat = false;
    // detectionPicturesNumber (or JSON picturesNumber) when binary images follow this part.
    int pictures_expected = 0;
};

struct Decoded {
    std::vector<Notification> notifications;
    std::string error; // non-empty: the part was skipped (invalid XML/JSON, unknown root...)
};

// What a decoder must fill in. for_event_state: the caller only hands the
// notifications to EventState (alert_stream.cpp), which reads nothing of an
// inactive notification but channel, code, time, region and target (a stop is
// made from its start): the other attrs of inactive parts are not built. The
// events EventState emits are the same either way.
enum class DecodeScope { everything, for_event_state };

// With DecodeScope::for_event_state, the EventState the notifications go to
// (it is one) may say which active keys it will only fold, that is count: an
// active XML part with such a key is decoded without the attrs nothing reads
// (most parts of an ongoing condition, which devices repeat every second).
class FoldQuery {
public:
    virtual bool folds(int32_t channel, std::string_view code, std::string_view region,
                       std::string_view target) const = 0;

protected:
    ~FoldQuery() = default;
};

// Dispatches on the part's media type: XML, JSON; binary parts yield nothing.
Decoded decode_part(const PartView& part, DecodeScope scope = DecodeScope::everything,
                    const FoldQuery* folds = nullptr);
// Same, into `out` (cleared first): a stream decoding part after part reuses
// one Decoded, so its vector is allocated once, not per part.
void decode_part(const PartView& part, DecodeScope scope, const FoldQuery* folds, Decoded& out);
// A kept Part: decoding reads its media type and body only.
inline Decoded decode_part(const Part& part, DecodeScope scope = DecodeScope::everything,
                           const FoldQuery* folds = nullptr) {
    return decode_part(PartView{{}, part.media_type, part.body}, scope, folds);
}
inline void decode_part(const Part& part, DecodeScope scope, const FoldQuery* folds, Decoded& out) {
    decode_part(PartView{{}, part.media_type, part.body}, scope, folds, out);
}
Decoded decode_xml(std::string_view body, DecodeScope scope = DecodeScope::everything,
                   const FoldQuery* folds = nullptr);
Decoded decode_json(std::string_view body);

// Vendor eventType -> normalized passerelle type ("VMD" -> "motion", unknown -> "other").
std::string_view normalize_event_type(std::string_view event_type);

// ISO 8601 device time ("2021-07-02T14:25:36+08:00", "-8:00", "Z", ".123", or
// no zone = device local time, taken as UTC) -> UTC nanoseconds.
std::optional<int64_t> parse_device_time(std::string_view text);

// Hikvision firmware sometimes emits a bare '&' in text (channel names): escape
// every '&' that does not start an entity so the XML parses.
std::string escape_stray_ampersands(std::string_view xml);
bool has_stray_ampersand(std::string_view xml);

} // namespace passerelle::hikvision
