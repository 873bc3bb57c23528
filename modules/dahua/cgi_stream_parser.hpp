// Byte-level parser for the body of Dahua's
// `eventManager.cgi?action=attach&codes=[All]&heartbeat=N` response: a never-ending
// multipart/x-mixed-replace stream. Pure: fed arbitrary chunks (a TCP read is never
// assumed to be a part), yields parts, heartbeats and recoverable errors.
//
// Dahua firmware quirks it tolerates (see ../shared/fixtures/dahua-http/):
// - `Content-Length:N` with or without a space; parts without Content-Length
//   (the body then runs to the next boundary);
// - heartbeats framed as `\r\n--myboundary ... \r\n\r\nHeartbeat` followed directly by
//   the next boundary (no CRLF), while event parts end with `\r\n\r\n`;
// - a stream that starts with a heartbeat, a preamble, or a repeated
//   `HTTP/1.1 200 OK` + header block (skipped, counted);
// - `-- myboundary` (old firmware), LF-only line ends, blank lines between headers
//   (logs that doubled every LF), a missing blank line before the body;
// - a Content-Length off by the trailing CRLF (trailing CR/LF are trimmed from the
//   body) or plain wrong: a boundary line found inside the announced body ends the
//   part there and is reported as `length_mismatch`;
// - bounded memory: headers and parts are capped; oversize is reported and the
//   parser resynchronizes on the next boundary. Garbage is skipped, never fatal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace passerelle::dahua {

struct CgiPart {
    std::vector<std::pair<std::string, std::string>> headers; // in wire order, names as sent
    std::string body;                                          // trailing CR/LF trimmed
    std::optional<std::size_t> content_length;                 // as announced, if any

    // Case-insensitive header lookup; empty view when absent.
    std::string_view header(std::string_view name) const;
};

enum class CgiStreamError {
    garbage,          // non-whitespace bytes skipped between parts (detail: count)
    headers_too_large,// header block exceeded the cap; skipped to the next boundary
    part_too_large,   // announced or actual body exceeded the cap; skipped
    length_mismatch,  // a boundary appeared inside the announced body: part cut there
    bad_content_length,// unparsable Content-Length; body read up to the next boundary
    truncated,        // finish() called in the middle of a part
};

std::string_view to_string(CgiStreamError e);

struct CgiStreamItem {
    enum class Kind { part, heartbeat, error } kind = Kind::part;
    CgiPart part;                               // kind == part
    CgiStreamError error = CgiStreamError::garbage; // kind == error
    std::string detail;                         // kind == error: short, no payload bytes
};

struct CgiStreamStats {
    uint64_t bytes = 0;
    uint64_t parts = 0;
    uint64_t heartbeats = 0;
    uint64_t errors = 0;
    uint64_t skipped_bytes = 0;      // bytes not belonging to any part (incl. whitespace)
    uint64_t http_header_blocks = 0; // repeated `HTTP/1.x 200 OK` blocks skipped
};

class CgiStreamParser {
public:
    struct Options {
        std::string boundary = "myboundary"; // from the response Content-Type, without "--"
        std::size_t max_part_size = 64 * 1024;
        std::size_t max_header_size = 8 * 1024;
    };

    CgiStreamParser();
    explicit CgiStreamParser(Options options);

    // Consumes `bytes`; appends every complete item to `out` (never clears it).
    void feed(std::string_view bytes, std::vector<CgiStreamItem>& out);
    // End of stream: a part without Content-Length ends here; a part cut short is reported.
    void finish(std::vector<CgiStreamItem>& out);
    // Forget everything buffered (new connection). Stats are kept.
    void reset();

    const CgiStreamStats& stats() const { return stats_; }
    // Bytes currently buffered (bounded by the caps plus one boundary).
    std::size_t buffered() const { return buf_.size() - pos_; }

private:
    enum class State { seek, boundary_line, headers, body, discard };

    bool step(std::vector<CgiStreamItem>& out); // false: needs more bytes
    bool step_seek(std::vector<CgiStreamItem>& out);
    bool step_boundary_line(std::vector<CgiStreamItem>& out);
    bool step_headers(std::vector<CgiStreamItem>& out);
    bool step_body(std::vector<CgiStreamItem>& out);
    bool step_discard();

    // Finds a boundary marker (`--b` or `-- b`) at or after `from`; npos if none.
    // `marker_len` receives its length.
    std::size_t find_marker(std::size_t from, std::size_t& marker_len) const;
    // Finds a marker followed by a line end (a real boundary line) in [from, to).
    // `undecided`: a marker was found but the bytes after it are not there yet.
    std::size_t find_boundary_line(std::size_t from, std::size_t to, bool& undecided) const;
    std::size_t max_marker() const;
    // Where the next scan of the body must start so no boundary line is missed.
    std::size_t rescan_from() const;
    void begin_part();
    void begin_body(std::vector<CgiStreamItem>& out);
    void emit_part(std::string_view body, std::vector<CgiStreamItem>& out);
    void emit_error(CgiStreamError e, std::string detail, std::vector<CgiStreamItem>& out);
    void note_skipped(std::string_view skipped, std::vector<CgiStreamItem>& out);
    void flush_skipped(std::vector<CgiStreamItem>& out);
    void start_seek();
    void compact();

    Options opt_;
    std::string buf_;
    std::size_t pos_ = 0;
    State state_ = State::seek;
    bool seen_boundary_ = false;
    // Current part.
    CgiPart cur_;
    std::size_t header_bytes_ = 0;
    bool blank_in_headers_ = false;
    std::size_t body_start_ = 0;  // offset in buf_ while in State::body
    std::size_t body_scanned_ = 0; // how far the body was scanned for a boundary line
    // Garbage accounting while seeking.
    uint64_t garbage_run_ = 0;
    std::size_t http_match_ = 0;   // chars of "HTTP/1." matched so far
    bool http_block_ = false;      // the skipped run held a repeated HTTP header block
    bool suppress_garbage_ = false;// skipping after an error already reported
    CgiStreamStats stats_;
};

} // namespace passerelle::dahua
