#include "action_tracker.hpp"

#include <cstdio>
#include <random>

namespace passerelle::asterisk {

std::string ActionTracker::next_id() {
    if (salt_ == 0) {
        // A random salt so that ids never repeat across reconnects or restarts
        // (a late answer to an old session's action must not match a new one).
        std::random_device rd;
        salt_ = rd() | 1u;
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s-%08x-%llu", prefix_.c_str(), salt_, static_cast<unsigned long long>(++counter_));
    return buf;
}

void ActionTracker::expect(const std::string& action_id, Clock::time_point deadline, Callback done, std::string await_event) {
    Pending p;
    p.deadline = deadline;
    p.done = std::move(done);
    p.await_event = std::move(await_event);
    pending_[action_id] = std::move(p);
}

void ActionTracker::finish(std::map<std::string, Pending>::iterator it, bool ok, std::string error) {
    Pending p = std::move(it->second);
    pending_.erase(it);
    p.result.ok = ok;
    p.result.error = std::move(error);
    if (p.done) p.done(std::move(p.result));
}

bool ActionTracker::on_packet(const AmiPacket& p) {
    std::string_view id = p.action_id();
    if (id.empty()) return false;
    auto it = pending_.find(std::string(id));
    if (it == pending_.end()) return false;
    Pending& w = it->second;
    if (p.kind == AmiPacket::Kind::response) {
        w.result.response = p;
        std::string_view resp = p.response();
        if (iequals(resp, "Error")) {
            std::string msg(p.get("Message"));
            finish(it, false, msg.empty() ? "error" : msg);
        } else if (iequals(p.get("EventList"), "start")) {
            w.in_list = true;
        } else if (!w.await_event.empty() && iequals(resp, "Success")) {
            w.awaiting_event = true; // "Originate successfully queued"
        } else {
            finish(it, iequals(resp, "Success") || iequals(resp, "Follows") || iequals(resp, "Goodbye"), std::string(p.get("Message")));
        }
        return true;
    }
    if (p.kind == AmiPacket::Kind::event) {
        if (w.awaiting_event && iequals(p.event(), w.await_event)) {
            w.result.events.push_back(p);
            bool ok = iequals(p.get("Response"), "Success");
            finish(it, ok, ok ? std::string() : std::string(p.get("Response")));
            return true;
        }
        if (w.in_list) {
            std::string_view list = p.get("EventList");
            if (iequals(list, "Complete") || iequals(list, "Cancelled")) {
                w.result.events.push_back(p);
                finish(it, iequals(list, "Complete"), iequals(list, "Complete") ? "" : "list cancelled");
            } else {
                w.result.events.push_back(p);
            }
            return true;
        }
    }
    return false;
}

void ActionTracker::expire(Clock::time_point now) {
    // Collect first: a callback may start new actions (and so touch pending_).
    std::vector<std::string> due;
    for (const auto& [id, p] : pending_)
        if (p.deadline <= now) due.push_back(id);
    for (const auto& id : due) {
        auto it = pending_.find(id);
        if (it == pending_.end()) continue;
        std::string what = it->second.awaiting_event
                               ? "no " + it->second.await_event + " before the timeout (the AMI user needs read = call,originate)"
                               : "no answer from Asterisk before the timeout";
        finish(it, false, what);
    }
}

void ActionTracker::fail_all(const std::string& reason) {
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& [id, p] : pending) {
        p.result.ok = false;
        p.result.error = reason;
        if (p.done) p.done(std::move(p.result));
    }
}

std::optional<ActionTracker::Clock::time_point> ActionTracker::next_deadline() const {
    std::optional<Clock::time_point> best;
    for (const auto& [id, p] : pending_)
        if (!best || p.deadline < *best) best = p.deadline;
    return best;
}

} // namespace passerelle::asterisk
