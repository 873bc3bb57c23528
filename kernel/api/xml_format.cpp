#include "api/xml_format.hpp"

#include <nlohmann/json.hpp>

namespace passerelle::kernel::api {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD"; // U+FFFD

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is invalid
// (overlong, surrogate, beyond U+10FFFF, truncated).
size_t utf8_sequence_length(std::string_view s, size_t i) {
    auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = byte(i);
    size_t n;
    uint32_t cp;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; }
    else return 0;
    if (i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (byte(i + k) & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF) return 0;
    if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
    if (cp == 0xFFFE || cp == 0xFFFF) return 0; // not XML characters
    return n;
}

bool is_name_char(char c, bool first) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_') return true;
    if (first) return false;
    return (c >= '0' && c <= '9') || c == '-' || c == '.';
}

template <class Json>
void write_value(std::string& out, std::string_view name, const Json& v);

template <class Json>
void write_children(std::string& out, const Json& v) {
    if (v.is_object()) {
        for (const auto& [key, child] : v.items()) {
            std::string name = xml_element_name(key);
            if (child.is_array()) {
                for (const auto& item : child) write_value(out, name, item); // arrays repeat the element
            } else {
                write_value(out, name, child);
            }
        }
    } else if (v.is_array()) {
        for (const auto& item : v) write_value(out, "item", item);
    } else if (v.is_string()) {
        out += xml_escape_text(v.template get_ref<const std::string&>());
    } else if (!v.is_null()) {
        out += v.dump(); // numbers and booleans: their JSON spelling is valid XML text
    }
}

template <class Json>
void write_value(std::string& out, std::string_view name, const Json& v) {
    if (v.is_null() || ((v.is_object() || v.is_array()) && v.empty()) || (v.is_string() && v.template get_ref<const std::string&>().empty())) {
        out += '<';
        out += name;
        out += "/>";
        return;
    }
    out += '<';
    out += name;
    out += '>';
    write_children(out, v);
    out += "</";
    out += name;
    out += '>';
}

} // namespace

std::string xml_element_name(std::string_view key) {
    std::string out;
    for (size_t i = 0; i < key.size();) {
        size_t n = utf8_sequence_length(key, i);
        if (n == 1 && is_name_char(key[i], false)) out.push_back(key[i]);
        else out.push_back('_'); // one '_' per character, not per byte
        i += n == 0 ? 1 : n;
    }
    bool reserved = out.size() >= 3 && (out[0] == 'x' || out[0] == 'X') && (out[1] == 'm' || out[1] == 'M') &&
                    (out[2] == 'l' || out[2] == 'L');
    if (out.empty() || !is_name_char(out[0], true) || reserved) out.insert(out.begin(), '_');
    return out;
}

std::string xml_escape_text(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        size_t n = utf8_sequence_length(s, i);
        if (n == 0) {
            out += kReplacement;
            ++i;
            continue;
        }
        if (n == 1) {
            char c = s[i];
            switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') out += kReplacement;
                else out.push_back(c);
            }
        } else {
            out.append(s.substr(i, n));
        }
        i += n;
    }
    return out;
}

namespace {

template <class Json>
std::string to_xml(const Json& value, std::string_view root) {
    std::string out;
    std::string name = xml_element_name(root);
    out += '<';
    out += name;
    out += '>';
    write_children(out, value);
    out += "</";
    out += name;
    out += '>';
    return out;
}

} // namespace

std::string json_to_xml(const nlohmann::ordered_json& value, std::string_view root) { return to_xml(value, root); }
std::string json_to_xml(const nlohmann::json& value, std::string_view root) { return to_xml(value, root); }

} // namespace passerelle::kernel::api
