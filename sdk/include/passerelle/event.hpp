// The C++ side of an event: owning, cheap to move, no heavy includes.
// Kernel and modules share this one type; it converts to and from pl_event
// at the ABI boundary.
#pragma once

#include <passerelle/abi.h>
#include <passerelle/attrs.hpp>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace passerelle {

enum class State : int32_t { pulse = PL_STATE_PULSE, start = PL_STATE_START, stop = PL_STATE_STOP };

inline std::string_view to_string(State s) {
    switch (s) {
    case State::start: return "start";
    case State::stop: return "stop";
    default: return "pulse";
    }
}

inline bool parse_state(std::string_view text, State& out) {
    if (text == "start") { out = State::start; return true; }
    if (text == "stop") { out = State::stop; return true; }
    if (text == "pulse") { out = State::pulse; return true; }
    return false;
}

struct Event {
    uint64_t id = 0;
    int64_t time_ns = 0;     // device time, UTC ns
    int64_t received_ns = 0; // host receive time, UTC ns
    std::string source;
    std::string module;
    std::string type;
    std::string code;
    int32_t channel = 0;
    State state = State::pulse;
    Attrs attrs;
    std::string attachment_mime;
    std::vector<uint8_t> attachment;
    std::string attachment_path;

    std::string_view attr(std::string_view key) const {
        auto it = attrs.find(key);
        return it == attrs.end() ? std::string_view{} : std::string_view{it->second};
    }
};

inline pl_str to_pl(std::string_view s) { return pl_str{s.data(), s.size()}; }
inline std::string_view from_pl(pl_str s) { return s.data ? std::string_view{s.data, s.size} : std::string_view{}; }

// A pl_event view over an Event. Keeps the attrs array alive while the view lives.
// The kernel makes one per delivery: a handful of attributes (the usual case)
// are listed in the view itself, without allocating.
class EventView {
public:
    explicit EventView(const Event& e) {
        pl_kv* attrs = inline_attrs_;
        if (e.attrs.size() > kInlineAttrs) {
            heap_attrs_.resize(e.attrs.size());
            attrs = heap_attrs_.data();
        }
        size_t n = 0;
        for (const auto& [k, v] : e.attrs) attrs[n++] = pl_kv{to_pl(k), to_pl(v)};
        ev_.struct_size = sizeof(pl_event);
        ev_.id = e.id;
        ev_.time_ns = e.time_ns;
        ev_.received_ns = e.received_ns;
        ev_.source = to_pl(e.source);
        ev_.module = to_pl(e.module);
        ev_.type = to_pl(e.type);
        ev_.code = to_pl(e.code);
        ev_.channel = e.channel;
        ev_.state = static_cast<int32_t>(e.state);
        ev_.attrs = n ? attrs : nullptr;
        ev_.attrs_count = n;
        ev_.attachment_mime = to_pl(e.attachment_mime);
        ev_.attachment_data = e.attachment.data();
        ev_.attachment_size = e.attachment.size();
        ev_.attachment_path = to_pl(e.attachment_path);
    }
    EventView(const EventView&) = delete;
    EventView& operator=(const EventView&) = delete;
    const pl_event* get() const { return &ev_; }

private:
    static constexpr size_t kInlineAttrs = 16;
    pl_event ev_{};
    pl_kv inline_attrs_[kInlineAttrs]; // left uninitialised: only [0, attrs_count) is read
    std::vector<pl_kv> heap_attrs_;
};

// Copies a pl_event into `e`, a default-constructed Event (built where it
// will live: a shared_ptr's block, an optional), reading only the fields its
// struct_size covers.
inline void copy_from_pl(const pl_event& in, Event& e) {
    auto has = [&](size_t end_offset) { return in.struct_size >= end_offset; };
    e.id = in.id;
    e.time_ns = in.time_ns;
    e.received_ns = in.received_ns;
    e.source = from_pl(in.source);
    e.module = from_pl(in.module);
    e.type = from_pl(in.type);
    e.code = from_pl(in.code);
    e.channel = in.channel;
    e.state = (in.state == PL_STATE_START || in.state == PL_STATE_STOP) ? static_cast<State>(in.state) : State::pulse;
    // Attrs usually come sorted (EventView walks an Attrs): hinted at the end,
    // each insertion is then constant time; a key given twice keeps the last.
    if (in.attrs) e.attrs.reserve(in.attrs_count);
    for (size_t i = 0; in.attrs && i < in.attrs_count; ++i) {
        std::string_view key = from_pl(in.attrs[i].key);
        std::string_view value = from_pl(in.attrs[i].value);
        if (e.attrs.empty() || std::prev(e.attrs.end())->first < key)
            e.attrs.emplace_hint(e.attrs.end(), key, value);
        else
            e.attrs.insert_or_assign(key, value);
    }
    if (has(offsetof(pl_event, attachment_path) + sizeof(pl_str))) {
        e.attachment_mime = from_pl(in.attachment_mime);
        if (in.attachment_data && in.attachment_size)
            e.attachment.assign(in.attachment_data, in.attachment_data + in.attachment_size);
        e.attachment_path = from_pl(in.attachment_path);
    }
}

inline Event from_pl(const pl_event& in) {
    Event e;
    copy_from_pl(in, e);
    return e;
}

} // namespace passerelle
