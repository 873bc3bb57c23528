#include "event_state.hpp"

#include <algorithm>
#include <charconv>
#include <tuple>
#include <utility>

namespace passerelle::hikvision {
namespace {

// attrs.insert_or_assign(key, value), the strings built in place (no temporary key).
void set(Event& e, std::string_view key, std::string_view value) {
    auto it = e.attrs.lower_bound(key);
    if (it != e.attrs.end() && it->first == key)
        it->second.assign(value);
    else
        e.attrs.emplace_hint(it, std::piecewise_construct, std::forward_as_tuple(key), std::forward_as_tuple(value));
}

} // namespace

bool is_smart_type(std::string_view t) {
    return t == "intrusion" || t == "line_crossing" || t == "region_entrance" || t == "region_exit" ||
           t == "object_left" || t == "object_removed" || t == "face" || t == "scene_change";
}

EventState::EventState(EventStateOptions options) : opt_(options) {}

void EventState::release_held(std::vector<Event>& out) {
    if (!held_) return;
    out.push_back(std::move(*held_));
    held_.reset();
}

void EventState::emit(Event&& ev, int pictures, int64_t now_ns, std::vector<Event>& out) {
    release_held(out);
    if (pictures > 0) {
        held_ = std::move(ev);
        held_deadline_ = now_ns + opt_.image_wait_ns;
    } else {
        out.push_back(std::move(ev));
    }
}

Event& EventState::push_stop(Active&& a, int64_t time_ns, int64_t now_ns, bool synthesized,
                             std::vector<Event>& out) const {
    // The entry is erased right after: its start becomes the stop, no copy,
    // moved once, into `out`.
    Event& stop = out.emplace_back(std::move(a.start));
    stop.state = State::stop;
    stop.time_ns = time_ns;
    stop.received_ns = now_ns;
    char repeats[24]; // to_chars: no string temporary
    const auto end = std::to_chars(repeats, repeats + sizeof repeats, a.repeats).ptr;
    set(stop, "repeats", std::string_view(repeats, static_cast<size_t>(end - repeats)));
    set(stop, "synthesized", synthesized ? "true" : "false");
    return stop;
}

void EventState::on_notification(const Notification& n, int64_t now_ns, std::vector<Event>& out) {
    on_notification(Notification(n), now_ns, out);
}

void EventState::on_notification(Notification&& n, int64_t now_ns, std::vector<Event>& out) {
    release_held(out); // a new part follows whatever was waiting for a picture
    Event& ev = n.event; // ours (n is an rvalue): worked on in place, moved out once
    ev.received_ns = now_ns;
    if (ev.time_ns == 0) ev.time_ns = now_ns;

    if (n.activity == Activity::inactive) {
        const std::string_view region = ev.attr("region");
        const std::string_view target = ev.attr("target");
        bool any = false;
        for (auto it = active_.begin(); it != active_.end();) {
            const auto& [ch, code, r, t] = it->first;
            bool match = ch == ev.channel && code == ev.code && (region.empty() || r == region) &&
                         (target.empty() || t == target);
            if (match) {
                push_stop(std::move(it->second), ev.time_ns, now_ns, false, out);
                it = active_.erase(it);
                any = true;
            } else {
                ++it;
            }
        }
        if (!any && !n.heartbeat) ++orphan_stops_;
        return;
    }
    if (n.heartbeat) return;

    int pictures = n.pictures_expected;
    if (pictures == 0 && opt_.hold_smart_events && is_smart_type(ev.type)) pictures = 1;
    if (n.activity == Activity::none) {
        ev.state = State::pulse;
        emit(std::move(ev), pictures, now_ns, out);
        return;
    }

    Key key{ev.channel, ev.code, std::string(ev.attr("region")), std::string(ev.attr("target"))};
    // One descent for both the lookup and the insertion.
    auto it = active_.lower_bound(key);
    if (it != active_.end() && it->first == key) {
        // Still going: fold. (If the silence exceeded the timeout, poll() should
        // have stopped it already; a caller that polls late still gets a fold.)
        ++it->second.repeats;
        ++folded_;
        it->second.last_seen_ns = now_ns;
        it->second.last_device_ns = ev.time_ns;
        return;
    }
    ev.state = State::start;
    // Built in its node: the start's copy (the stop's template) is made once,
    // copy-constructed there (cheaper than assigning to a default one), never moved.
    active_.emplace_hint(it, std::piecewise_construct, std::forward_as_tuple(std::move(key)),
                         std::forward_as_tuple(ev, now_ns, ev.time_ns));
    emit(std::move(ev), pictures, now_ns, out);
}

bool EventState::folds(int32_t channel, std::string_view code, std::string_view region,
                       std::string_view target) const {
    if (active_.empty()) return false; // no Key to build
    return active_.count(Key{channel, std::string(code), std::string(region), std::string(target)}) != 0;
}

void EventState::on_image(std::string_view bytes, std::string_view mime, int64_t, std::vector<Event>& out) {
    if (!held_) {
        ++orphan_images_;
        return;
    }
    held_->attachment.assign(bytes.begin(), bytes.end());
    held_->attachment_mime = std::string(mime);
    release_held(out);
}

void EventState::on_other_part(int64_t, std::vector<Event>& out) { release_held(out); }

std::optional<int64_t> EventState::next_deadline() const {
    std::optional<int64_t> d;
    if (held_) d = held_deadline_;
    for (const auto& [k, a] : active_) {
        int64_t t = a.last_seen_ns + opt_.inactive_timeout_ns;
        if (!d || t < *d) d = t;
    }
    return d;
}

void EventState::poll(int64_t now_ns, std::vector<Event>& out) {
    if (held_ && held_deadline_ <= now_ns) release_held(out);
    for (auto it = active_.begin(); it != active_.end();) {
        if (it->second.last_seen_ns + opt_.inactive_timeout_ns <= now_ns) {
            release_held(out);
            push_stop(std::move(it->second), it->second.last_device_ns, now_ns, true, out);
            it = active_.erase(it);
        } else {
            ++it;
        }
    }
}

void EventState::flush(int64_t now_ns, std::vector<Event>& out, std::string_view reason) {
    release_held(out);
    for (auto& [k, a] : active_) {
        Event& stop = push_stop(std::move(a), a.last_device_ns, now_ns, true, out);
        stop.attrs.insert_or_assign("reason", std::string(reason));
    }
    active_.clear();
}

} // namespace passerelle::hikvision
