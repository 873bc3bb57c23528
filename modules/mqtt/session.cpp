#include "session.hpp"

#include <algorithm>
#include <vector>

namespace mqtt {

void Session::push(OutMessage message, Done done) {
    waiting_.push_back(Pending{std::move(message), std::move(done), ++seq_, 0, false});
}

void Session::push_front(OutMessage message, Done done) {
    // seq 0: sorts before every other message if it is put back after a drop.
    waiting_.push_front(Pending{std::move(message), std::move(done), 0, 0, false});
}

void Session::connected(bool session_present, uint16_t receive_maximum, uint32_t max_packet) {
    connected_ = true;
    session_present_ = session_present;
    window_ = receive_maximum ? receive_maximum : 65535;
    max_packet_ = max_packet;
    if (!session_present) {
        // A new session: the broker knows none of our packet ids; resend as new messages.
        reserved_.clear();
        for (Pending& p : waiting_) {
            p.packet_id = 0;
            p.sent_before = false;
        }
    }
}

void Session::disconnected() {
    connected_ = false;
    if (in_flight_.empty()) return;
    std::vector<Pending> back;
    back.reserve(in_flight_.size());
    for (auto& [id, p] : in_flight_) back.push_back(std::move(p));
    in_flight_.clear();
    std::sort(back.begin(), back.end(), [](const Pending& a, const Pending& b) { return a.seq > b.seq; });
    for (Pending& p : back) { // newest first, each to the front: the oldest ends up first
        p.sent_before = true;
        reserved_.insert(p.packet_id);
        waiting_.push_front(std::move(p));
    }
}

uint16_t Session::next_packet_id() {
    // At most 65535 ids exist; the window keeps far fewer in use, so this ends quickly.
    for (int i = 0; i < 65536; ++i) {
        last_id_ = static_cast<uint16_t>(last_id_ == 65535 ? 1 : last_id_ + 1);
        if (!in_flight_.count(last_id_) && !reserved_.count(last_id_)) return last_id_;
    }
    return 0; // unreachable while the window is below 65535
}

size_t Session::fill(std::string& out) {
    size_t n = 0;
    while (connected_ && !waiting_.empty()) {
        Pending& head = waiting_.front();
        const int qos = std::clamp(head.msg.qos, 0, 2);
        if (qos > 0 && in_flight_.size() >= window_) break;
        wire::PublishOut o;
        o.topic = head.msg.topic;
        o.payload = head.msg.payload;
        o.qos = qos;
        o.retain = head.msg.retain;
        if (version_ == wire::Version::v5) o.correlation_data = head.msg.correlation_data;
        std::string error;
        if (head.msg.topic.empty() || head.msg.topic.size() > 65535)
            error = "cannot publish on '" + head.msg.topic.substr(0, 200) + "': not a valid topic";
        else if (wire::publish_size(version_, o) > (max_packet_ ? max_packet_ : wire::max_remaining_length + 5))
            error = "cannot publish on '" + head.msg.topic + "': the message is larger than the broker accepts";
        if (!error.empty() || qos == 0) {
            Pending p = std::move(head);
            waiting_.pop_front();
            if (error.empty()) {
                wire::encode_publish(out, version_, o);
                ++n;
            }
            p.done(error.empty(), error);
            continue;
        }
        if (head.sent_before && session_present_ && head.packet_id) {
            reserved_.erase(head.packet_id);
            o.dup = true;
        } else {
            if (head.packet_id) reserved_.erase(head.packet_id);
            head.packet_id = next_packet_id();
        }
        o.packet_id = head.packet_id;
        wire::encode_publish(out, version_, o);
        ++n;
        Pending p = std::move(head);
        waiting_.pop_front();
        in_flight_.emplace(p.packet_id, std::move(p));
    }
    return n;
}

bool Session::finish(uint16_t packet_id, uint8_t reason, const std::string& reason_string) {
    auto it = in_flight_.find(packet_id);
    if (it == in_flight_.end()) return false;
    Pending p = std::move(it->second);
    in_flight_.erase(it);
    if (reason >= 0x80)
        p.done(false, "the broker refused the message on '" + p.msg.topic + "': " + wire::reason_text(reason, version_) +
                          (reason_string.empty() ? "" : " (" + reason_string + ")"));
    else
        p.done(true, {});
    return true;
}

bool Session::on_puback(uint16_t packet_id, uint8_t reason, const std::string& reason_string) {
    auto it = in_flight_.find(packet_id);
    if (it == in_flight_.end() || std::clamp(it->second.msg.qos, 0, 2) != 1) return false;
    return finish(packet_id, reason, reason_string);
}

bool Session::on_pubrec(uint16_t packet_id, uint8_t reason, const std::string& reason_string) {
    auto it = in_flight_.find(packet_id);
    if (it == in_flight_.end() || std::clamp(it->second.msg.qos, 0, 2) != 2) return false;
    if (reason >= 0x80) {
        finish(packet_id, reason, reason_string);
        return false;
    }
    return true;
}

bool Session::on_pubcomp(uint16_t packet_id, uint8_t reason, const std::string& reason_string) {
    auto it = in_flight_.find(packet_id);
    if (it == in_flight_.end() || std::clamp(it->second.msg.qos, 0, 2) != 2) return false;
    return finish(packet_id, reason, reason_string);
}

} // namespace mqtt
