#include "notification.hpp"

#include "notification_detail.hpp"
#include "xml_scan.hpp"

#include <passerelle/civil_time.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <cstring>
#include <list>
#include <tuple>
#include <utility>

namespace passerelle::hikvision {
namespace detail {
namespace {
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
} // namespace

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

int32_t parse_channel(std::string_view s) {
    s = trim(s);
    if (s.empty() || s.size() > 9) return 0;
    int32_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return 0;
        v = v * 10 + (c - '0');
    }
    return v;
}

int parse_small_int(std::string_view s) {
    int32_t v = parse_channel(s);
    return v > 1000 ? 1000 : v;
}

std::string camel_to_snake(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 4);
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') {
            bool prev_lower = i > 0 && !(s[i - 1] >= 'A' && s[i - 1] <= 'Z') && s[i - 1] != '_';
            bool next_lower = i + 1 < s.size() && s[i + 1] >= 'a' && s[i + 1] <= 'z';
            if (i > 0 && (prev_lower || (next_lower && s[i - 1] >= 'A' && s[i - 1] <= 'Z'))) out.push_back('_');
            out.push_back(lower(c));
        } else {
            out.push_back(c);
        }
    }
    return out;
}

void set_attr(Event& e, std::string_view key, std::string_view value) {
    value = trim(value);
    if (value.empty()) return;
    // insert_or_assign, with the key and value strings built in the node: no
    // temporaries (a temporary key was an allocation of its own past 15 bytes).
    auto it = e.attrs.lower_bound(key);
    if (it != e.attrs.end() && it->first == key)
        it->second.assign(value);
    else
        e.attrs.emplace_hint(it, std::piecewise_construct, std::forward_as_tuple(key), std::forward_as_tuple(value));
}

namespace {
struct TypeMapping {
    const char* code; // lowercase
    const char* type;
};

constexpr std::array<TypeMapping, 30> kTypes{{
    {"vmd", "motion"},
    {"motiondetection", "motion"},
    {"vmdhumanvehicle", "motion"},
    {"fielddetection", "intrusion"},
    {"linedetection", "line_crossing"},
    {"regionentrance", "region_entrance"},
    {"regionexiting", "region_exit"},
    {"videoloss", "video_loss"},
    {"tamperdetection", "tamper"},
    {"shelteralarm", "tamper"},
    {"io", "io_alarm"},
    {"facedetection", "face"},
    {"pir", "pir"},
    {"diskfull", "storage_error"},
    {"diskerror", "storage_error"},
    {"nicbroken", "network_error"},
    {"ipconflict", "network_error"},
    {"illaccess", "login_failure"},
    {"audioexception", "audio"},
    {"scenechangedetection", "scene_change"},
    {"unattendedbaggage", "object_left"},
    {"attendedbaggage", "object_removed"},
    {"videointercomevent", "doorbell"},
    {"videointercom", "doorbell"},
    {"callingdevice", "doorbell"},
    {"bellringing", "doorbell"},
    {"doorbell", "doorbell"},
    {"accesscontrollerevent", "door"},
    {"doorstatus", "door"},
    {"accesscontrol", "door"},
}};

// One-shot kinds: no meaningful active/inactive pair, always a pulse.
bool is_pulse_type(std::string_view type) { return type == "doorbell" || type == "door"; }
} // namespace

Activity parse_activity(std::string_view s) {
    s = trim(s);
    if (iequals(s, "active")) return Activity::active;
    if (iequals(s, "inactive")) return Activity::inactive;
    return Activity::none;
}

void finish_notification(Notification& n, std::string_view code, std::string_view relation) {
    Event& e = n.event;
    e.module.assign("hikvision");
    e.code.assign(code);
    e.type.assign(normalize_event_type(relation.empty() ? code : relation));
    if (!relation.empty()) set_attr(e, "relation_event", relation);
    if (iequals(code, "videoloss") && n.activity == Activity::inactive) n.heartbeat = true;
    if (iequals(code, "heartbeat")) {
        n.heartbeat = true;
        n.activity = Activity::none;
    }
    if (is_pulse_type(e.type)) n.activity = Activity::none;
}

void set_time(Event& e, std::string_view raw) {
    raw = trim(raw);
    if (raw.empty()) return;
    set_attr(e, "device_time", raw);
    if (auto t = parse_device_time(raw)) e.time_ns = *t;
}

} // namespace detail

