#include "dhip.hpp"

#include "event_mapping.hpp"
#include "event_text.hpp"

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <cstring>

namespace passerelle::dahua::dhip {

namespace {

using nlohmann::json;

constexpr char kMagic[4] = {'D', 'H', 'I', 'P'};

void put_u32(std::string& out, uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u64(std::string& out, uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t get_le(const char* p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}

std::string request(std::string_view method, json params, uint32_t id, uint32_t session) {
    json j;
    j["method"] = method;
    j["params"] = std::move(params);
    j["id"] = id;
    j["session"] = session;
    return j.dump();
}

std::optional<int64_t> int_member(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<int64_t>();
}

std::string str_member(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end()) return {};
    if (it->is_string()) return it->get<std::string>();
    if (it->is_number()) return it->dump();
    return {};
}

} // namespace

std::string encode_frame(uint32_t session, uint32_t id, std::string_view body) {
    std::string out;
    out.reserve(kHeaderSize + body.size());
    put_u32(out, static_cast<uint32_t>(kHeaderSize));
    out.append(kMagic, 4);
    put_u32(out, session);
    put_u32(out, id);
    put_u64(out, body.size());
    put_u64(out, body.size());
    out.append(body);
    return out;
}

bool FrameDecoder::feed(std::string_view bytes, std::vector<Frame>& out) {
    if (failed()) return false;
    buf_.append(bytes);
    std::size_t pos = 0;
    while (buf_.size() - pos >= kHeaderSize) {
        const char* h = buf_.data() + pos;
        if (get_le(h, 4) != kHeaderSize || std::memcmp(h + 4, kMagic, 4) != 0) {
            error_ = "bad DHIP header";
            break;
        }
        uint64_t len = get_le(h + 16, 8);
        if (len > max_body_) {
            error_ = "DHIP body of " + std::to_string(len) + " bytes exceeds " + std::to_string(max_body_);
            break;
        }
        if (buf_.size() - pos < kHeaderSize + len) break;
        Frame f;
        f.session = static_cast<uint32_t>(get_le(h + 8, 4));
        f.id = static_cast<uint32_t>(get_le(h + 12, 4));
        f.body.assign(h + kHeaderSize, len);
        out.push_back(std::move(f));
        pos += kHeaderSize + len;
    }
    buf_.erase(0, pos);
    if (failed()) buf_.clear();
    return !failed();
}

std::string md5_upper_hex(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), digest, &len, EVP_md5(), nullptr);
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    out.reserve(len * 2);
    for (unsigned int i = 0; i < len; ++i) {
        out.push_back(hex[digest[i] >> 4]);
        out.push_back(hex[digest[i] & 15]);
    }
    return out;
}

std::string login_hash(std::string_view user, std::string_view password, std::string_view realm,
                       std::string_view random) {
    std::string ha = md5_upper_hex(std::string(user) + ":" + std::string(realm) + ":" + std::string(password));
    return md5_upper_hex(std::string(user) + ":" + std::string(random) + ":" + ha);
}

std::optional<Message> parse_message(std::string_view text) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    Message m;
    m.method = str_member(j, "method");
    m.id = int_member(j, "id");
    m.session = int_member(j, "session");
    if (auto it = j.find("result"); it != j.end()) {
        if (it->is_boolean()) m.result_bool = it->get<bool>();
        if (it->is_number_integer()) m.result_int = it->get<int64_t>();
    }
    if (auto it = j.find("error"); it != j.end() && it->is_object()) {
        m.error_code = int_member(*it, "code");
        m.error_message = str_member(*it, "message");
    }
    if (auto it = j.find("params"); it != j.end()) m.params = it->dump();
    return m;
}

std::optional<LoginChallenge> parse_login_challenge(std::string_view text) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    auto p = j.find("params");
    if (p == j.end() || !p->is_object()) return std::nullopt;
    LoginChallenge c;
    c.realm = str_member(*p, "realm");
    c.random = str_member(*p, "random");
    c.encryption = str_member(*p, "encryption");
    auto s = int_member(j, "session");
    if (c.realm.empty() || c.random.empty() || !s || *s < 0 || *s > 0xffffffffLL) return std::nullopt;
    c.session = static_cast<uint32_t>(*s);
    return c;
}

std::string login_step1(uint32_t id, std::string_view user) {
    return request("global.login",
                   {{"clientType", ""}, {"ipAddr", "(null)"}, {"loginType", "Direct"}, {"userName", user}}, id, 0);
}

std::string login_step2(uint32_t id, const LoginChallenge& c, std::string_view user, std::string_view password) {
    return request("global.login",
                   {{"userName", user},
                    {"password", login_hash(user, password, c.realm, c.random)},
                    {"clientType", "Dahua3.0-Web3.0"},
                    {"ipAddr", "(null)"},
                    {"loginType", "Direct"},
                    {"authorityType", c.encryption.empty() ? "Default" : c.encryption},
                    {"passwordType", "Default"}},
                   id, c.session);
}

std::string attach_events(uint32_t id, uint32_t session, const std::vector<std::string>& codes) {
    return request("eventManager.attach", {{"codes", codes}}, id, session);
}

std::string keep_alive(uint32_t id, uint32_t session, int timeout_seconds) {
    return request("global.keepAlive", {{"timeout", timeout_seconds}, {"action", true}}, id, session);
}

std::string access_control_instance(uint32_t id, uint32_t session, int channel) {
    return request("accessControl.factory.instance", {{"channel", channel}}, id, session);
}

std::string open_door(uint32_t id, uint32_t session, int64_t object, int door_index, std::string_view short_number) {
    json j;
    j["method"] = "accessControl.openDoor";
    j["params"] = {{"DoorIndex", door_index}, {"ShortNumber", short_number}};
    j["object"] = object;
    j["id"] = id;
    j["session"] = session;
    return j.dump();
}

std::string access_control_destroy(uint32_t id, uint32_t session, int64_t object) {
    json j;
    j["method"] = "accessControl.destroy";
    j["params"] = nullptr;
    j["object"] = object;
    j["id"] = id;
    j["session"] = session;
    return j.dump();
}

std::optional<std::vector<Event>> decode_event_stream(std::string_view text) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || str_member(j, "method") != "client.notifyEventStream") return std::nullopt;
    std::vector<Event> out;
    auto p = j.find("params");
    if (p == j.end() || !p->is_object()) return out;
    auto list = p->find("eventList");
    if (list == p->end() || !list->is_array()) return out;
    for (const auto& item : *list) {
        if (!item.is_object()) continue;
        // Same shape as a CGI event text, so the mapping is shared.
        EventText ev;
        ev.code = str_member(item, "Code");
        if (ev.code.empty()) continue;
        ev.action = str_member(item, "Action");
        if (auto idx = int_member(item, "Index")) ev.index = static_cast<long>(*idx);
        if (auto d = item.find("Data"); d != item.end() && !d->is_null()) ev.data = d->dump();
        if (auto e = map_event(ev)) out.push_back(std::move(*e));
    }
    return out;
}

} // namespace passerelle::dahua::dhip
