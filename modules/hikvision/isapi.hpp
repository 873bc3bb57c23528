// Pure helpers for the ISAPI configuration documents the module reads and
// writes besides the alert stream: deviceInfo, channel lists, the event
// trigger list (center notification = "send to the alarm center", i.e. the
// alertStream), motion detection, call status. Bytes in, values out; no I/O.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace passerelle::hikvision {

struct DeviceInfo {
    std::string name, model, serial, firmware, device_type, mac;
};
// /ISAPI/System/deviceInfo -> fields; nullopt when the XML is not a DeviceInfo.
std::optional<DeviceInfo> parse_device_info(std::string_view xml);

// /ISAPI/System/Video/inputs/channels (VideoInputChannel) or
// /ISAPI/ContentMgmt/InputProxy/channels (InputProxyChannel): id -> name.
std::map<int, std::string> parse_channel_names(std::string_view xml);

// The event trigger list (/ISAPI/Event/triggers). A trigger is identified by
// its <id> ("VMD-1", "fielddetection-1", "diskfull").
struct TriggerInfo {
    std::string id;
    std::string event_type;
    int channel = 0; // videoInputChannelID / dynVideoInputChannelID, 0 when none
    bool center = false;
};
// nullopt when the text is not an EventTriggerList.
std::optional<std::map<std::string, TriggerInfo>> parse_triggers(std::string_view xml);

// Which triggers get center notification changed. `select(trigger)` decides
// per trigger whether it should have center notification; the document is
// rewritten (only those entries touched) and returned, or nullopt if it is not
// an EventTriggerList. `changed` gets how many triggers were modified.
struct CenterChange {
    std::string xml;
    int changed = 0;
};
std::optional<CenterChange> set_center(std::string_view xml, const std::function<std::optional<bool>(const TriggerInfo&)>& select);

// motionDetection document: replaces the top-level <enabled> text; nullopt if absent.
std::optional<std::string> set_motion_enabled(std::string_view xml, bool enabled);

// /ISAPI/VideoIntercom/callStatus?format=json -> "idle" / "ring" / "onCall"... ("" if unreadable).
std::string parse_call_status(std::string_view json);

// ResponseStatus error text ("Invalid Operation (4)") from an ISAPI error body; "" when none.
std::string response_status_text(std::string_view xml);

} // namespace passerelle::hikvision
