#include "actions.hpp"

namespace passerelle::asterisk {

using namespace std::chrono_literals;

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
    long ring_ms = d_.timeout.count();
    for (const auto& [k, v] : fields)
        if (k == "Timeout") ring_ms = std::stol(v);
    std::string from = call.params.string(what == "play" ? "to" : "from", std::string());
    auto started = std::chrono::steady_clock::now();
    // OriginateResponse comes after the ring time at worst: our own deadline is
    // ring time + margin, under the API's action_timeout with the defaults.
    auto timeout = std::chrono::milliseconds(ring_ms) + kOriginateMargin;
    session_.send(std::move(fields), timeout, [this, reply, what, from, started](ActionResult&& r) {
        if (r.events.empty()) { // no OriginateResponse: immediate error, timeout or connection loss
            if (r.response.fields.empty()) return reply.retry(what + " of " + from + ": " + r.error);
            if (!r.ok && iequals(r.response.get("Response"), "Success")) // queued, then no OriginateResponse in time
                return reply.fail(PL_ERR_PERMANENT, what + " of " + from + ": outcome unknown: " + r.error);
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
