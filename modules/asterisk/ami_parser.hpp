// Byte-level AMI stream parser: no I/O, fed whatever a read returned (one
// byte or many packets), yields whole packets. Handles CRLF or bare-LF lines,
// the lone banner line at the start of a connection, repeated keys, values
// that are empty or contain ": ", the "Response: Follows" ... "--END COMMAND--"
// raw output of Asterisk <= 13, and caps line and packet sizes: an oversized
// packet is reported as one Kind::error packet and skipped up to the next
// blank line (resync), so memory stays bounded whatever the peer sends.
#pragma once

#include "ami_packet.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace passerelle::asterisk {

struct AmiParserLimits {
    size_t max_line = 64 * 1024;          // bytes in one line
    size_t max_packet = 1024 * 1024;      // bytes in one packet
    size_t max_fields = 4096;             // lines in one packet
};

class AmiParser {
public:
    using Sink = std::function<void(AmiPacket&&)>;

    explicit AmiParser(AmiParserLimits limits = {}) : limits_(limits) {}

    // Parses `data`, calling `sink` for every complete packet (and error).
    void feed(std::string_view data, const Sink& sink);
    // A new connection: the next line may be a banner again.
    void reset();

    size_t packets() const { return packets_; }
    size_t errors() const { return errors_; }
    // Bytes buffered (partial line + partial packet): bounded by the limits.
    size_t buffered() const { return line_.size() + packet_bytes_; }

private:
    void on_line(std::string_view line, bool had_cr, const Sink& sink);
    void finish_packet(const Sink& sink);
    void fail(std::string message, const Sink& sink);

    AmiParserLimits limits_;
    std::string line_;        // partial line carried between feeds
    bool line_overflow_ = false;
    AmiPacket current_;
    size_t packet_bytes_ = 0;
    bool at_start_ = true;    // before the first line of the connection
    bool follows_ = false;    // inside "Response: Follows" raw output
    bool follows_output_ = false;
    bool skipping_ = false;   // after an error: drop lines up to a blank one
    size_t packets_ = 0;
    size_t errors_ = 0;
};

} // namespace passerelle::asterisk
