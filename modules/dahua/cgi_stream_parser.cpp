#include "cgi_stream_parser.hpp"

#include <algorithm>
#include <array>

namespace passerelle::dahua {

namespace {

bool is_ws(char c) { return c == '\r' || c == '\n' || c == ' ' || c == '\t'; }

// ASCII only, no locale: headers are ASCII and this is on the hot path.
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

// Header name characters: letters, digits, '-' and '_'. A table: this runs for
// every byte of every header name, twice.
constexpr auto kTokenChars = [] {
    std::array<bool, 256> t{};
    for (int c = 0; c < 256; ++c)
        t[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    return t;
}();

bool is_token_char(char c) { return kTokenChars[static_cast<unsigned char>(c)]; }

// "Name:value" or "Name: value": a token immediately followed by ':'.
bool looks_like_header(std::string_view line) {
    std::size_t i = 0;
    while (i < line.size() && is_token_char(line[i])) ++i;
    return i > 0 && i < line.size() && line[i] == ':';
}

enum class Verdict { yes, no, unknown };
constexpr std::size_t kMaxHeaderName = 128; // longer "names" are body text

// Can a line starting with `prefix` be a header line? Decides early for long lines.
Verdict header_prefix_verdict(std::string_view prefix) {
    std::size_t i = 0;
    while (i < prefix.size() && is_token_char(prefix[i])) ++i;
    if (i == prefix.size()) return i >= kMaxHeaderName ? Verdict::no : Verdict::unknown;
    if (i == 0 && prefix[0] == '\n') return Verdict::unknown; // blank line: the caller handles it
    if (i == 0 && prefix[0] == '\r' && (prefix.size() == 1 || prefix[1] == '\n')) return Verdict::unknown;
    return (i > 0 && prefix[i] == ':') ? Verdict::yes : Verdict::no;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_ws(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ws(s.back())) s.remove_suffix(1);
    return s;
}

std::string_view trim_line_ends(std::string_view s) {
    while (!s.empty() && (s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
    return s;
}

// Digits only (surrounding spaces allowed); saturates instead of overflowing.
std::optional<std::size_t> parse_length(std::string_view v) {
    v = trim(v);
    if (v.empty() || v.size() > 12) return std::nullopt;
    std::size_t n = 0;
    for (char c : v) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + static_cast<std::size_t>(c - '0');
    }
    return n;
}

constexpr std::string_view kHttpStatus = "HTTP/1.";
// Blanks tolerated between a boundary marker and its line end.
constexpr std::size_t kMaxBoundaryBlanks = 16;

} // namespace

std::string_view CgiPart::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (iequals(k, name)) return v;
    return {};
}

std::string_view to_string(CgiStreamError e) {
    switch (e) {
    case CgiStreamError::garbage: return "garbage";
    case CgiStreamError::headers_too_large: return "headers_too_large";
    case CgiStreamError::part_too_large: return "part_too_large";
    case CgiStreamError::length_mismatch: return "length_mismatch";
    case CgiStreamError::bad_content_length: return "bad_content_length";
    case CgiStreamError::truncated: return "truncated";
    }
    return "unknown";
}

CgiStreamParser::CgiStreamParser() : CgiStreamParser(Options{}) {}

CgiStreamParser::CgiStreamParser(Options options) : opt_(std::move(options)) {
    if (opt_.boundary.empty()) opt_.boundary = "myboundary";
    if (opt_.max_header_size < 256) opt_.max_header_size = 256;
    if (opt_.max_part_size < 64) opt_.max_part_size = 64;
}

void CgiStreamParser::reset() {
    buf_.clear();
    pos_ = 0;
    state_ = State::seek;
    seen_boundary_ = false;
    cur_ = CgiPart{};
    header_bytes_ = 0;
    blank_in_headers_ = false;
    body_start_ = body_scanned_ = 0;
    garbage_run_ = 0;
    http_match_ = 0;
    http_block_ = false;
    suppress_garbage_ = false;
}

void CgiStreamParser::feed(std::string_view bytes, std::vector<CgiStreamItem>& out) {
    stats_.bytes += bytes.size();
    buf_.append(bytes.data(), bytes.size());
    while (step(out)) {
    }
    compact();
}

void CgiStreamParser::finish(std::vector<CgiStreamItem>& out) {
    while (step(out)) {
    }
    switch (state_) {
    case State::body:
        if (!cur_.content_length) {
            emit_part(std::string_view(buf_).substr(body_start_), out);
        } else {
            emit_error(CgiStreamError::truncated,
                       "stream ended after " + std::to_string(buf_.size() - body_start_) + " of " +
                           std::to_string(*cur_.content_length) + " body bytes",
                       out);
        }
        break;
    case State::headers:
        if (!cur_.headers.empty() || pos_ < buf_.size()) emit_error(CgiStreamError::truncated, "stream ended inside part headers", out);
        break;
    case State::discard:
        break;
    case State::seek:
    case State::boundary_line:
        note_skipped(std::string_view(buf_).substr(pos_), out);
        flush_skipped(out);
        break;
    }
    reset();
}

bool CgiStreamParser::step(std::vector<CgiStreamItem>& out) {
    switch (state_) {
    case State::seek: return step_seek(out);
    case State::boundary_line: return step_boundary_line(out);
    case State::headers: return step_headers(out);
    case State::body: return step_body(out);
    case State::discard: return step_discard();
    }
    return false;
}

std::size_t CgiStreamParser::find_marker(std::size_t from, std::size_t& marker_len) const {
    const std::string_view b = opt_.boundary;
    std::string_view buf(buf_);
    std::size_t at = from + 2; // the name is preceded by at least "--"
    while (true) {
        std::size_t k = buf.find(b, at);
        if (k == std::string_view::npos) return k;
        if (k >= from + 2 && buf[k - 1] == '-' && buf[k - 2] == '-') {
            marker_len = b.size() + 2;
            return k - 2;
        }
        if (k >= from + 3 && buf[k - 1] == ' ' && buf[k - 2] == '-' && buf[k - 3] == '-') {
            marker_len = b.size() + 3;
            return k - 3;
        }
        at = k + 1;
    }
}

std::size_t CgiStreamParser::max_marker() const { return opt_.boundary.size() + 3; }

void CgiStreamParser::start_seek() {
    state_ = State::seek;
    cur_ = CgiPart{};
    header_bytes_ = 0;
    blank_in_headers_ = false;
}

void CgiStreamParser::note_skipped(std::string_view skipped, std::vector<CgiStreamItem>&) {
    stats_.skipped_bytes += skipped.size();
    for (char c : skipped) {
        if (is_ws(c)) {
            http_match_ = 0;
            continue;
        }
        ++garbage_run_;
        // A repeated "HTTP/1.1 200 OK" status line, matched across chunk splits.
        if (c == kHttpStatus[http_match_]) {
            if (++http_match_ == kHttpStatus.size()) {
                http_block_ = true;
                http_match_ = 0;
            }
        } else {
            http_match_ = (c == kHttpStatus[0]) ? 1 : 0;
        }
    }
}

void CgiStreamParser::flush_skipped(std::vector<CgiStreamItem>& out) {
    if (http_block_) {
        ++stats_.http_header_blocks;
    } else if (garbage_run_ > 0 && seen_boundary_ && !suppress_garbage_) {
        emit_error(CgiStreamError::garbage, "skipped " + std::to_string(garbage_run_) + " bytes between parts",
                   out);
    }
    garbage_run_ = 0;
    http_match_ = 0;
    http_block_ = false;
    suppress_garbage_ = false;
}

bool CgiStreamParser::step_seek(std::vector<CgiStreamItem>& out) {
    std::size_t mlen = 0;
    std::size_t at = find_marker(pos_, mlen);
    if (at == std::string::npos) {
        // Keep a tail that may hold the start of a marker split across chunks.
        std::size_t keep = std::min(buf_.size() - pos_, max_marker() - 1);
        std::size_t upto = buf_.size() - keep;
        note_skipped(std::string_view(buf_).substr(pos_, upto - pos_), out);
        pos_ = upto;
        return false;
    }
    note_skipped(std::string_view(buf_).substr(pos_, at - pos_), out);
    flush_skipped(out);
    pos_ = at + mlen;
    state_ = State::boundary_line;
    return true;
}

bool CgiStreamParser::step_boundary_line(std::vector<CgiStreamItem>&) {
    // After the marker: optional blanks, then a line end. "--" closes the stream
    // (no more parts, but keep looking: the device may restart it). Anything else
    // means the marker was a coincidence.
    std::size_t i = pos_;
    while (i < buf_.size() && (buf_[i] == ' ' || buf_[i] == '\t') && i - pos_ < kMaxBoundaryBlanks) ++i;
    if (i >= buf_.size()) return false;
    if (buf_[i] == '\r') {
        if (i + 1 >= buf_.size()) return false;
        if (buf_[i + 1] == '\n') {
            pos_ = i + 2;
            begin_part();
            return true;
        }
    } else if (buf_[i] == '\n') {
        pos_ = i + 1;
        begin_part();
        return true;
    } else if (buf_[i] == '-') {
        if (i + 1 >= buf_.size()) return false;
        if (buf_[i + 1] == '-') pos_ = i + 2; // closing boundary: not garbage
    }
    start_seek();
    return true;
}

void CgiStreamParser::begin_part() {
    seen_boundary_ = true;
    state_ = State::headers;
    cur_ = CgiPart{};
    cur_.headers.reserve(2); // Content-Type and Content-Length: one allocation
    header_bytes_ = 0;
    blank_in_headers_ = false;
}

void CgiStreamParser::begin_body(std::vector<CgiStreamItem>& out) {
    body_start_ = body_scanned_ = pos_;
    state_ = State::body;
    if (cur_.content_length && *cur_.content_length > opt_.max_part_size) {
        emit_error(CgiStreamError::part_too_large,
                   "Content-Length " + std::to_string(*cur_.content_length) + " exceeds " +
                       std::to_string(opt_.max_part_size),
                   out);
        suppress_garbage_ = true;
        start_seek();
    }
}

bool CgiStreamParser::step_headers(std::vector<CgiStreamItem>& out) {
    std::string_view buf(buf_);
    // Decide from its first bytes whether the next line can be a header, so that a
    // long body line (or garbage) never counts against the header cap.
    if (header_prefix_verdict(buf.substr(pos_, kMaxHeaderName)) == Verdict::no) {
        if (cur_.headers.empty() && !blank_in_headers_) {
            // Straight after a boundary: a repeated HTTP response header, a log line... skip.
            start_seek();
            return true;
        }
        // Headers without their blank line (old firmware) or after one: the body starts here.
        begin_body(out);
        return true;
    }
    std::size_t nl = buf.find('\n', pos_);
    if (nl == std::string_view::npos) {
        // Only a line known to be a header counts against the cap before it is
        // complete (an undecided prefix is shorter than kMaxHeaderName): the verdict
        // must not depend on how the input was chunked.
        if (header_prefix_verdict(buf.substr(pos_, kMaxHeaderName)) == Verdict::yes &&
            header_bytes_ + (buf.size() - pos_) > opt_.max_header_size) {
            emit_error(CgiStreamError::headers_too_large,
                       "part headers exceed " + std::to_string(opt_.max_header_size) + " bytes", out);
            suppress_garbage_ = true;
            start_seek();
            return true;
        }
        return false;
    }
    header_bytes_ += nl + 1 - pos_;
    if (header_bytes_ > opt_.max_header_size) {
        emit_error(CgiStreamError::headers_too_large,
                   "part headers exceed " + std::to_string(opt_.max_header_size) + " bytes", out);
        suppress_garbage_ = true;
        start_seek();
        return true;
    }
    std::string_view line = buf.substr(pos_, nl - pos_);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

    if (line.empty()) {
        pos_ = nl + 1;
        if (cur_.headers.empty()) return true; // blank lines before the headers: tolerated
        if (cur_.content_length) {
            begin_body(out);
            return true;
        }
        // No length yet: a log that doubled line ends may still have headers to come.
        blank_in_headers_ = true;
        return true;
    }
    if (looks_like_header(line)) {
        std::size_t colon = line.find(':');
        std::string_view name = line.substr(0, colon);
        std::string_view value = trim(line.substr(colon + 1));
        if (name == "Content-Length" || iequals(name, "Content-Length")) { // as Dahua spells it: one memcmp
            cur_.content_length = parse_length(value);
            if (!cur_.content_length)
                emit_error(CgiStreamError::bad_content_length, "unparsable Content-Length", out);
        }
        cur_.headers.emplace_back(std::string(name), std::string(value));
        blank_in_headers_ = false;
        pos_ = nl + 1;
        return true;
    }
    // Not a header line.
    if (cur_.headers.empty() && !blank_in_headers_) {
        // Straight after a boundary: a repeated HTTP response header, a log line... skip.
        start_seek();
        return true;
    }
    // Headers without their blank line (old firmware) or after one: the body starts here.
    begin_body(out);
    return true;
}

std::size_t CgiStreamParser::find_boundary_line(std::size_t from, std::size_t to, bool& undecided) const {
    // A boundary line is a marker, optional blanks and a line end (or the closing "--"),
    // all before `to`. Deciding only from bytes before `to` keeps the result the same
    // however the input was chunked.
    undecided = false;
    const std::size_t size = buf_.size();
    const std::size_t limit = std::min(to, size);
    std::size_t mlen = 0;
    while (true) {
        std::size_t at = find_marker(from, mlen);
        if (at == std::string::npos || at + mlen > to) return std::string::npos;
        std::size_t i = at + mlen;
        while (i < limit && (buf_[i] == ' ' || buf_[i] == '\t') && i - at - mlen < kMaxBoundaryBlanks) ++i;
        if (i >= limit || ((buf_[i] == '\r' || buf_[i] == '-') && i + 1 >= limit)) {
            if (limit < to) {
                undecided = true; // the bytes that decide have not arrived yet
                return at;
            }
            return std::string::npos; // the line would end past `to`: not inside
        }
        if (buf_[i] == '\n' || (buf_[i] == '\r' && buf_[i + 1] == '\n') ||
            (buf_[i] == '-' && i + 1 < limit && buf_[i + 1] == '-'))
            return at;
        from = at + 1;
    }
}

std::size_t CgiStreamParser::rescan_from() const {
    // A boundary line left undecided by the last scan (its line end had not arrived)
    // starts at most a marker, the blanks allowed after it and a CR before the end of
    // what was scanned: rescanning from there keeps chunked and whole parsing equal.
    const std::size_t overlap = max_marker() + kMaxBoundaryBlanks + 2;
    return body_scanned_ > body_start_ + overlap ? body_scanned_ - overlap : body_start_;
}

bool CgiStreamParser::step_body(std::vector<CgiStreamItem>& out) {
    std::size_t scan_from = rescan_from();
    std::string_view buf(buf_);

    if (cur_.content_length) {
        const std::size_t end = body_start_ + *cur_.content_length;
        const bool complete = buf.size() >= end;
        bool undecided = false;
        std::size_t at = find_boundary_line(scan_from, end, undecided);
        if (at != std::string::npos && (!undecided || complete)) {
            emit_error(CgiStreamError::length_mismatch,
                       "boundary inside announced Content-Length " + std::to_string(*cur_.content_length), out);
            emit_part(buf.substr(body_start_, at - body_start_), out);
            pos_ = at;
            start_seek();
            return true;
        }
        if (!complete) {
            body_scanned_ = buf.size();
            return false;
        }
        emit_part(buf.substr(body_start_, *cur_.content_length), out);
        pos_ = end;
        start_seek();
        return true;
    }

    bool undecided = false;
    std::size_t at = find_boundary_line(scan_from, std::string::npos, undecided);
    // Oversize is judged on the raw body up to the boundary line, and the cap below
    // leaves room to see a whole boundary line past it: both chunkings agree.
    if (at != std::string::npos && !undecided) {
        if (at - body_start_ > opt_.max_part_size)
            emit_error(CgiStreamError::part_too_large, "part body exceeds " + std::to_string(opt_.max_part_size), out);
        else
            emit_part(buf.substr(body_start_, at - body_start_), out);
        pos_ = at;
        start_seek();
        return true;
    }
    if (buf.size() - body_start_ > opt_.max_part_size + max_marker() + 20) {
        emit_error(CgiStreamError::part_too_large, "part body exceeds " + std::to_string(opt_.max_part_size), out);
        // Drop the body up to the next boundary line, exactly where parsing the
        // whole buffer at once would resume.
        state_ = State::discard;
        body_scanned_ = buf.size();
        return true;
    }
    body_scanned_ = buf.size();
    return false;
}

bool CgiStreamParser::step_discard() {
    std::size_t scan_from = rescan_from();
    bool undecided = false;
    std::size_t at = find_boundary_line(scan_from, std::string::npos, undecided);
    if (at != std::string::npos && !undecided) {
        pos_ = at;
        start_seek();
        return true;
    }
    // Keep only what may hold the start of a boundary line.
    const std::size_t overlap = max_marker() + kMaxBoundaryBlanks + 2;
    std::size_t keep_from = std::max(body_start_, buf_.size() > overlap ? buf_.size() - overlap : 0);
    if (at != std::string::npos) keep_from = std::min(keep_from, at);
    stats_.skipped_bytes += keep_from - body_start_;
    body_start_ = pos_ = keep_from;
    body_scanned_ = buf_.size();
    return false;
}

void CgiStreamParser::emit_part(std::string_view body, std::vector<CgiStreamItem>& out) {
    body = trim_line_ends(body);
    // Old firmware may put the CRLF before the body inside the count too.
    while (!body.empty() && (body.front() == '\r' || body.front() == '\n')) body.remove_prefix(1);
    if (body.empty() && !cur_.content_length) return; // nothing between two boundaries
    if (body.size() > opt_.max_part_size) {
        emit_error(CgiStreamError::part_too_large, "part body exceeds " + std::to_string(opt_.max_part_size), out);
        return;
    }
    if (body == "Heartbeat") {
        ++stats_.heartbeats;
        CgiStreamItem item;
        item.kind = CgiStreamItem::Kind::heartbeat;
        out.push_back(std::move(item));
        return;
    }
    ++stats_.parts;
    CgiStreamItem& item = out.emplace_back();
    item.kind = CgiStreamItem::Kind::part;
    item.part = std::move(cur_);
    item.part.body.assign(body.data(), body.size());
    cur_ = CgiPart{};
}

void CgiStreamParser::emit_error(CgiStreamError e, std::string detail, std::vector<CgiStreamItem>& out) {
    ++stats_.errors;
    CgiStreamItem& item = out.emplace_back();
    item.kind = CgiStreamItem::Kind::error;
    item.error = e;
    item.detail = std::move(detail);
}

void CgiStreamParser::compact() {
    std::size_t drop = pos_;
    if (state_ == State::body || state_ == State::discard) drop = std::min(drop, body_start_);
    if (drop == 0) return;
    // Erasing a prefix moves the rest; only worth it when the rest is small or the
    // prefix is large, which keeps byte-by-byte feeding linear.
    if (drop == buf_.size() || drop >= 4096 || buf_.size() - drop <= 256) {
        buf_.erase(0, drop);
        pos_ -= drop;
        if (state_ == State::body || state_ == State::discard) {
            body_start_ -= drop;
            body_scanned_ -= drop;
        }
    }
}

} // namespace passerelle::dahua
