// The DOM decoder the module used before xml_scan.cpp (pugixml, after escaping
// stray '&'), kept here as the reference the scanner must agree with on every
// part of every fixture and on hostile variants of them (test_xml_scan.cpp).
#include "reference_dom_decoder.hpp"

#include "notification_detail.hpp"

#include <pugixml.hpp>

#include <array>

namespace hiktest {
using namespace passerelle;
using namespace passerelle::hikvision;
using namespace passerelle::hikvision::detail;

namespace {

std::string_view local_name(const char* qualified) {
    std::string_view n(qualified);
    auto colon = n.rfind(':');
    return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

std::string_view text_of(const pugi::xml_node& n) { return trim(n.child_value()); }

} // namespace

Decoded reference_decode_xml(std::string_view body) {
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

} // namespace hiktest
