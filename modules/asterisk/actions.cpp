#include "actions.hpp"

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

namespace {
// How a refused action becomes a reply status.
pl_status status_for(const std::string& error) {
    if (error.find("Permission denied") != std::string::npos) return PL_ERR_AUTH;
    return PL_ERR_PERMANENT;
}

nlohmann::json packet_json(const AmiPacket& p) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [k, v] : p.fields) {
        if (k.empty() || iequals(k, "ActionID")) continue;
        if (j.contains(k)) {
            if (!j[k].is_array()) j[k] = nlohmann::json::array({j[k]});
            j[k].push_back(v);
        } else {
            j[k] = v;
        }
    }
    return j;
}
} // namespace

bool ActionRunner::handle(passerelle::Call& call) {
    const std::string& a = call.action;
    if (a == "originate") {
        send_originate(call, build_originate(call.params, d_), "originate");
    } else if (a == "play") {
        send_originate(call, build_play(call.params, d_), "play");
    } else if (a == "message" || a == "hangup" || a == "action") {
        Fields f = a == "message" ? build_message(call.params, d_) : a == "hangup" ? build_hangup(call.params, calls_) : build_raw(call.params, d_);
        passerelle::Reply reply = call.reply;
        std::string what = a == "action" ? f.front().second : a;
        session_.send(std::move(f), 10s, [reply, what](ActionResult&& r) {
            if (r.ok) {
                nlohmann::json j = {{"message", std::string(r.response.get("Message"))}};
                if (what != "message" && what != "hangup") {
                    j["response"] = packet_json(r.response);
                    if (!r.events.empty()) {
                        j["events"] = nlohmann::json::array();
                        for (const auto& e : r.events) j["events"].push_back(packet_json(e));
                    }
                }
                return reply.ok(j);
            }
            if (r.response.fields.empty()) return reply.retry(what + ": " + r.error);
            // "Message failed to send." (unknown peer), "Message technology not found." (no such tech)
            reply.fail(status_for(r.error), what + " refused by Asterisk: " + r.error);
        });
    } else {
        return false;
    }
    return true;
}

void ActionRunner::send_originate(passerelle::Call& call, Fields fields, const std::string& what) {
    passerelle::Reply reply = call.reply;
    long ring_ms = 30000;
    for (const auto& [k, v] : fields)
        if (k == "Timeout") ring_ms = std::stol(v);
    std::string from = call.params.string(what == "play" ? "to" : "from", std::string());
    auto started = std::chrono::steady_clock::now();
    // OriginateResponse comes after the ring time at worst.
    auto timeout = std::chrono::milliseconds(ring_ms) + 5s;
    session_.send(std::move(fields), timeout, [this, reply, what, from, started](ActionResult&& r) {
        if (r.events.empty()) { // no OriginateResponse: immediate error, timeout or connection loss
            if (r.response.fields.empty()) return reply.retry(what + " of " + from + ": " + r.error);
            if (!r.ok) return reply.fail(status_for(r.error), what + " of " + from + " refused by Asterisk: " + r.error);
            return reply.fail(PL_ERR_PERMANENT, what + " of " + from + ": " + r.error);
        }
        const AmiPacket& ev = r.events.front();
        std::string reason(ev.get("Reason"));
        std::string outcome = originate_outcome(reason);
        nlohmann::json result = {{"outcome", outcome}, {"reason", reason}, {"channel", std::string(ev.get("Channel"))}};
        std::string uid(ami_value(ev.get("Uniqueid")));
        if (!uid.empty()) result["uniqueid"] = uid;
        if (!r.ok) {
            reply.fail(PL_ERR_PERMANENT, what + " of " + from + " failed: " + outcome + " (Reason " + reason + ")");
            return;
        }
        if (what == "play" || uid.empty()) return reply.ok(result);
        // Success only means `from` answered: follow the call by Linkedid to
        // see whether `to` answers too, for up to `follow` (and within the API's 30 s).
        auto deadline = std::min(std::chrono::steady_clock::now() + d_.follow, started + 28s);
        follows_.push_back(Follow{reply, result, uid, deadline});
        if (settle(follows_.back(), false)) follows_.pop_back();
    }, "OriginateResponse");
}

bool ActionRunner::settle(Follow& f, bool final) {
    const CallInfo* c = calls_.find_by_uniqueid(f.uniqueid);
    if (c) {
        f.result["linkedid"] = c->key;
        if (c->answered_dials >= 2) {
            f.result["to_answered"] = true;
            f.reply.ok(f.result);
            return true;
        }
        if (c->ended) {
            f.result["to_answered"] = false;
            f.result["cause"] = c->cause;
            f.result["cause_txt"] = c->cause_txt;
            f.reply.ok(f.result);
            return true;
        }
    }
    if (!final) return false;
    f.result["to_answered"] = nullptr; // not known yet: the call events will tell
    f.result["to_status"] = c ? "pending" : "unknown (no call events: the AMI user needs read = call)";
    f.reply.ok(f.result);
    return true;
}

void ActionRunner::on_calls_changed() {
    for (auto it = follows_.begin(); it != follows_.end();)
        it = settle(*it, false) ? follows_.erase(it) : std::next(it);
}

void ActionRunner::tick() {
    auto now = std::chrono::steady_clock::now();
    for (auto it = follows_.begin(); it != follows_.end();)
        it = settle(*it, it->deadline <= now) ? follows_.erase(it) : std::next(it);
}

} // namespace passerelle::asterisk
