#include "event_mapping.hpp"

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
void flatten(const json& j, std::string& path, int depth, std::map<std::string, std::string, std::less<>>& attrs,
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

std::optional<Event> map_event(EventText&& ev) {
    // VideoMotionInfo;action=State is a periodic refresh of the motion state, not news.
    if (ev.code == "VideoMotionInfo") return std::nullopt;

    Event e;
    e.module = "dahua";
    e.code = ev.code;
    e.type = std::string(normalized_type(ev.code));
    e.channel = ev.index && *ev.index >= 0 && *ev.index < 100000 ? static_cast<int32_t>(*ev.index + 1) : 0;
    e.state = state_of(ev.action);
    if (ev.action != "Start" && ev.action != "Stop" && ev.action != "Pulse" && !ev.action.empty())
        e.attrs["action"] = ev.action;
    for (auto& [k, v] : ev.extra) e.attrs.insert_or_assign(std::move(k), std::move(v));

    json data;
    bool have_json = false;
    if (!ev.data.empty()) {
        std::string& raw = e.attrs["data"];
        raw = std::move(ev.data);
        data = parse_data_json(raw);
        have_json = !data.is_discarded();
        if (!have_json) e.attrs["data_invalid"] = "true";
    }
    if (have_json) {
        std::size_t budget = kMaxFlattenedAttrs;
        std::string path = "data";
        flatten(data, path, 0, e.attrs, budget);

        // Device time (seconds since the epoch, sometimes fractional).
        if (const json* utc = find_member(data, "UTC"); utc && (utc->is_number() || utc->is_string())) {
            double secs = 0;
            if (utc->is_number()) {
                secs = utc->get<double>();
            } else {
                const std::string& s = utc->get_ref<const std::string&>();
                char* end = nullptr;
                secs = std::strtod(s.c_str(), &end);
                if (end == s.c_str() || *end != '\0') secs = 0;
            }
            if (std::isfinite(secs) && secs > 0 && secs < 4e9) e.time_ns = static_cast<int64_t>(secs * 1e9);
        }
        // Target: the IVS object, or the first of several.
        std::string object_type;
        if (const json* obj = find_member(data, "Object")) object_type = string_member(*obj, "ObjectType");
        if (object_type.empty())
            if (const json* objs = find_member(data, "Objects"); objs && objs->is_array() && !objs->empty())
                object_type = string_member(objs->front(), "ObjectType");
        if (auto t = target_of(object_type); !t.empty()) e.attrs["target"] = std::string(t);
        // Region: IVS rule name, else the motion region name, else the rule id.
        std::string region = string_member(data, "Name");
        if (region.empty()) region = string_member(data, "RegionName");
        if (region.empty()) region = string_member(data, "RuleId");
        if (region.empty()) region = string_member(data, "RuleID");
        if (!region.empty()) e.attrs["region"] = region;
    }
    if (ev.code == "SmartMotionHuman") e.attrs["target"] = "human";
    if (ev.code == "SmartMotionVehicle") e.attrs["target"] = "vehicle";

    // Codes whose meaning depends on their data.
    if (ev.code == "_DoTalkAction_") {
        std::string action = have_json ? string_member(data, "Action") : std::string{};
        if (action != "Invite") e.type = "other";
    } else if (ev.code == "BackKeyLight") {
        // Doorbell VTOs report their button light state; 1 and 2 are the ringing states.
        std::string st = have_json ? string_member(data, "State") : std::string{};
        if (st != "1" && st != "2") e.type = "other";
    } else if (ev.code == "ProfileAlarmTransmit") {
        if (!have_json || string_member(data, "SenseMethod") != "PassiveInfrared") e.type = "other";
    } else if (ev.code == "DoorStatus" && have_json && e.state == State::pulse) {
        std::string st = string_member(data, "Status");
        if (st == "Open") e.state = State::start;
        if (st == "Close") e.state = State::stop;
    }
    return e;
}

std::vector<Event> map_part_body(std::string_view body) {
    std::vector<Event> out;
    for (auto& t : parse_event_texts(body))
        if (auto e = map_event(std::move(t))) out.push_back(std::move(*e));
    return out;
}

} // namespace passerelle::dahua
