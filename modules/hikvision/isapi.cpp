#include "isapi.hpp"

#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include <sstream>

namespace passerelle::hikvision {
namespace {

std::string_view local(const char* qualified) {
    std::string_view n(qualified);
    auto colon = n.rfind(':');
    return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::string_view(" \t\r\n").find(s.front()) != std::string_view::npos) s.remove_prefix(1);
    while (!s.empty() && std::string_view(" \t\r\n").find(s.back()) != std::string_view::npos) s.remove_suffix(1);
    return s;
}

// First child element with that local name (any namespace prefix).
pugi::xml_node child(pugi::xml_node n, std::string_view name) {
    for (pugi::xml_node c = n.first_child(); c; c = c.next_sibling())
        if (c.type() == pugi::node_element && local(c.name()) == name) return c;
    return {};
}

std::string text(pugi::xml_node n, std::string_view name) { return std::string(trim(child(n, name).child_value())); }

int to_int(std::string_view s) {
    s = trim(s);
    if (s.empty() || s.size() > 9) return 0;
    int v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return 0;
        v = v * 10 + (c - '0');
    }
    return v;
}

bool load(pugi::xml_document& doc, std::string_view xml) {
    return doc.load_buffer(xml.data(), xml.size(), pugi::parse_default | pugi::parse_declaration, pugi::encoding_utf8);
}

std::string dump(const pugi::xml_document& doc) {
    std::ostringstream out;
    doc.save(out, "", pugi::format_raw, pugi::encoding_utf8);
    return out.str();
}

// The EventTriggerList: the root, or wrapped (PTZ firmware answers <EventNotification><EventTriggerList>).
pugi::xml_node trigger_list(const pugi::xml_document& doc) {
    pugi::xml_node root = doc.document_element();
    if (local(root.name()) == "EventTriggerList") return root;
    return child(root, "EventTriggerList");
}

pugi::xml_node notification_list(pugi::xml_node trigger) { return child(trigger, "EventTriggerNotificationList"); }

bool is_center(pugi::xml_node notification) { return text(notification, "notificationMethod") == "center"; }

TriggerInfo trigger_info(pugi::xml_node t) {
    TriggerInfo info;
    info.id = text(t, "id");
    info.event_type = text(t, "eventType");
    info.channel = to_int(text(t, "videoInputChannelID"));
    if (info.channel == 0) info.channel = to_int(text(t, "dynVideoInputChannelID"));
    for (pugi::xml_node n = notification_list(t).first_child(); n; n = n.next_sibling())
        if (n.type() == pugi::node_element && is_center(n)) info.center = true;
    return info;
}

} // namespace

std::optional<DeviceInfo> parse_device_info(std::string_view xml) {
    pugi::xml_document doc;
    if (!load(doc, xml)) return std::nullopt;
    pugi::xml_node root = doc.document_element();
    if (local(root.name()) != "DeviceInfo") return std::nullopt;
    return DeviceInfo{text(root, "deviceName"), text(root, "model"),       text(root, "serialNumber"),
                      text(root, "firmwareVersion"), text(root, "deviceType"), text(root, "macAddress")};
}

std::map<int, std::string> parse_channel_names(std::string_view xml) {
    std::map<int, std::string> out;
    pugi::xml_document doc;
    if (!load(doc, xml)) return out;
    for (pugi::xml_node c = doc.document_element().first_child(); c; c = c.next_sibling()) {
        if (c.type() != pugi::node_element) continue;
        std::string_view n = local(c.name());
        if (n != "VideoInputChannel" && n != "InputProxyChannel") continue;
        int id = to_int(text(c, "id"));
        std::string name = text(c, "name");
        if (id > 0 && !name.empty()) out[id] = name;
    }
    return out;
}

std::optional<std::map<std::string, TriggerInfo>> parse_triggers(std::string_view xml) {
    pugi::xml_document doc;
    if (!load(doc, xml)) return std::nullopt;
    pugi::xml_node root = trigger_list(doc);
    if (!root) return std::nullopt;
    std::map<std::string, TriggerInfo> out;
    for (pugi::xml_node t = root.first_child(); t; t = t.next_sibling()) {
        if (t.type() != pugi::node_element || local(t.name()) != "EventTrigger") continue;
        TriggerInfo info = trigger_info(t);
        if (!info.id.empty()) out[info.id] = info;
    }
    return out;
}

std::optional<CenterChange> set_center(std::string_view xml,
                                       const std::function<std::optional<bool>(const TriggerInfo&)>& select) {
    pugi::xml_document doc;
    if (!load(doc, xml)) return std::nullopt;
    pugi::xml_node root = trigger_list(doc);
    if (!root) return std::nullopt;
    CenterChange result;
    for (pugi::xml_node t = root.first_child(); t; t = t.next_sibling()) {
        if (t.type() != pugi::node_element || local(t.name()) != "EventTrigger") continue;
        const TriggerInfo info = trigger_info(t);
        std::optional<bool> want = select(info);
        if (!want || *want == info.center) continue;
        ++result.changed;
        pugi::xml_node list = notification_list(t);
        if (*want) {
            if (!list) list = t.append_child("EventTriggerNotificationList");
            pugi::xml_node n = list.append_child("EventTriggerNotification");
            n.append_child("id").text() = "center";
            n.append_child("notificationMethod").text() = "center";
            n.append_child("notificationRecurrence").text() = "beginning";
        } else {
            for (pugi::xml_node n = list.first_child(); n;) {
                pugi::xml_node next = n.next_sibling();
                if (n.type() == pugi::node_element && is_center(n)) list.remove_child(n);
                n = next;
            }
        }
    }
    result.xml = dump(doc);
    return result;
}

std::optional<std::string> set_motion_enabled(std::string_view xml, bool enabled) {
    pugi::xml_document doc;
    if (!load(doc, xml)) return std::nullopt;
    pugi::xml_node e = child(doc.document_element(), "enabled");
    if (!e) return std::nullopt;
    e.text() = enabled ? "true" : "false";
    return dump(doc);
}

std::string parse_call_status(std::string_view text) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return {};
    const nlohmann::json* cs = &j;
    if (auto it = j.find("CallStatus"); it != j.end() && it->is_object()) cs = &*it;
    auto st = cs->find("status");
    if (st == cs->end() || !st->is_string()) return {};
    return st->get<std::string>();
}

std::string response_status_text(std::string_view xml) {
    pugi::xml_document doc;
    if (!load(doc, xml)) return {};
    pugi::xml_node root = doc.document_element();
    if (local(root.name()) != "ResponseStatus") return {};
    std::string s = text(root, "statusString");
    std::string sub = text(root, "subStatusCode");
    if (!sub.empty()) s += (s.empty() ? "" : ": ") + sub;
    return s;
}

} // namespace passerelle::hikvision
