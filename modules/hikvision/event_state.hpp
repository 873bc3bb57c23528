// Turns decoded Hikvision notifications into passerelle events. No clock
// inside: every call takes the caller's `now` (UTC ns), and the caller asks
// next_deadline() when to call poll() again.
//
// Hikvision repeats "active" about once a second while a condition lasts and
// often (NVRs) never sends "inactive". Per key (channel, eventType, region,
// target):
//   - the first active is a `start`;
//   - further actives within inactive_timeout of the previous one are folded
//     (counted, reported as attrs.repeats on the stop);
//   - "inactive" is a `stop` (attrs.synthesized = "false"). An inactive that
//     names no region/target stops every active key of that channel+eventType
//     (cameras send linedetection inactive without the region). An inactive with
//     nothing active emits nothing (that is also what the videoloss heartbeat is);
//   - silence past inactive_timeout is a `stop` with attrs.synthesized = "true",
//     time_ns = device time of the last active seen.
// Notifications without active/inactive semantics (door, doorbell, no
// eventState) are pulses. Heartbeats are never events; a heartbeat that is a
// "videoloss inactive" still stops an active video_loss on its channel.
//
// Pictures: when a notification announces binary pictures (detectionPicturesNumber,
// picturesNumber) -- or is a smart event and hold_smart_events is set -- the start/pulse it produces is held until the next part:
// an image part attaches its bytes (first image wins) and releases it; any other
// part, flush(), or image_wait elapsing releases it without attachment. An
// image with no held event is dropped and counted (orphan_images()). Order of
// emitted events always follows the order of the notifications.
#pragma once

#include "notification.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace passerelle::hikvision {

struct EventStateOptions {
    int64_t inactive_timeout_ns = 5'000'000'000; // silence that ends an active event
    int64_t image_wait_ns = 2'000'000'000;       // how long an event waits for its announced picture
    // Also hold starts/pulses of smart (VCA) events that announce no picture,
    // for firmware that sends the JPEG part without detectionPicturesNumber.
    // Costs up to image_wait of latency when no part follows.
    bool hold_smart_events = false;
};

// intrusion, line_crossing, region_entrance/exit, object_left/removed, face, scene_change.
bool is_smart_type(std::string_view type);

class EventState : public FoldQuery {
public:
    explicit EventState(EventStateOptions options = {});

    // A decoded notification received at now_ns. Emitted events are appended to out.
    void on_notification(const Notification& n, int64_t now_ns, std::vector<Event>& out);
    // Same, taking the event out of n (no copy of its attrs on the hot path).
    void on_notification(Notification&& n, int64_t now_ns, std::vector<Event>& out);
    // An active notification with this key would be folded (see FoldQuery).
    bool folds(int32_t channel, std::string_view code, std::string_view region,
               std::string_view target) const override;
    // An image part (JPEG/PNG) received at now_ns.
    void on_image(std::string_view bytes, std::string_view mime, int64_t now_ns, std::vector<Event>& out);
    // Any other part (or a part that failed to decode): releases a held event.
    void on_other_part(int64_t now_ns, std::vector<Event>& out);
    // Earliest time poll() has something to do; nullopt when idle.
    std::optional<int64_t> next_deadline() const;
    // Emits synthesized stops and releases held events whose time has come.
    void poll(int64_t now_ns, std::vector<Event>& out);
    // Stream lost or instance stopping: releases the held event and stops every
    // active key (synthesized, attrs.reason = reason).
    void flush(int64_t now_ns, std::vector<Event>& out, std::string_view reason = "disconnected");

    size_t active_count() const { return active_.size(); }
    uint64_t folded() const { return folded_; }
    uint64_t orphan_images() const { return orphan_images_; }
    uint64_t orphan_stops() const { return orphan_stops_; }

private:
    using Key = std::tuple<int32_t, std::string, std::string, std::string>; // channel, code, region, target
    struct Active {
        // (A constructor, not aggregate init: clang 14, the fuzz build's, has no parenthesized one.)
        Active(const Event& s, int64_t seen_ns, int64_t device_ns)
            : start(s), last_seen_ns(seen_ns), last_device_ns(device_ns) {}
        Event start;             // copy of the start (no attachment), the template of the stop
        uint64_t repeats = 0;
        int64_t last_seen_ns = 0;   // receive time of the last active
        int64_t last_device_ns = 0; // device time of the last active
    };

    void emit(Event&& ev, int pictures, int64_t now_ns, std::vector<Event>& out);
    void release_held(std::vector<Event>& out);
    // Appends the stop made from a's start to out; returns it.
    Event& push_stop(Active&& a, int64_t time_ns, int64_t now_ns, bool synthesized, std::vector<Event>& out) const;

    EventStateOptions opt_;
    std::map<Key, Active> active_;
    std::optional<Event> held_;
    int64_t held_deadline_ = 0;
    uint64_t folded_ = 0;
    uint64_t orphan_images_ = 0;
    uint64_t orphan_stops_ = 0;
};

} // namespace passerelle::hikvision