namespace {
using namespace detail;

// Equality with a name known at compile time, inlined: GCC kept
// string_view::compare out of line, a call per field name of every part.
inline bool is(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), b.size()) == 0;
}

bool digits(std::string_view s, size_t at, size_t n, int& out) {
    if (at + n > s.size()) return false;
    int v = 0;
    for (size_t i = at; i < at + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    out = v;
    return true;
}

} // namespace

std::string_view normalize_event_type(std::string_view event_type) {
    event_type = trim(event_type);
    for (const auto& m : kTypes)
        if (iequals(event_type, m.code)) return m.type;
    return "other";
}

std::optional<int64_t> parse_device_time(std::string_view s) {
    s = trim(s);
    int Y, M, D, h, m, sec;
    if (!digits(s, 0, 4, Y) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, M) || s[7] != '-' ||
        !digits(s, 8, 2, D) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s, 11, 2, h) ||
        s[13] != ':' || !digits(s, 14, 2, m) || s[16] != ':' || !digits(s, 17, 2, sec))
        return std::nullopt;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) return std::nullopt;
    if (Y < 1900 || Y > 2200) return std::nullopt; // int64 nanoseconds end in 2262
    size_t i = 19;
    int64_t frac_ns = 0;
    if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
        ++i;
        int64_t scale = 100'000'000;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            frac_ns += (s[i] - '0') * scale;
            scale /= 10;
            ++i;
        }
    }
    int64_t offset_s = 0;
    if (i < s.size()) {
        char sign = s[i];
        if (sign == 'Z' || sign == 'z') {
            ++i;
        } else if (sign == '+' || sign == '-') {
            ++i;
            // "+08:00", "-8:00", "+0800", "+08"
            int oh = 0, om = 0;
            size_t start = i;
            while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 4) ++i;
            std::string_view hd = s.substr(start, i - start);
            if (hd.size() == 4) {
                digits(hd, 0, 2, oh);
                digits(hd, 2, 2, om);
            } else if (hd.size() == 1 || hd.size() == 2) {
                digits(hd, 0, hd.size(), oh);
                if (i < s.size() && s[i] == ':') {
                    if (!digits(s, i + 1, 2, om)) return std::nullopt;
                    i += 3;
                }
            } else {
                return std::nullopt;
            }
            if (oh > 14 || om > 59) return std::nullopt;
            offset_s = (oh * 3600 + om * 60) * (sign == '-' ? -1 : 1);
        }
        if (i != s.size()) return std::nullopt;
    }
    int64_t days = passerelle::days_from_civil(Y, static_cast<unsigned>(M), static_cast<unsigned>(D));
    int64_t secs = days * 86400 + h * 3600 + m * 60 + sec - offset_s;
    return secs * 1'000'000'000 + frac_ns;
}

