// The pure part of the actions: AMI packets built from params, and the
// OriginateResponse Reason mapping. No socket: tested directly.
#include "action_builders.hpp"

#include <passerelle/utf8.hpp>

#include <algorithm>

namespace passerelle::asterisk {

using namespace std::chrono_literals;

namespace {

constexpr size_t kMaxMessageBytes = 1300; // Asterisk truncates a message body there

// AMI is line based: a CR or LF inside a value would inject headers.
std::string clean(const std::string& key, std::string value) {
    if (value.find_first_of("\r\n") != std::string::npos) throw ConfigError(key, "must be one line");
    return value;
}

std::string required(const passerelle::Fields& p, const char* key) {
    std::string v = p.string(key, std::string());
    if (v.empty()) throw ConfigError(key, "is required");
    return clean(key, v);
}

std::string timeout_ms(const passerelle::Fields& p, const ActionDefaults& d) {
    auto t = p.duration("timeout", d.timeout);
    if (t.count() < 1000 || t.count() > 600000) throw ConfigError("timeout", "must be between 1s and 10m");
    return std::to_string(t.count());
}

void add_variables(const passerelle::Fields& p, Fields& f) {
    for (const auto& v : p.list("variables")) {
        if (v.find('=') == std::string::npos) throw ConfigError("variables", "must be NAME=value items");
        f.emplace_back("Variable", clean("variables", v));
    }
}

} // namespace

std::string base64(std::string_view in) {
    static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        unsigned n = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
        out += t[n >> 18];
        out += t[(n >> 12) & 63];
        out += t[(n >> 6) & 63];
        out += t[n & 63];
    }
    if (i < in.size()) {
        unsigned n = (unsigned char)in[i] << 16 | (i + 1 < in.size() ? (unsigned char)in[i + 1] << 8 : 0);
        out += t[n >> 18];
        out += t[(n >> 12) & 63];
        out += i + 1 < in.size() ? t[(n >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::string dial_channel(const std::string& target, const std::string& tech, const std::string& context) {
    if (target.find('/') != std::string::npos) return target; // "PJSIP/0612345678@trunk": as given
    if (iequals(tech, "Local")) return "Local/" + target + "@" + context;
    return tech + "/" + target;
}

Fields build_originate(const passerelle::Fields& p, const ActionDefaults& d) {
    std::string from = required(p, "from");
    std::string to = required(p, "to");
    std::string context = clean("context", p.string("context", d.context));
    Fields f{{"Action", "Originate"},
             {"Channel", dial_channel(from, d.channel_tech, context)},
             {"Context", context},
             {"Exten", to},
             {"Priority", "1"}};
    std::string cid = clean("caller_id", p.string("caller_id", d.caller_id));
    if (!cid.empty()) f.emplace_back("CallerID", cid);
    f.emplace_back("Timeout", timeout_ms(p, d));
    add_variables(p, f);
    f.emplace_back("Async", "true"); // a synchronous Originate blocks the AMI session while it rings
    return f;
}

Fields build_play(const passerelle::Fields& p, const ActionDefaults& d) {
    std::string to = required(p, "to");
    std::string context = clean("context", p.string("context", d.context));
    std::string sound = clean("sound", p.string("sound", std::string()));
    std::string extension = clean("extension", p.string("extension", std::string()));
    if (sound.empty() == extension.empty()) throw ConfigError("sound", "give either sound (an Asterisk sound file) or extension (a message extension)");
    if (!sound.empty() && sound.find_first_of(",|&;") != std::string::npos) throw ConfigError("sound", "must be a sound file name");
    Fields f{{"Action", "Originate"}, {"Channel", dial_channel(to, d.channel_tech, context)}};
    if (!sound.empty()) {
        f.emplace_back("Application", "Playback");
        f.emplace_back("Data", sound);
    } else {
        f.emplace_back("Context", context);
        f.emplace_back("Exten", extension);
        f.emplace_back("Priority", "1");
    }
    std::string cid = clean("caller_id", p.string("caller_id", d.caller_id));
    if (!cid.empty()) f.emplace_back("CallerID", cid);
    f.emplace_back("Timeout", timeout_ms(p, d));
    add_variables(p, f);
    f.emplace_back("Async", "true");
    return f;
}

Fields build_message(const passerelle::Fields& p, const ActionDefaults& d) {
    std::string to = required(p, "to");
    std::string text = p.string("text", std::string());
    if (text.empty()) throw ConfigError("text", "is required");
    if (text.size() > kMaxMessageBytes)
        throw ConfigError("text", "is " + std::to_string(text.size()) + " bytes; Asterisk cuts messages at " + std::to_string(kMaxMessageBytes));
    if (!is_valid_utf8(text)) throw ConfigError("text", "must be UTF-8");
    std::string tech = clean("tech", p.string("tech", d.message_tech));
    std::string dest = to.find(':') != std::string::npos ? to : tech + ":" + to;
    Fields f{{"Action", "MessageSend"}, {"To", dest}};
    std::string from = clean("from", p.string("from", d.message_from));
    if (!from.empty()) f.emplace_back("From", from);
    // Body is one line; a multi-line text travels as Base64Body.
    if (text.find_first_of("\r\n") != std::string::npos) f.emplace_back("Base64Body", base64(text));
    else f.emplace_back("Body", text);
    return f;
}

Fields build_hangup(const passerelle::Fields& p, const CallTracker& calls) {
    std::string channel = clean("channel", p.string("channel", std::string()));
    std::string linkedid = clean("linkedid", p.string("linkedid", std::string()));
    if (channel.empty() == linkedid.empty()) throw ConfigError("channel", "give either channel or linkedid");
    if (!linkedid.empty()) {
        const CallInfo* c = calls.find(linkedid);
        if (!c || c->ended) throw ConfigError("linkedid", "no call in progress with linkedid " + linkedid);
        // Hanging up the first channel of the call tears down its bridge too.
        channel = c->first_channel;
    }
    Fields f{{"Action", "Hangup"}, {"Channel", channel}};
    std::string cause = p.string("cause", std::string());
    if (!cause.empty()) f.emplace_back("Cause", clean("cause", cause));
    return f;
}

Fields build_raw(const passerelle::Fields& p, const ActionDefaults& d) {
    std::string name = required(p, "name");
    bool allowed = std::any_of(d.allow_raw.begin(), d.allow_raw.end(), [&](const std::string& a) { return iequals(a, name); });
    if (!allowed) throw ConfigError("name", "AMI action '" + name + "' is not listed in this instance's allow_raw");
    Fields f{{"Action", name}};
    for (const auto& [k, v] : p.json().items()) {
        if (k == "name" || k == "token" || iequals(k, "ActionID") || iequals(k, "Action")) continue;
        if (k.find_first_of("\r\n: ") != std::string::npos) throw ConfigError(k, "is not a valid AMI key");
        std::string value = v.is_string() ? v.get<std::string>() : v.dump();
        f.emplace_back(k, clean(k, value));
    }
    return f;
}

std::string originate_outcome(std::string_view reason) {
    if (reason == "4") return "answered";
    if (reason == "5") return "busy";
    if (reason == "3") return "no_answer";
    if (reason == "8") return "congestion";
    return "failed";
}

} // namespace passerelle::asterisk
