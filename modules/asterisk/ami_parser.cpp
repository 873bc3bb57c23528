#include "ami_parser.hpp"

#include <cstring>

namespace passerelle::asterisk {

namespace {
constexpr std::string_view kEndCommand = "--END COMMAND--";
} // namespace

void AmiParser::reset() {
    line_.clear();
    line_overflow_ = false;
    current_ = AmiPacket{};
    packet_bytes_ = 0;
    at_start_ = true;
    follows_ = follows_output_ = skipping_ = false;
}

void AmiParser::feed(std::string_view data, const Sink& sink) {
    while (!data.empty()) {
        const char* nl = static_cast<const char*>(std::memchr(data.data(), '\n', data.size()));
        if (!nl) {
            // Partial line: keep it (bounded), unless we are dropping an oversized one.
            if (!line_overflow_) {
                line_.append(data);
                if (line_.size() > limits_.max_line) {
                    line_.clear();
                    line_overflow_ = true;
                    fail("line longer than " + std::to_string(limits_.max_line) + " bytes", sink);
                }
            }
            return;
        }
        size_t n = static_cast<size_t>(nl - data.data());
        std::string_view piece = data.substr(0, n);
        data.remove_prefix(n + 1);
        if (line_overflow_) { // the end of a line already reported as too long
            line_overflow_ = false;
            continue;
        }
        std::string_view line;
        if (line_.empty()) {
            line = piece;
        } else {
            line_.append(piece);
            line = line_;
        }
        if (line.size() > limits_.max_line) {
            line_.clear();
            fail("line longer than " + std::to_string(limits_.max_line) + " bytes", sink);
            continue;
        }
        bool had_cr = !line.empty() && line.back() == '\r';
        if (had_cr) line.remove_suffix(1);
        on_line(line, had_cr, sink);
        line_.clear();
    }
}

void AmiParser::fail(std::string message, const Sink& sink) {
    ++errors_;
    current_ = AmiPacket{};
    packet_bytes_ = 0;
    follows_ = follows_output_ = false;
    skipping_ = true;
    AmiPacket err;
    err.kind = AmiPacket::Kind::error;
    err.text = std::move(message);
    sink(std::move(err));
}

void AmiParser::on_line(std::string_view line, bool had_cr, const Sink& sink) {
    if (at_start_) {
        at_start_ = false;
        // The banner is a lone line ("Asterisk Call Manager/9.0.0", "PBX Call
        // Manager/..."), not followed by a blank line.
        if (!line.empty() && line.find(": ") == std::string_view::npos && line.back() != ':') {
            AmiPacket banner;
            banner.kind = AmiPacket::Kind::banner;
            banner.text = std::string(line);
            ++packets_;
            sink(std::move(banner));
            return;
        }
    }
    if (skipping_) {
        if (line.empty()) skipping_ = false;
        return;
    }
    if (follows_ && (follows_output_ || !had_cr || line.find(": ") == std::string_view::npos || line.empty())) {
        // Raw CLI output of "Response: Follows" (Asterisk <= 13): bare-LF lines,
        // possibly empty, up to "--END COMMAND--" (sometimes glued to the last line).
        if (line.size() >= kEndCommand.size() && line.substr(line.size() - kEndCommand.size()) == kEndCommand) {
            std::string_view rest = line.substr(0, line.size() - kEndCommand.size());
            if (!rest.empty()) current_.fields.emplace_back("Output", std::string(rest));
            follows_ = follows_output_ = false;
        } else {
            follows_output_ = true;
            current_.fields.emplace_back("Output", std::string(line));
        }
        packet_bytes_ += line.size() + 1;
        if (packet_bytes_ > limits_.max_packet || current_.fields.size() > limits_.max_fields)
            fail("command output larger than " + std::to_string(limits_.max_packet) + " bytes", sink);
        return;
    }
    if (line.empty()) {
        if (!current_.fields.empty()) finish_packet(sink);
        return;
    }
    packet_bytes_ += line.size() + 2;
    if (packet_bytes_ > limits_.max_packet || current_.fields.size() >= limits_.max_fields) {
        fail("packet larger than " + std::to_string(limits_.max_packet) + " bytes or " +
                 std::to_string(limits_.max_fields) + " lines",
             sink);
        return;
    }
    size_t colon = line.find(':');
    std::string_view key, value;
    if (colon == std::string_view::npos) {
        key = {};
        value = line; // a line without a key: kept, with an empty key
    } else {
        key = line.substr(0, colon);
        value = line.substr(colon + 1);
        if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
    }
    if (current_.fields.empty()) {
        if (iequals(key, "Event")) current_.kind = AmiPacket::Kind::event;
        else if (iequals(key, "Response")) current_.kind = AmiPacket::Kind::response;
        else current_.kind = AmiPacket::Kind::other;
    }
    if (current_.kind == AmiPacket::Kind::response && iequals(key, "Response") && iequals(value, "Follows"))
        follows_ = true;
    current_.fields.emplace_back(std::string(key), std::string(value));
}

void AmiParser::finish_packet(const Sink& sink) {
    ++packets_;
    AmiPacket done = std::move(current_);
    current_ = AmiPacket{};
    packet_bytes_ = 0;
    follows_ = follows_output_ = false;
    sink(std::move(done));
}

} // namespace passerelle::asterisk
