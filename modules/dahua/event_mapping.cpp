#include "event_mapping.hpp"

#include "data_flat.hpp"
#include "data_json.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <unordered_map>

namespace passerelle::dahua {

namespace {

using nlohmann::json;

const std::unordered_map<std::string_view, std::string_view>& code_table() {
    static const std::unordered_map<std::string_view, std::string_view> table = {
        {"VideoMotion", "motion"},
        {"SmartMotionHuman", "motion"},
        {"SmartMotionVehicle", "motion"},
        {"CrossRegionDetection", "intrusion"},
        {"CrossLineDetection", "line_crossing"},
        {"AlarmLocal", "io_alarm"},
        {"VideoLoss", "video_loss"},
        {"VideoBlind", "tamper"},
        {"VideoAbnormalDetection", "tamper"},
        {"VideoUnFocus", "tamper"},
        {"_DoTalkAction_", "doorbell"},
        {"CallNoAnswered", "doorbell"},
        {"BackKeyLight", "doorbell"},
        {"PhoneCallDetect", "doorbell"},
        {"DoorStatus", "door"},
        {"AccessControl", "door"},
        {"StorageFailure", "storage_error"},
        {"StorageLowSpace", "storage_error"},
        {"StorageNotExist", "storage_error"},
        {"NetAbort", "network_error"},
        {"IPConflict", "network_error"},
        {"LoginFailure", "login_failure"},
        {"AudioMutation", "audio"},
        {"AudioAnomaly", "audio"},
        {"SceneChange", "scene_change"},
        {"LeftDetection", "object_left"},
        {"TakenAwayDetection", "object_removed"},
        {"FaceDetection", "face"},
        {"ProfileAlarmTransmit", "pir"},
    };
    return table;
}

// Integers (most of what cameras send: Seq, UTC, Id) are written here: dump()
// builds a serializer, an output adapter and reads the locale for each one.
std::string scalar_text(const json& j) {
    if (j.is_string()) return j.get<std::string>();
    if (j.is_null()) return {};
    char buf[24];
    std::to_chars_result r{};
    if (j.is_number_unsigned()) r = std::to_chars(buf, buf + sizeof buf, j.get<std::uint64_t>());
    else if (j.is_number_integer()) r = std::to_chars(buf, buf + sizeof buf, j.get<std::int64_t>());
    else return j.dump(); // floats keep nlohmann's shortest round-trip form; booleans
    return std::string(buf, r.ptr);
}

// path grows and shrinks in place as the walk goes down and up: one buffer
// for every attribute name, not two temporaries per member.
void flatten(const json& j, std::string& path, int depth, Attrs& attrs,
             std::size_t& budget) {
    if (budget == 0) return;
    const std::size_t parent = path.size();
    if (j.is_object()) {
        if (depth >= kMaxFlattenDepth) return;
        for (auto it = j.begin(); it != j.end() && budget; ++it) {
            path.push_back('.');
            path += it.key();
            flatten(*it, path, depth + 1, attrs, budget);
            path.resize(parent);
        }
        return;
    }
    if (j.is_array()) {
        bool scalars = true;
        for (const auto& e : j)
            if (e.is_object() || e.is_array()) scalars = false;
        if (scalars) {
            std::string joined;
            bool first = true;
            for (const auto& e : j) {
                if (!first) joined.push_back(',');
                first = false;
                joined += scalar_text(e);
            }
            attrs.insert_or_assign(path, std::move(joined));
            --budget;
            return;
        }
        if (depth >= kMaxFlattenDepth) return;
        std::size_t i = 0;
        for (const auto& e : j) {
            if (!budget) break;
            path.push_back('[');
            path += std::to_string(i++);
            path.push_back(']');
            flatten(e, path, depth + 1, attrs, budget);
            path.resize(parent);
        }
        return;
    }
    attrs.insert_or_assign(path, scalar_text(j));
    --budget;
}

// "Human" -> human, "Vehicle"/"MotorVehicle" -> vehicle; "" when neither.
std::string_view target_of(std::string_view object_type) {
    if (object_type == "Human" || object_type == "HumanFace" || object_type == "Person") return "human";
    if (object_type == "Vehicle" || object_type == "MotorVehicle") return "vehicle";
    return {};
}

const json* find_member(const json& j, const char* key) {
    if (!j.is_object()) return nullptr;
    auto it = j.find(key);
    return it == j.end() ? nullptr : &*it;
}

std::string string_member(const json& j, const char* key) {
    const json* m = find_member(j, key);
    if (!m) return {};
    if (m->is_array()) return m->empty() ? std::string{} : scalar_text(m->front());
    return scalar_text(*m);
}

State state_of(std::string_view action) {
    if (action == "Start") return State::start;
    if (action == "Stop") return State::stop;
    return State::pulse;
}

} // namespace

std::string_view normalized_type(std::string_view code) {
    const auto& t = code_table();
    auto it = t.find(code);
    return it == t.end() ? std::string_view("other") : it->second;
}

std::optional<Event> map_event(const EventText& ev) { return map_event(EventText(ev)); }

namespace {

// What map_event reads from the data JSON besides its flattened leaves.
struct DataFacts {
    double utc = 0;          // data.UTC in seconds (0: absent or unusable)
    std::string object_type; // data.Object.ObjectType, else data.Objects[0].ObjectType
    std::string region;      // data.Name, else RegionName, RuleId, RuleID
    std::string special;     // the member the code's type depends on (see code_member)
};

// The data member that decides the type (or state) of some codes; nullptr for the rest.
const char* code_member(std::string_view code) {
    if (code == "_DoTalkAction_") return "Action";
    if (code == "BackKeyLight") return "State";
    if (code == "ProfileAlarmTransmit") return "SenseMethod";
    if (code == "DoorStatus") return "Status";
    return nullptr;
}

double utc_of_text(const std::string& s) {
    char* end = nullptr;
    double secs = std::strtod(s.c_str(), &end);
    return end == s.c_str() || *end != '\0' ? 0 : secs;
}

DataFacts dom_facts(const json& data, std::string_view code) {
    DataFacts f;
    // Device time (seconds since the epoch, sometimes fractional).
    if (const json* utc = find_member(data, "UTC"); utc && (utc->is_number() || utc->is_string()))
        f.utc = utc->is_number() ? utc->get<double>() : utc_of_text(utc->get_ref<const std::string&>());
    // Target: the IVS object, or the first of several.
    if (const json* obj = find_member(data, "Object")) f.object_type = string_member(*obj, "ObjectType");
    if (f.object_type.empty())
        if (const json* objs = find_member(data, "Objects"); objs && objs->is_array() && !objs->empty())
            f.object_type = string_member(objs->front(), "ObjectType");
    // Region: IVS rule name, else the motion region name, else the rule id.
    for (const char* key : {"Name", "RegionName", "RuleId", "RuleID"})
        if (f.region.empty()) f.region = string_member(data, key);
    if (const char* m = code_member(code)) f.special = string_member(data, m);
    return f;
}

// ---- the same from FlatJson (no DOM) ----------------------------------------

// string_member on the flat nodes; nullopt where the DOM path would dump() an
// object or an array (left to that path).
std::optional<std::string> flat_member_text(const FlatJson& fj, uint32_t m) {
    if (m == FlatJson::npos) return std::string();
    if (fj.node(m).kind == FlatJson::Kind::array)
        return fj.node(m).first == FlatJson::npos ? std::string() : fj.scalar_text(fj.node(m).first);
    return fj.scalar_text(m);
}

std::optional<std::string> flat_string_member(const FlatJson& fj, uint32_t object, std::string_view key) {
    return flat_member_text(fj, fj.member(object, key));
}

// false: the DOM path must decide.
bool flat_facts(const FlatJson& fj, std::string_view code, DataFacts& f) {
    // The root members read below, found in one walk (members are unique here).
    uint32_t utc = FlatJson::npos, object = FlatJson::npos, objects = FlatJson::npos, special = FlatJson::npos;
    uint32_t region[4] = {FlatJson::npos, FlatJson::npos, FlatJson::npos, FlatJson::npos};
    constexpr std::string_view region_keys[4] = {"Name", "RegionName", "RuleId", "RuleID"};
    const char* special_key = code_member(code);
    if (fj.node(FlatJson::root).kind == FlatJson::Kind::object)
        for (uint32_t c = fj.node(FlatJson::root).first; c != FlatJson::npos; c = fj.node(c).next) {
            const std::string_view key = fj.node(c).key;
            if (key == "UTC") utc = c;
            else if (key == "Object") object = c;
            else if (key == "Objects") objects = c;
            for (int i = 0; i < 4; ++i)
                if (key == region_keys[i]) region[i] = c;
            if (special_key && key == special_key) special = c;
        }

    if (utc != FlatJson::npos) {
        const FlatJson::Node& n = fj.node(utc);
        if (n.kind == FlatJson::Kind::number) {
            if (n.text[0] != '-') { // a negative time is refused by map_event anyway
                uint64_t v = 0;
                for (char c : n.text) v = v * 10 + static_cast<uint64_t>(c - '0');
                f.utc = static_cast<double>(v); // as nlohmann's get<double>() of an unsigned
            }
        } else if (n.kind == FlatJson::Kind::string) {
            f.utc = utc_of_text(*fj.scalar_text(utc));
        }
    }
    if (object != FlatJson::npos) {
        auto t = flat_string_member(fj, object, "ObjectType");
        if (!t) return false;
        f.object_type = std::move(*t);
    }
    if (f.object_type.empty() && objects != FlatJson::npos && fj.node(objects).kind == FlatJson::Kind::array &&
        fj.node(objects).first != FlatJson::npos) {
        auto t = flat_string_member(fj, fj.node(objects).first, "ObjectType");
        if (!t) return false;
        f.object_type = std::move(*t);
    }
    for (uint32_t m : region) {
        if (!f.region.empty()) break;
        auto r = flat_member_text(fj, m);
        if (!r) return false;
        f.region = std::move(*r);
    }
    if (special_key) {
        auto t = flat_member_text(fj, special);
        if (!t) return false;
        f.special = std::move(*t);
    }
    return true;
}

// flatten() on the flat nodes: same names, same order, same caps.
void flat_flatten(const FlatJson& fj, uint32_t i, std::string& path, int depth,
                  Attrs& attrs, std::size_t& budget) {
    if (budget == 0) return;
    const std::size_t parent = path.size();
    const FlatJson::Node& n = fj.node(i);
    if (n.kind == FlatJson::Kind::object) {
        if (depth >= kMaxFlattenDepth) return;
        for (uint32_t c = n.first; c != FlatJson::npos && budget; c = fj.node(c).next) {
            path.push_back('.');
            path += fj.node(c).key;
            flat_flatten(fj, c, path, depth + 1, attrs, budget);
            path.resize(parent);
        }
        return;
    }
    if (n.kind == FlatJson::Kind::array) {
        bool scalars = true;
        for (uint32_t c = n.first; c != FlatJson::npos; c = fj.node(c).next)
            if (fj.node(c).kind == FlatJson::Kind::object || fj.node(c).kind == FlatJson::Kind::array) scalars = false;
        if (scalars) {
            std::string joined;
            for (uint32_t c = n.first; c != FlatJson::npos; c = fj.node(c).next) {
                if (c != n.first) joined.push_back(',');
                joined += *fj.scalar_text(c);
            }
            attrs.insert_or_assign(path, std::move(joined));
            --budget;
            return;
        }
        if (depth >= kMaxFlattenDepth) return;
        std::size_t k = 0;
        for (uint32_t c = n.first; c != FlatJson::npos && budget; c = fj.node(c).next) {
            path.push_back('[');
            path += std::to_string(k++);
            path.push_back(']');
            flat_flatten(fj, c, path, depth + 1, attrs, budget);
            path.resize(parent);
        }
        return;
    }
    attrs.insert_or_assign(path, *fj.scalar_text(i));
    --budget;
}

enum class DataPath { fast, dom_only };

// Fills `e` (a fresh Event); false when the text is not an event.
bool map_event_into(EventText&& ev, DataPath how, Event& e) {
    const std::string_view code = ev.code; // compared below without strlen per literal
    // VideoMotionInfo;action=State is a periodic refresh of the motion state, not news.
    if (code == "VideoMotionInfo") return false;

    e.module = "dahua";
    e.code = code;
    e.type = std::string(normalized_type(code));
    e.channel = ev.index && *ev.index >= 0 && *ev.index < 100000 ? static_cast<int32_t>(*ev.index + 1) : 0;
    e.state = state_of(ev.action);
    if (const std::string_view a = ev.action; a != "Start" && a != "Stop" && a != "Pulse" && !a.empty())
        e.attrs["action"] = ev.action;
    for (auto& [k, v] : ev.extra) e.attrs.insert_or_assign(std::move(k), std::move(v));

    bool have_json = false;
    DataFacts facts;
    if (!ev.data.empty()) {
        // The text stays out of attrs while it is flattened: the fast path's
        // values point into it, and an insertion into attrs moves its elements.
        // It becomes attrs.data last, unless flattening set a "data" itself.
        std::string raw = std::move(ev.data);
        std::size_t budget = kMaxFlattenedAttrs;
        std::string path = "data";
        // One FlatJson per thread: its node vector is reused from event to event.
        thread_local FlatJson fj;
        if (how == DataPath::fast && fj.parse(raw) && flat_facts(fj, code, facts)) {
            have_json = true;
            flat_flatten(fj, FlatJson::root, path, 0, e.attrs, budget);
            fj.release_if_large();
        } else {
            fj.release_if_large();
            facts = DataFacts{};
            json data = parse_data_json(raw);
            have_json = !data.is_discarded();
            if (!have_json) {
                e.attrs["data_invalid"] = "true";
            } else {
                flatten(data, path, 0, e.attrs, budget);
                facts = dom_facts(data, code);
            }
        }
        e.attrs.emplace("data", std::move(raw));
    }
    if (have_json) {
        if (std::isfinite(facts.utc) && facts.utc > 0 && facts.utc < 4e9)
            e.time_ns = static_cast<int64_t>(facts.utc * 1e9);
        if (auto t = target_of(facts.object_type); !t.empty()) e.attrs["target"] = std::string(t);
        if (!facts.region.empty()) e.attrs["region"] = facts.region;
    }
    if (code == "SmartMotionHuman") e.attrs["target"] = "human";
    if (code == "SmartMotionVehicle") e.attrs["target"] = "vehicle";

    // Codes whose meaning depends on their data (facts.special: "" without JSON).
    if (code == "_DoTalkAction_") {
        if (facts.special != "Invite") e.type = "other";
    } else if (code == "BackKeyLight") {
        // Doorbell VTOs report their button light state; 1 and 2 are the ringing states.
        if (facts.special != "1" && facts.special != "2") e.type = "other";
    } else if (code == "ProfileAlarmTransmit") {
        if (!have_json || facts.special != "PassiveInfrared") e.type = "other";
    } else if (code == "DoorStatus" && have_json && e.state == State::pulse) {
        if (facts.special == "Open") e.state = State::start;
        if (facts.special == "Close") e.state = State::stop;
    }
    return true;
}

std::optional<Event> map_event_via(EventText&& ev, DataPath how) {
    Event e;
    if (!map_event_into(std::move(ev), how, e)) return std::nullopt;
    return e;
}

} // namespace

std::optional<Event> map_event(EventText&& ev) { return map_event_via(std::move(ev), DataPath::fast); }

std::optional<Event> map_event_dom(EventText&& ev) { return map_event_via(std::move(ev), DataPath::dom_only); }

std::vector<Event> map_part_body(std::string_view body) {
    std::vector<Event> out;
    map_part_body(body, out);
    return out;
}

void map_part_body(std::string_view body, std::vector<Event>& out) {
    for_each_event_text(body, [&](EventText&& t) {
        // Mapped in place: no Event moved through an optional and into the vector.
        if (!map_event_into(std::move(t), DataPath::fast, out.emplace_back())) out.pop_back();
    });
}

} // namespace passerelle::dahua
