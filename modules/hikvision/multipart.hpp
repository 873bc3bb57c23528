// Byte-level parser for the multipart body of an ISAPI alertStream
// (GET /ISAPI/Event/notification/alertStream). No I/O: fed arbitrary chunks,
// it yields parts (headers, media type, body bytes) and recoverable errors.
//
// Tolerates what real devices send: a declared boundary that differs from the
// one used on the wire (older NVRs declare "myboundary" and send "--boundary"),
// quotes/spaces around the declared boundary, duplicate boundary lines, stray
// lines before the first boundary (HTTP response head, "Content-Length: 314"),
// CRLF or LF, "Content-Length: N" with or without a space, or none (the body then
// runs up to the next boundary line). Binary parts (JPEG/PNG) are never read as
// text and are delimited by Content-Length when present. Oversize or malformed
// parts produce an error and the parser resynchronises on the next boundary
// line; it never throws on input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace passerelle::hikvision {

using HeaderView = std::pair<std::string_view, std::string_view>;

// A part as the parser hands it over: views into the stream's bytes (or the
// parser's buffer), valid only while the handler runs. Parsing a part where
// it lies spares a copy of its body into a buffer of its own per stream: with
// 1,000 cameras, that buffer was cold at every event, ~7 cache lines missed
// per part. Whoever keeps a part copies it into a Part.
struct PartView {
    std::span<const HeaderView> headers; // as received, names verbatim
    std::string_view media_type; // lowercased, no parameters ("application/xml"); sniffed when absent
    std::string_view body;       // raw bytes (may contain NULs for images)

    // Header lookup, case-insensitive name; empty when absent.
    std::string_view header(std::string_view name) const;
    bool is_binary() const;          // image/*, video/*, application/octet-stream
    bool is_xml() const;             // application/xml, text/xml (or sniffed '<')
    bool is_json() const;            // application/json, text/json (or sniffed '{')
};

// An owned copy of a part, for tests and tools that keep parts.
struct Part {
    std::vector<std::pair<std::string, std::string>> headers;
    std::string media_type;
    std::string body;

    Part() = default;
    explicit Part(const PartView& v);

    std::string_view header(std::string_view name) const;
    bool is_binary() const;
    bool is_xml() const;
    bool is_json() const;
};

struct MultipartLimits {
    size_t max_text_part = 256 * 1024;        // XML / JSON / anything not binary
    size_t max_binary_part = 4 * 1024 * 1024; // images
    size_t max_header_line = 8 * 1024;        // one header (or preamble) line
    size_t max_headers = 64;                  // header lines in one part
    // A part whose Content-Length exceeds its cap is skipped byte-exactly when
    // the length is at most this (so a big JPEG holding boundary bytes cannot
    // desynchronise us); above it the length is not trusted and we rescan.
    size_t max_skip = 64 * 1024 * 1024;
};

// Extracts the boundary parameter of a Content-Type header value
// ("multipart/mixed; boundary=\"x\""), unquoted and trimmed; empty if none.
std::string boundary_from_content_type(std::string_view content_type);

class MultipartParser {
public:
    using PartHandler = std::function<void(const PartView&)>;
    using ErrorHandler = std::function<void(std::string_view message)>;

    // declared_boundary: the boundary from the response Content-Type (may be
    // empty). "boundary" is always accepted too, and a Content-Type line seen
    // before the first part (a raw HTTP response head) adds its boundary.
    explicit MultipartParser(std::string_view declared_boundary = {}, MultipartLimits limits = {});

    void set_handlers(PartHandler on_part, ErrorHandler on_error);

    // Feeds the next bytes of the stream; handlers run synchronously.
    void feed(std::string_view bytes);
    // End of stream: a part still being read without Content-Length is
    // emitted if non-empty; a truncated Content-Length part is an error.
    void finish();
    // Forgets everything buffered (after a reconnect); keeps learned boundaries.
    void reset();

    uint64_t parts() const { return parts_; }
    uint64_t errors() const { return errors_; }
    size_t buffered() const { return buf_.size() - pos_; }

private:
    enum class St { preamble, headers, body_length, body_scan, skip, after_body };

    bool step();                     // one transition; false when more bytes are needed
    bool read_line(std::string_view& line, size_t& next, bool& too_long);
    int match_boundary_at(const char* base, size_t n, size_t at) const;
    static constexpr size_t npos = static_cast<size_t>(-1);
    int boundary_kind(std::string_view line) const; // 0 no, 1 delimiter, 2 closing "--b--"
    void end_at_delimiter(size_t d);
    void keep_headers(); // copies the current part's header views into header_store_
    bool inside_part() const { return nheaders_ > 0 && (st_ == St::headers || st_ == St::body_length || st_ == St::body_scan); }
    void learn_boundary(std::string_view b);
    void begin_part();
    void header_line(std::string_view line, size_t colon); // colon: where its ':' is
    void start_body();
    void emit(std::string_view body);
    void error(std::string_view msg);
    size_t cap_for_current() const;
    // Finds "\n--<boundary>" (or "--<boundary>" at from==body start) in buf_
    // from position `from`; returns npos if none yet. `keep` gets how many
    // trailing bytes might still start a delimiter.
    size_t find_delimiter(size_t from, size_t& keep) const;
    void compact();

    MultipartLimits lim_;
    std::vector<std::string> boundaries_; // without the leading "--"
    size_t longest_boundary_ = 0;
    PartHandler on_part_;
    ErrorHandler on_error_;

    std::string buf_;      // bytes held back between feeds (an unfinished part)
    std::string_view in_;  // what step() parses: buf_, or the bytes fed when nothing was held back
    size_t pos_ = 0;       // first unconsumed byte of in_
    St st_ = St::preamble;
    // The part being read: its headers are views into in_ until a read ends
    // inside the part, when keep_headers() copies them into header_store_
    // (in_ is the caller's bytes or buf_, neither of which lasts).
    std::vector<HeaderView> headers_; // the first nheaders_ are this part's
    size_t nheaders_ = 0;
    size_t kept_headers_ = 0;         // of those, how many point into header_store_
    std::string header_store_;
    std::string media_type_;
    bool have_length_ = false;
    size_t length_ = 0;      // Content-Length of the current part
    size_t skip_left_ = 0;   // bytes still to drop in St::skip
    size_t scan_from_ = 0;   // resume offset (relative to pos_) for delimiter scans
    bool discard_line_ = false; // dropping an over-long non-boundary line
    uint64_t parts_ = 0;
    uint64_t errors_ = 0;
};

} // namespace passerelle::hikvision
