#include "notification.hpp"

#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include <array>
#include <cstring>

namespace passerelle::hikvision {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

// "ns:name" -> "name": devices prefix or not, with whatever namespace.
std::string_view local_name(const char* qualified) {
    std::string_view n(qualified);
    auto colon = n.rfind(':');
    return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

std::string_view text_of(const pugi::xml_node& n) { return trim(n.child_value()); }

// Positive decimal channel number, 0 when empty or not a number.
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

void set_attr(Event& e, std::string key, std::string_view value) {
    value = trim(value);
    if (!value.empty()) e.attrs.insert_or_assign(std::move(key), std::string(value));
}

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

Activity parse_activity(std::string_view s) {
    s = trim(s);
    if (iequals(s, "active")) return Activity::active;
    if (iequals(s, "inactive")) return Activity::inactive;
    return Activity::none;
}

void finish_notification(Notification& n, std::string_view code, std::string_view relation) {
    Event& e = n.event;
    e.module = "hikvision";
    e.code = std::string(code);
    e.type = std::string(normalize_event_type(relation.empty() ? code : relation));
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

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
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
    int64_t days = days_from_civil(Y, static_cast<unsigned>(M), static_cast<unsigned>(D));
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

Decoded decode_xml(std::string_view body) {
    Decoded out;
    std::string text = has_stray_ampersand(body) ? escape_stray_ampersands(body) : std::string(body);
    pugi::xml_document doc;
    // In place: the document points into `text`, which outlives it here.
    auto res = doc.load_buffer_inplace(text.data(), text.size(), pugi::parse_default, pugi::encoding_utf8);
    if (!res) {
        out.error = std::string("invalid XML: ") + res.description() + " at offset " + std::to_string(res.offset);
        return out;
    }
    pugi::xml_node root = doc.document_element();
    if (!root || local_name(root.name()) != "EventNotificationAlert") {
        out.error = std::string("not an EventNotificationAlert: <") + (root ? root.name() : "") + ">";
        return out;
    }

    Notification n;
    Event& e = n.event;
    std::string_view code, relation, channel_id, dyn_channel, io_port, trans_type;
    int pictures = 0;
    pugi::xml_node regions;
    std::array<pugi::xml_node, 4> blocks{}; // elements with element children: maybe the event-specific one
    size_t nblocks = 0;
    for (pugi::xml_node c = root.first_child(); c; c = c.next_sibling()) {
        if (c.type() != pugi::node_element) continue;
        std::string_view name = local_name(c.name());
        switch (name.empty() ? 0 : name.front()) {
        case 'a':
            if (name == "activePostCount") set_attr(e, "active_post_count", text_of(c));
            break;
        case 'c':
            if (name == "channelID") channel_id = text_of(c);
            else if (name == "channelName") set_attr(e, "channel_name", text_of(c));
            break;
        case 'd':
            if (name == "dateTime") set_time(e, text_of(c));
            else if (name == "dynChannelID") dyn_channel = text_of(c);
            else if (name == "detectionPicturesNumber") pictures = parse_small_int(text_of(c));
            else if (name == "detectionPictureTransType") trans_type = text_of(c);
            break;
        case 'e':
            if (name == "eventType") code = text_of(c);
            else if (name == "eventState") n.activity = parse_activity(text_of(c));
            else if (name == "eventDescription") set_attr(e, "description", text_of(c));
            break;
        case 'i':
            if (name == "inputIOPortID") io_port = text_of(c);
            break;
        case 'm':
            if (name == "macAddress") set_attr(e, "mac", text_of(c));
            break;
        case 't':
            if (name == "targetType") set_attr(e, "target", text_of(c));
            break;
        case 'D':
            if (name == "DetectionRegionList") regions = c;
            else if (name == "DurationList") {
                for (pugi::xml_node d = c.first_child(); d && relation.empty(); d = d.next_sibling())
                    for (pugi::xml_node r = d.first_child(); r; r = r.next_sibling())
                        if (local_name(r.name()) == "relationEvent") {
                            relation = text_of(r);
                            break;
                        }
            }
            break;
        default:
            if (nblocks < blocks.size() && c.first_child().type() == pugi::node_element) blocks[nblocks++] = c;
            break;
        }
    }
    if (code.empty()) {
        out.error = "EventNotificationAlert without eventType";
        return out;
    }
    // Channel: channelID, else dynChannelID (NVRs), else the alarm input port.
    int32_t ch = parse_channel(channel_id);
    if (ch == 0) ch = parse_channel(dyn_channel);
    if (ch == 0) ch = parse_channel(io_port);
    e.channel = ch;
    if (!io_port.empty()) set_attr(e, "input_port", io_port);
    if (pictures > 0 && (trans_type.empty() || iequals(trans_type, "binary"))) n.pictures_expected = pictures;
    // Event-specific block named like the eventType (e.g. <AccessControllerEvent>): flatten its leaves.
    for (size_t b = 0; b < nblocks; ++b) {
        if (!iequals(local_name(blocks[b].name()), code)) continue;
        for (pugi::xml_node c = blocks[b].first_child(); c; c = c.next_sibling())
            if (c.type() == pugi::node_element && c.first_child().type() != pugi::node_element)
                set_attr(e, camel_to_snake(local_name(c.name())), text_of(c));
    }
    finish_notification(n, code, relation);

    // One notification per detection region (region and target differ per entry).
    bool any_region = false;
    if (regions) {
        for (pugi::xml_node entry = regions.first_child(); entry; entry = entry.next_sibling()) {
            if (entry.type() != pugi::node_element || local_name(entry.name()) != "DetectionRegionEntry") continue;
            std::string_view region, target;
            for (pugi::xml_node c = entry.first_child(); c; c = c.next_sibling()) {
                std::string_view name = local_name(c.name());
                if (name == "regionID") region = text_of(c);
                else if (name == "detectionTarget" || name == "targetType") target = text_of(c);
            }
            if (region.empty() && target.empty()) continue;
            Notification copy = n;
            set_attr(copy.event, "region", region);
            set_attr(copy.event, "target", target);
            out.notifications.push_back(std::move(copy));
            any_region = true;
        }
    }
    if (!any_region) out.notifications.push_back(std::move(n));
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

Decoded decode_part(const Part& part) {
    if (part.is_binary()) return {};
    if (part.is_json()) return decode_json(part.body);
    if (part.is_xml()) return decode_xml(part.body);
    // Unknown text type: sniff.
    std::string_view b = trim(part.body);
    if (!b.empty() && b.front() == '<') return decode_xml(part.body);
    if (!b.empty() && b.front() == '{') return decode_json(part.body);
    Decoded d;
    d.error = "unsupported part type '" + part.media_type + "'";
    return d;
}

} // namespace passerelle::hikvision