static bool entity_at(std::string_view s, size_t amp) {
    // &name; or &#123; or &#x1F; within a short window
    size_t i = amp + 1;
    if (i < s.size() && s[i] == '#') {
        ++i;
        bool hex = i < s.size() && (s[i] == 'x' || s[i] == 'X');
        if (hex) ++i;
        size_t start = i;
        while (i < s.size() && i - start < 8 &&
               ((s[i] >= '0' && s[i] <= '9') || (hex && ((s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))))
            ++i;
        return i > start && i < s.size() && s[i] == ';';
    }
    size_t start = i;
    while (i < s.size() && i - start < 10 && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z'))) ++i;
    if (i == start || i >= s.size() || s[i] != ';') return false;
    std::string_view name = s.substr(start, i - start);
    return name == "amp" || name == "lt" || name == "gt" || name == "quot" || name == "apos";
}

bool has_stray_ampersand(std::string_view xml) {
    for (size_t p = xml.find('&'); p != std::string_view::npos; p = xml.find('&', p + 1))
        if (!entity_at(xml, p)) return true;
    return false;
}

std::string escape_stray_ampersands(std::string_view xml) {
    std::string out;
    out.reserve(xml.size() + 16);
    size_t last = 0;
    for (size_t p = xml.find('&'); p != std::string_view::npos; p = xml.find('&', p + 1)) {
        if (entity_at(xml, p)) continue;
        out.append(xml.substr(last, p + 1 - last));
        out.append("amp;");
        last = p + 1;
    }
    out.append(xml.substr(last));
    return out;
}

namespace {

// An open element while scanning an EventNotificationAlert (only the levels the
// mapping reads are tracked: the root is 1, its fields 2, region entries 3 and 4).
struct Frame {
    std::string_view name; // local name
    std::string_view text; // its first text or CDATA child, raw (pugixml's child_value())
    bool has_text = false;
    bool text_cdata = false;
    bool any_child = false;
    bool first_child_element = false; // its first significant child is an element
    size_t content_begin = 0;         // byte offset after its start tag
};
constexpr size_t kLevels = 5;

// An element of the root that holds elements: maybe the event-specific block
// (<AccessControllerEvent>...), whose leaves are flattened into attrs when its
// name is the eventType (known only once the whole part is read).
struct Block {
    std::string_view name;
    size_t begin = 0, end = 0; // its content
};

struct Region {
    std::string_view region, target;
};

// Runs the scanner to its end, keeping frames_[level] current and calling
// open(level, content_begin) / close(level, content_end) with levels from 1.
template <class Open, class Close>
xml::Token scan(xml::Scanner& sc, std::array<Frame, kLevels>& frames, Open&& open, Close&& close) {
    for (;;) {
        const size_t before = sc.position();
        const xml::Token t = sc.next();
        if (t == xml::Token::close) {
            const size_t level = sc.depth() + 1;
            if (level < kLevels) close(level, before);
        } else if (t == xml::Token::open) {
            const size_t level = sc.depth();
            if (level >= kLevels) continue;
            Frame& parent = frames[level - 1];
            if (!parent.any_child) {
                parent.any_child = true;
                parent.first_child_element = true;
            }
            Frame& f = frames[level];
            f.name = sc.local();
            f.has_text = f.any_child = f.first_child_element = false;
            f.content_begin = sc.position();
            open(level);
        } else if (t == xml::Token::text || t == xml::Token::cdata) {
            const size_t level = sc.depth();
            if (level >= kLevels) continue;
            Frame& f = frames[level];
            f.any_child = true; // text first: first_child_element stays false
            if (!f.has_text) {
                f.has_text = true;
                f.text = sc.raw();
                f.text_cdata = t == xml::Token::cdata;
            }
        } else {
            return t;
        }
    }
}

class AlertDecoder {
public:
    AlertDecoder(std::string_view body, DecodeScope scope, const FoldQuery* folds)
        : body_(body), scope_(scope), folds_(scope == DecodeScope::for_event_state ? folds : nullptr) {}

    // Into `out` (cleared first): a caller decoding part after part reuses its vector.
    // The usual alert is read by the fast path (scan_flat), anything else by the Scanner.
    void run(Decoded& out);
    // The Scanner alone, whatever the document: the reference the fast path is tested against.
    void run_scanned(Decoded& out);

private:
    // The trimmed value of an element's text. Values that need decoding
    // (entities, CR) live in store_: most parts have none and allocate nothing here.
    std::string_view value(const Frame& f) {
        if (!f.has_text) return {};
        if (plain_) return trim(f.text);
        return decoded_value(f);
    }
    // The rare part with an entity or a CR, kept out of value(), which is inlined.
    [[gnu::noinline]] std::string_view decoded_value(const Frame& f) {
        std::string scratch;
        std::string_view v = xml::text_value(f.text, f.text_cdata, scratch);
        if (v.data() != scratch.data()) return trim(v);
        store_.push_back(std::move(scratch));
        return trim(store_.back());
    }
    // The reference path: the Scanner, any document. Fills the fields below, or
    // sets out.error; true when the part is an EventNotificationAlert read whole.
    bool scan_document(Decoded& out);
    // The fields of a plain alert's root read by xml::scan_flat: false when it declines.
    bool scan_flat();
    // The notification from the fields read (or the error when it has no eventType).
    void build(Decoded& out);
    // A child of the root: sets the field it names, if any. False when the
    // name is no field (an event block, if it holds elements). value() gives its text.
    template <class Value>
    bool on_field(std::string_view name, Value value);
    void on_open(size_t level);
    void on_close(size_t level, size_t content_end);
    void flatten_block(const Block& b, Event& e);
    bool only_folded(int32_t channel) const;

    std::string_view body_;
    DecodeScope scope_;
    const FoldQuery* folds_;
    bool plain_ = false;
    bool scanner_only_ = false; // run_scanned(): no fast path, even for the re-run of build()
    std::array<Frame, kLevels> frames_{};
    std::list<std::string> store_;

    // What the scan reads into the notification; the rest is set once the part
    // is known good, in the notification built in place in the result.
    Activity activity_ = Activity::none;
    int64_t time_ns_ = 0;
    std::string_view code_, relation_, channel_id_, dyn_channel_, io_port_, trans_type_;
    // Attrs from the root's fields, set once the whole part is read (a stop's
    // attrs come from its start: an inactive part for EventState needs none).
    // Empty values never replace earlier ones, as set_attr never set them.
    struct {
        std::string_view mac, channel_name, device_time, active_post_count, description, target;
    } later_;
    static void keep(std::string_view& slot, std::string_view v) {
        if (!v.empty()) slot = v;
    }
    int pictures_ = 0;
    std::array<Block, 4> blocks_{};
    size_t nblocks_ = 0;
    std::vector<Region> regions_; // entries of the last DetectionRegionList
    Region entry_;
    bool take_relation_ = false;  // in a DurationList child, no relationEvent taken yet
};

void AlertDecoder::on_open(size_t level) {
    const std::string_view name = frames_[level].name;
    if (level == 2) {
        if (is(name, "DetectionRegionList")) regions_.clear(); // the last list is the one read
    } else if (level == 3) {
        if (is(frames_[2].name, "DetectionRegionList") && is(name, "DetectionRegionEntry")) entry_ = {};
        else if (is(frames_[2].name, "DurationList")) take_relation_ = relation_.empty();
    }
}

template <class Value>
bool AlertDecoder::on_field(std::string_view name, Value value) {
    switch (name.empty() ? 0 : name.front()) {
    case 'a':
        if (is(name, "activePostCount")) keep(later_.active_post_count, value());
        return true;
    case 'c':
        if (is(name, "channelID")) channel_id_ = value();
        else if (is(name, "channelName")) keep(later_.channel_name, value());
        return true;
    case 'd':
        if (is(name, "dateTime")) {
            const std::string_view v = value();
            keep(later_.device_time, v);
            if (!v.empty())
                if (auto t = parse_device_time(v)) time_ns_ = *t;
        }
        else if (is(name, "dynChannelID")) dyn_channel_ = value();
        else if (is(name, "detectionPicturesNumber")) pictures_ = parse_small_int(value());
        else if (is(name, "detectionPictureTransType")) trans_type_ = value();
        return true;
    case 'e':
        if (is(name, "eventType")) code_ = value();
        else if (is(name, "eventState")) activity_ = parse_activity(value());
        else if (is(name, "eventDescription")) keep(later_.description, value());
        return true;
    case 'i':
        if (is(name, "inputIOPortID")) io_port_ = value();
        return true;
    case 'm':
        if (is(name, "macAddress")) keep(later_.mac, value());
        return true;
    case 't':
        if (is(name, "targetType")) keep(later_.target, value());
        return true;
    case 'D': // DetectionRegionList / DurationList: read at levels 3 and 4
        return true;
    default:
        return false;
    }
}

void AlertDecoder::on_close(size_t level, size_t content_end) {
    const Frame& f = frames_[level];
    if (level == 2) {
        // A child of EventNotificationAlert: the fields the mapping reads, or an event block.
        if (!on_field(f.name, [&] { return value(f); }) && nblocks_ < blocks_.size() && f.first_child_element)
            blocks_[nblocks_++] = Block{f.name, f.content_begin, content_end};
    } else if (level == 3) {
        if (is(frames_[2].name, "DetectionRegionList") && is(f.name, "DetectionRegionEntry") &&
            !(entry_.region.empty() && entry_.target.empty()))
            regions_.push_back(entry_);
    } else if (level == 4) {
        if (is(frames_[2].name, "DetectionRegionList") && is(frames_[3].name, "DetectionRegionEntry")) {
            if (is(f.name, "regionID")) entry_.region = value(f);
            else if (is(f.name, "detectionTarget") || is(f.name, "targetType")) entry_.target = value(f);
        } else if (is(frames_[2].name, "DurationList") && take_relation_ && is(f.name, "relationEvent")) {
            relation_ = value(f);
            take_relation_ = false;
        }
    }
}

void AlertDecoder::flatten_block(const Block& b, Event& e) {
    // The block's content is balanced (the whole part scanned cleanly): its
    // children are this scanner's top-level elements.
    xml::Scanner sc(body_.substr(b.begin, b.end - b.begin));
    frames_[0] = Frame{};
    scan(
        sc, frames_, [](size_t) {},
        [&](size_t level, size_t) {
            const Frame& f = frames_[level];
            if (level == 1 && !f.first_child_element) set_attr(e, camel_to_snake(f.name), value(f));
        });
}

// An active part that EventState will fold: it stays active once finished
// (finish_notification makes heartbeats and pulse kinds none), and its key --
// channel, code, region, target -- is active already. Region and target are
// then only what the root says: no region list, no event block flattened
// (its leaves could set attrs.region or attrs.target).
bool AlertDecoder::only_folded(int32_t channel) const {
    if (!folds_ || activity_ != Activity::active || !regions_.empty()) return false;
    // The query first: cheap when nothing is active (a start), where the checks below are not.
    if (!folds_->folds(channel, code_, {}, later_.target)) return false;
    if (iequals(code_, "heartbeat") || is_pulse_type(normalize_event_type(relation_.empty() ? code_ : relation_)))
        return false;
    for (size_t b = 0; b < nblocks_; ++b)
        if (iequals(blocks_[b].name, code_)) return false;
    return true;
}

void AlertDecoder::run(Decoded& out) {
    out.notifications.clear();
    out.error.clear();
    if (scan_flat()) return build(out);
    // Declined: a fresh decoder (this one may hold some fields already) on the Scanner.
    AlertDecoder(body_, scope_, folds_).run_scanned(out);
}

void AlertDecoder::run_scanned(Decoded& out) {
    scanner_only_ = true;
    out.notifications.clear();
    out.error.clear();
    if (scan_document(out)) build(out);
}

bool AlertDecoder::scan_flat() {
    // Most alerts have about a dozen fields; a bigger one goes to the Scanner.
    xml::Leaf leaves[32];
    const size_t n = xml::scan_flat(body_, "EventNotificationAlert", leaves, std::size(leaves));
    if (n == xml::kNotFlat) return false;
    for (size_t i = 0; i < n; ++i) {
        const xml::Leaf& leaf = leaves[i];
        // on_open(2) of a leaf only empties regions_, empty already: no region entry
        // is read here, and a leaf is no event block.
        on_field(leaf.name(), [&] { return leaf.text(); });
    }
    return true;
}

bool AlertDecoder::scan_document(Decoded& out) {
    xml::Scanner sc(body_);
    plain_ = sc.plain();
    // The first element is the document's root (pugixml's document_element()).
    bool root_seen = false, root_done = false, is_alert = false;
    std::string_view root_name;
    const xml::Token t = scan(
        sc, frames_,
        [&](size_t level) {
            if (!root_seen) {
                root_seen = true;
                root_name = sc.name();
                is_alert = is(sc.local(), "EventNotificationAlert");
            } else if (level >= 2 && !root_done && is_alert) {
                on_open(level);
            }
        },
        [&](size_t level, size_t content_end) {
            if (level == 1) root_done = true;
            else if (!root_done && is_alert) on_close(level, content_end);
        });
    if (t == xml::Token::error) {
        out.error = std::string("invalid XML: ") + sc.error() + " at offset " + std::to_string(sc.offset());
        return false;
    }
    if (!is_alert) {
        out.error = "not an EventNotificationAlert: <" + std::string(root_name) + ">";
        return false;
    }
    return true;
}

void AlertDecoder::build(Decoded& out) {
    if (code_.empty()) {
        out.error = "EventNotificationAlert without eventType";
        return;
    }
    Notification& n = out.notifications.emplace_back(); // in place: never moved on the usual path
    n.activity = activity_;
    Event& e = n.event;
    e.time_ns = time_ns_;
    // Channel: channelID, else dynChannelID (NVRs), else the alarm input port.
    int32_t ch = parse_channel(channel_id_);
    if (ch == 0) ch = parse_channel(dyn_channel_);
    if (ch == 0) ch = parse_channel(io_port_);
    e.channel = ch;
    // For EventState, an inactive part only ends what its start began: it
    // needs channel, code, time, region and target (the videoloss heartbeat,
    // every ~10 s per device, is one).
    const bool lean_inactive = scope_ == DecodeScope::for_event_state && n.activity == Activity::inactive;
    if (!lean_inactive && !only_folded(ch)) {
        set_attr(e, "mac", later_.mac);
        set_attr(e, "channel_name", later_.channel_name);
        set_attr(e, "device_time", later_.device_time);
        set_attr(e, "active_post_count", later_.active_post_count);
        set_attr(e, "description", later_.description);
        if (!io_port_.empty()) set_attr(e, "input_port", io_port_);
    }
    set_attr(e, "target", later_.target);
    if (pictures_ > 0 && (trans_type_.empty() || iequals(trans_type_, "binary"))) n.pictures_expected = pictures_;
    for (size_t b = 0; b < nblocks_; ++b)
        if (iequals(blocks_[b].name, code_)) flatten_block(blocks_[b], e);
    finish_notification(n, code_, relation_);
    // A pulse kind (door, doorbell) or a "heartbeat" code is no longer inactive:
    // it is published as is, so decode it whole.
    if (lean_inactive && n.activity != Activity::inactive) {
        AlertDecoder whole(body_, DecodeScope::everything, nullptr);
        return scanner_only_ ? whole.run_scanned(out) : whole.run(out); // the same path again
    }

    // One notification per detection region (region and target differ per entry).
    if (regions_.empty()) return;
    const Notification base = std::move(n);
    out.notifications.clear();
    out.notifications.reserve(regions_.size());
    for (const Region& r : regions_) {
        Notification copy = base;
        set_attr(copy.event, "region", r.region);
        set_attr(copy.event, "target", r.target);
        out.notifications.push_back(std::move(copy));
    }
}

} // namespace

Decoded decode_xml(std::string_view body, DecodeScope scope, const FoldQuery* folds) {
    Decoded out;
    AlertDecoder(body, scope, folds).run(out);
    return out;
}

Decoded detail::decode_xml_scanned(std::string_view body, DecodeScope scope, const FoldQuery* folds) {
    Decoded out;
    AlertDecoder(body, scope, folds).run_scanned(out);
    return out;
}

namespace {

std::string json_scalar(const nlohmann::json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
    if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
    if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
    if (v.is_number_float()) return v.dump();
    return {};
}

std::string_view json_str(const nlohmann::json& o, const char* key) {
    auto it = o.find(key);
    if (it == o.end() || !it->is_string()) return {};
    return it->get_ref<const std::string&>();
}

} // namespace

Decoded decode_json(std::string_view body) {
    Decoded out;
    nlohmann::json j = nlohmann::json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
        out.error = "invalid JSON";
        return out;
    }
    if (auto w = j.find("EventNotificationAlert"); w != j.end() && w->is_object()) j = *w;
    std::string_view code = json_str(j, "eventType");
    if (code.empty()) {
        out.error = "JSON event without eventType";
        return out;
    }
    Notification n;
    Event& e = n.event;
    n.activity = parse_activity(json_str(j, "eventState"));
    set_time(e, json_str(j, "dateTime"));
    set_attr(e, "mac", json_str(j, "macAddress"));
    set_attr(e, "description", json_str(j, "eventDescription"));
    set_attr(e, "channel_name", json_str(j, "channelName"));
    if (auto it = j.find("activePostCount"); it != j.end()) set_attr(e, "active_post_count", json_scalar(*it));
    int32_t ch = 0;
    if (auto it = j.find("channelID"); it != j.end()) ch = parse_channel(json_scalar(*it));
    // The event-specific object is named like the eventType: flatten its scalars.
    if (auto it = j.find(std::string(code)); it != j.end() && it->is_object()) {
        for (const auto& [k, v] : it->items()) {
            std::string s = json_scalar(v);
            if (!s.empty()) set_attr(e, camel_to_snake(k), s);
        }
        if (ch == 0) {
            if (auto d = it->find("doorNo"); d != it->end()) ch = parse_channel(json_scalar(*d));
        }
        if (auto p = it->find("picturesNumber"); p != it->end()) n.pictures_expected = parse_small_int(json_scalar(*p));
    }
    e.channel = ch;
    finish_notification(n, code, {});
    out.notifications.push_back(std::move(n));
    return out;
}

void decode_part(const PartView& part, DecodeScope scope, const FoldQuery* folds, Decoded& out) {
    if (part.is_binary()) {
        out.notifications.clear();
        out.error.clear();
        return;
    }
    if (part.is_json()) {
        out = decode_json(part.body);
        return;
    }
    if (part.is_xml()) return AlertDecoder(part.body, scope, folds).run(out);
    // Unknown text type: sniff.
    std::string_view b = trim(part.body);
    if (!b.empty() && b.front() == '<') return AlertDecoder(part.body, scope, folds).run(out);
    if (!b.empty() && b.front() == '{') {
        out = decode_json(part.body);
        return;
    }
    out.notifications.clear();
    out.error = "unsupported part type '" + std::string(part.media_type) + "'";
}

Decoded decode_part(const PartView& part, DecodeScope scope, const FoldQuery* folds) {
    Decoded out;
    decode_part(part, scope, folds, out);
    return out;
}

} // namespace passerelle::hikvision
