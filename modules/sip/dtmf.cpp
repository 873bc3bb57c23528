#include "dtmf.hpp"

#include "sip_message.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace sip {

std::optional<char> dtmf_digit(int event) {
    static constexpr char kDigits[] = "0123456789*#ABCD";
    if (event < 0 || event > 15) return std::nullopt;
    return kDigits[event];
}

std::optional<char> Rfc4733Receiver::on_packet(std::span<const uint8_t> p, uint32_t ssrc, uint32_t ts,
                                               Clock::time_point now) {
    if (p.size() < 4) return std::nullopt;
    const int event = p[0];
    const bool end = p[1] & 0x80;
    if (active_ && active_->ssrc == ssrc && active_->timestamp == ts) {
        // An update or an end of the press in progress.
        last_packet_ = now;
        if (end) close();
        return std::nullopt;
    }
    if (recently_closed(ssrc, ts)) return std::nullopt;  // the 2nd/3rd end packet, or a late update
    // A new press (a new timestamp): the previous one, if any, is over.
    if (active_) close();
    auto digit = dtmf_digit(event);
    if (!digit) return std::nullopt;
    active_ = Press{ssrc, ts};
    last_packet_ = now;
    if (end) close();  // only the end packets arrived: still one press
    return digit;
}

void Rfc4733Receiver::on_time(Clock::time_point now) {
    if (active_ && now - last_packet_ >= end_silence_) close();
}

std::optional<Clock::time_point> Rfc4733Receiver::next_deadline() const {
    if (!active_) return std::nullopt;
    return last_packet_ + end_silence_;
}

bool Rfc4733Receiver::recently_closed(uint32_t ssrc, uint32_t ts) const {
    return std::any_of(closed_.begin(), closed_.end(), [&](const Press& p) { return p.ssrc == ssrc && p.timestamp == ts; });
}

void Rfc4733Receiver::close() {
    if (!active_) return;
    closed_.push_back(*active_);
    if (closed_.size() > 8) closed_.pop_front();
    active_.reset();
}

namespace {

std::optional<char> digit_from_text(std::string_view v) {
    v = trim(v);
    if (v.empty()) return std::nullopt;
    if (v.size() == 1) {
        char c = static_cast<char>(std::toupper(static_cast<unsigned char>(v[0])));
        if (std::isdigit(static_cast<unsigned char>(c)) || c == '*' || c == '#' || (c >= 'A' && c <= 'D')) return c;
        return std::nullopt;
    }
    int n = 0;  // some devices send the event number: 10 = *, 11 = #
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec == std::errc() && p == v.data() + v.size()) return dtmf_digit(n);
    return std::nullopt;
}

} // namespace

std::optional<char> parse_dtmf_info(std::string_view content_type, std::string_view body) {
    std::string_view type = trim(content_type.substr(0, content_type.find(';')));
    if (iequals(type, "application/dtmf-relay")) {
        size_t pos = 0;
        while (pos < body.size()) {
            size_t nl = body.find('\n', pos);
            std::string_view line = body.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
            pos = nl == std::string_view::npos ? body.size() : nl + 1;
            size_t eq = line.find('=');
            if (eq == std::string_view::npos) continue;
            if (iequals(trim(line.substr(0, eq)), "Signal")) return digit_from_text(line.substr(eq + 1));
        }
        return std::nullopt;
    }
    if (iequals(type, "application/dtmf")) return digit_from_text(body);
    return std::nullopt;
}

} // namespace sip
