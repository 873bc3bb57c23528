// SIP messages (RFC 3261 section 7), the pure part: parse one UDP datagram into
// a request or a response, look headers up by name (compact forms expanded),
// split multi-value headers, serialize with a correct Content-Length. No I/O.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sip {

struct Header {
    std::string name;   // canonical spelling ("Call-ID", "Via"), compact forms expanded
    std::string value;  // folded lines joined with one space, trimmed
};

struct Message {
    bool request = false;
    std::string method;  // requests: "INVITE"...
    std::string uri;     // requests: the Request-URI as sent
    int status = 0;      // responses
    std::string reason;  // responses
    std::vector<Header> headers;
    std::string body;

    // The first value of a header (case-insensitive, compact names accepted).
    const std::string* get(std::string_view name) const;
    std::string value(std::string_view name) const { auto* v = get(name); return v ? *v : std::string(); }
    // Every value of a header: all its lines, each split on top-level commas
    // (Via, Contact, Route, Record-Route...). Not for headers whose syntax holds
    // bare commas (dates, WWW-Authenticate): use get_lines for those.
    std::vector<std::string> get_all(std::string_view name) const;
    // Every line of a header, unsplit.
    std::vector<std::string> get_lines(std::string_view name) const;
    void add(std::string_view name, std::string value);
    void set(std::string_view name, std::string value);   // replaces every line
    void remove(std::string_view name);

    // "Method" of the CSeq header, and its number (0 when missing/bad).
    uint32_t cseq_number() const;
    std::string cseq_method() const;

    // Wire form; Content-Length is always written from body.size().
    std::string serialize() const;
};

struct Limits {
    size_t max_message = 65535;    // a UDP datagram cannot be larger
    size_t max_headers = 128;      // header lines
    size_t max_header_bytes = 8192; // one header (after unfolding)
    size_t max_start_line = 4096;
};

struct ParseResult {
    std::optional<Message> message;
    std::string error;  // why it was refused, for logs and counters
};

// Parses one datagram. Never throws; refuses oversize, garbage, a Content-Length
// larger than what arrived, a missing mandatory header (Via, From, To, Call-ID, CSeq).
ParseResult parse(std::string_view datagram, const Limits& limits = {});

// "v" -> "Via", "call-id" -> "Call-ID", unknown names keep their spelling.
std::string canonical_name(std::string_view name);
bool iequals(std::string_view a, std::string_view b);
std::string_view trim(std::string_view s);
// Splits on commas outside quotes and <...>.
std::vector<std::string> split_commas(std::string_view value);
// A ;param of a header value, after any <...> (e.g. tag, expires, branch, received).
// nullopt when absent; "" for a flag param (";lr").
std::optional<std::string> header_param(std::string_view value, std::string_view name);

} // namespace sip
