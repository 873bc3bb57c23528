#include "multipart.hpp"

#include <algorithm>
#include <cstring>

namespace passerelle::hikvision {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

// iequals against a header name as devices spell it: the exact spelling is
// one comparison, any other case the character loop.
bool is_header(std::string_view name, std::string_view canonical) {
    return name == canonical || iequals(name, canonical);
}

bool istarts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Only spaces and tabs (or nothing): the blank line that ends a part's headers.
bool blank(std::string_view line) {
    for (char c : line)
        if (c != ' ' && c != '\t') return false;
    return true;
}

// Inline: twice per header line of every part.
inline std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

// RFC 2046 bchars, plus a few devices' liberties; no spaces inside.
bool is_boundary_token(std::string_view s) {
    if (s.empty() || s.size() > 70) return false;
    for (char c : s) {
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  std::strchr("'()+_,-./:=?", c) != nullptr;
        if (!ok) return false;
    }
    return true;
}

void assign_lowercase(std::string& out, std::string_view s) {
    out.assign(s);
    for (auto& c : out) c = lower(c);
}

// Strict decimal; false on anything else or overflow past 2^63.
bool parse_length(std::string_view s, size_t& out) {
    s = trim(s);
    if (s.empty() || s.size() > 18) return false;
    size_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<size_t>(c - '0');
    }
    out = v;
    return true;
}

bool media_is_binary(std::string_view t) {
    return t.starts_with("image/") || t.starts_with("video/") || t.starts_with("audio/") ||
           t == "application/octet-stream";
}

bool media_is_xml(std::string_view t) { return t == "application/xml" || t == "text/xml" || t.ends_with("+xml"); }

bool media_is_json(std::string_view t) { return t == "application/json" || t == "text/json" || t.ends_with("+json"); }

template <class Headers>
std::string_view find_header(const Headers& headers, std::string_view name) {
    for (const auto& [k, v] : headers)
        if (iequals(k, name)) return v;
    return {};
}

} // namespace

std::string_view PartView::header(std::string_view name) const { return find_header(headers, name); }
bool PartView::is_binary() const { return media_is_binary(media_type); }
bool PartView::is_xml() const { return media_is_xml(media_type); }
bool PartView::is_json() const { return media_is_json(media_type); }

Part::Part(const PartView& v) : media_type(v.media_type), body(v.body) {
    headers.reserve(v.headers.size());
    for (const auto& [k, val] : v.headers) headers.emplace_back(std::string(k), std::string(val));
}

std::string_view Part::header(std::string_view name) const { return find_header(headers, name); }
bool Part::is_binary() const { return media_is_binary(media_type); }
bool Part::is_xml() const { return media_is_xml(media_type); }
bool Part::is_json() const { return media_is_json(media_type); }

std::string boundary_from_content_type(std::string_view ct) {
    // Find "boundary" as a parameter name, case-insensitive, then '=' with optional spaces.
    for (size_t i = 0; i + 8 <= ct.size(); ++i) {
        if (!iequals(ct.substr(i, 8), "boundary")) continue;
        if (i > 0 && !(ct[i - 1] == ';' || is_space(ct[i - 1]))) continue;
        size_t j = i + 8;
        while (j < ct.size() && is_space(ct[j])) ++j;
        if (j >= ct.size() || ct[j] != '=') continue;
        ++j;
        while (j < ct.size() && is_space(ct[j])) ++j;
        std::string_view rest = ct.substr(j);
        if (!rest.empty() && (rest.front() == '"' || rest.front() == '\'')) {
            char q = rest.front();
            rest.remove_prefix(1);
            auto end = rest.find(q);
            rest = rest.substr(0, end);
        } else {
            auto end = rest.find_first_of("; \t\r\n");
            rest = rest.substr(0, end);
        }
        return std::string(trim(rest));
    }
    return {};
}

MultipartParser::MultipartParser(std::string_view declared_boundary, MultipartLimits limits) : lim_(limits) {
    learn_boundary(declared_boundary);
    learn_boundary("boundary"); // what Hikvision sends whatever it declares
}

void MultipartParser::set_handlers(PartHandler on_part, ErrorHandler on_error) {
    on_part_ = std::move(on_part);
    on_error_ = std::move(on_error);
}

void MultipartParser::learn_boundary(std::string_view b) {
    b = trim(b);
    if (b.size() > 2 && b.starts_with("--")) learn_boundary(b.substr(2)); // declared with its dashes
    if (!is_boundary_token(b)) return;
    if (std::find(boundaries_.begin(), boundaries_.end(), b) != boundaries_.end()) return;
    boundaries_.emplace_back(b);
    longest_boundary_ = std::max(longest_boundary_, b.size());
}

int MultipartParser::boundary_kind(std::string_view line) const {
    line = trim(line);
    if (!line.starts_with("--")) return 0;
    line.remove_prefix(2);
    for (const auto& b : boundaries_)
        if (line == b) return 1;
    if (line.ends_with("--")) {
        std::string_view open = line.substr(0, line.size() - 2);
        for (const auto& b : boundaries_)
            if (open == b) return 2;
    }
    return 0;
}

void MultipartParser::reset() {
    buf_.clear();
    in_ = buf_;
    pos_ = 0;
    st_ = St::preamble;
    nheaders_ = kept_headers_ = 0;
    media_type_.clear();
    discard_line_ = false;
}

void MultipartParser::error(std::string_view msg) {
    ++errors_;
    if (on_error_) on_error_(msg);
}

void MultipartParser::begin_part() {
    media_type_.clear();
    nheaders_ = kept_headers_ = 0;
    have_length_ = false;
    length_ = 0;
    scan_from_ = 0;
    st_ = St::headers;
}

size_t MultipartParser::cap_for_current() const {
    return media_is_binary(media_type_) ? lim_.max_binary_part : lim_.max_text_part;
}

bool MultipartParser::read_line(std::string_view& line, size_t& next, bool& too_long) {
    too_long = false;
    const char* base = in_.data() + pos_;
    size_t n = in_.size() - pos_;
    const void* lf = std::memchr(base, '\n', std::min(n, lim_.max_header_line + 1));
    if (!lf) {
        too_long = n > lim_.max_header_line;
        return false;
    }
    size_t len = static_cast<size_t>(static_cast<const char*>(lf) - base);
    next = pos_ + len + 1;
    if (len > 0 && base[len - 1] == '\r') --len;
    line = std::string_view(base, len);
    return true;
}

void MultipartParser::header_line(std::string_view line, size_t colon) {
    std::string_view name = trim(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));
    if (is_header(name, "Content-Type")) {
        auto semi = value.find(';');
        assign_lowercase(media_type_, trim(value.substr(0, semi)));
    } else if (is_header(name, "Content-Length")) {
        have_length_ = parse_length(value, length_);
    }
    // Views into in_ (the vector is reused part after part: no allocation once warm).
    if (nheaders_ < headers_.size()) headers_[nheaders_] = {name, value};
    else headers_.emplace_back(name, value);
    ++nheaders_;
}

void MultipartParser::start_body() {
    scan_from_ = 0;
    if (!have_length_) {
        st_ = St::body_scan;
        return;
    }
    if (length_ > cap_for_current()) {
        error("part too large: Content-Length " + std::to_string(length_) + " > " +
              std::to_string(cap_for_current()));
        if (length_ <= lim_.max_skip) {
            skip_left_ = length_;
            st_ = St::skip;
        } else {
            st_ = St::preamble; // length not credible: rescan for a boundary
        }
        return;
    }
    st_ = St::body_length;
}

void MultipartParser::emit(std::string_view body) {
    if (media_type_.empty()) {
        std::string_view b = trim(body);
        if (b.size() >= 2 && static_cast<unsigned char>(b[0]) == 0xFF && static_cast<unsigned char>(b[1]) == 0xD8)
            media_type_ = "image/jpeg";
        else if (!b.empty() && b.front() == '<')
            media_type_ = "application/xml";
        else if (!b.empty() && b.front() == '{')
            media_type_ = "application/json";
    }
    ++parts_;
    st_ = St::after_body;
    if (on_part_) on_part_(PartView{std::span<const HeaderView>(headers_.data(), nheaders_), media_type_, body});
}

void MultipartParser::keep_headers() {
    if (kept_headers_ == nheaders_) return;
    size_t size = 0;
    for (size_t i = 0; i < nheaders_; ++i) size += headers_[i].first.size() + headers_[i].second.size();
    // Built aside, then swapped in: views of earlier headers may point into header_store_ itself.
    std::string store;
    store.reserve(size); // no reallocation below: the views taken stay valid
    for (size_t i = 0; i < nheaders_; ++i) {
        auto& [name, value] = headers_[i];
        const size_t at = store.size();
        store.append(name).append(value);
        name = std::string_view(store.data() + at, name.size());
        value = std::string_view(store.data() + at + name.size(), value.size());
    }
    header_store_.swap(store);
    kept_headers_ = nheaders_;
}

// Returns 1 if buf at `at` holds "--<boundary>" followed by a line end / "--" /
// blank, 0 if not, -1 if it might once more bytes arrive.
int MultipartParser::match_boundary_at(const char* base, size_t n, size_t at) const {
    if (at >= n) return -1;
    size_t avail = n - at;
    bool maybe = false;
    for (const auto& b : boundaries_) {
        size_t need = 2 + b.size() + 1;
        size_t cmp = std::min(avail, need - 1);
        // compare "--" + b over the available prefix
        if (base[at] != '-' || (cmp > 1 && base[at + 1] != '-')) continue;
        if (cmp > 2 && std::memcmp(base + at + 2, b.data(), cmp - 2) != 0) continue;
        if (avail < need) {
            maybe = true;
            continue;
        }
        char t = base[at + need - 1];
        if (t == '\r' || t == '\n' || t == ' ' || t == '\t' || t == '-') return 1;
    }
    return maybe ? -1 : 0;
}

size_t MultipartParser::find_delimiter(size_t from, size_t& keep) const {
    const char* base = in_.data() + pos_;
    size_t n = in_.size() - pos_;
    keep = 0;
    if (from == 0) {
        int r = match_boundary_at(base, n, 0);
        if (r == 1) return 0;
        if (r == -1) {
            keep = n;
            return npos;
        }
    }
    // A delimiter is "\n--<boundary>": look for the '-' after a '\n' (text
    // bodies hold few '-' and many '\n'), the '\n' at `from` or after it.
    size_t i = from + 1;
    while (i < n) {
        const void* p = std::memchr(base + i, '-', n - i);
        if (!p) break;
        const size_t dash = static_cast<size_t>(static_cast<const char*>(p) - base);
        if (base[dash - 1] == '\n') {
            int r = match_boundary_at(base, n, dash);
            if (r == 1) return dash - 1;
            if (r == -1) {
                keep = n - (dash - 1);
                return npos;
            }
        }
        i = dash + 1;
    }
    // A '\n' as the last byte may still start one.
    if (n > from && base[n - 1] == '\n') keep = 1;
    return npos;
}

void MultipartParser::end_at_delimiter(size_t d) {
    size_t end = d;
    if (end > 0 && in_[pos_ + end - 1] == '\r') --end;
    if (end == 0) {
        error("empty part");
        pos_ += d;
        nheaders_ = kept_headers_ = 0;
        media_type_.clear();
        st_ = St::after_body;
        return;
    }
    const std::string_view body(in_.data() + pos_, end);
    pos_ += d;
    emit(body);
}

bool MultipartParser::step() {
    size_t avail = in_.size() - pos_;
    switch (st_) {
    case St::preamble: {
        if (discard_line_) {
            const void* lf = std::memchr(in_.data() + pos_, '\n', avail);
            if (!lf) {
                pos_ = in_.size();
                return false;
            }
            pos_ = static_cast<size_t>(static_cast<const char*>(lf) - in_.data()) + 1;
            discard_line_ = false;
            return true;
        }
        std::string_view line;
        size_t next = 0;
        bool too_long = false;
        if (!read_line(line, next, too_long)) {
            if (!too_long) return false;
            // Not a boundary: drop it up to the next line start. Only what was
            // scanned goes now: parts may follow in the same read.
            discard_line_ = true;
            pos_ += lim_.max_header_line + 1;
            return true;
        }
        if (int kind = boundary_kind(line)) {
            pos_ = next;
            if (kind == 1) begin_part(); // a closing "--b--" line just stays in the preamble
            return true;
        }
        std::string_view t = trim(line);
        if (istarts_with(t, "content-type:")) {
            learn_boundary(boundary_from_content_type(t.substr(13)));
        } else if (parts_ == 0 && t.size() > 2 && t.starts_with("--") && is_boundary_token(t.substr(2))) {
            // First delimiter of a stream whose boundary was never declared
            // (or declared wrongly): adopt it.
            learn_boundary(t.substr(2));
            pos_ = next;
            begin_part();
            return true;
        }
        pos_ = next;
        return true;
    }
    case St::headers: {
        std::string_view line;
        size_t next = 0;
        bool too_long = false;
        if (!read_line(line, next, too_long)) {
            if (!too_long) return false;
            error("part header line too long");
            st_ = St::preamble;
            discard_line_ = true;
            pos_ += lim_.max_header_line + 1; // what was scanned (no '\n' in it): parts may follow
            return true;
        }
        if (blank(line)) {
            pos_ = next;
            if (nheaders_ == 0) return true; // blank line right after the boundary: tolerate
            start_body();
            return true;
        }
        std::string_view t = trim(line);
        // (boundary_kind() is 0 for a line not starting with "--" once trimmed: no call.)
        if (t.starts_with("--") && boundary_kind(line) == 1) {
            pos_ = next;
            if (nheaders_ != 0) error("part ended inside its headers");
            begin_part(); // duplicate boundary line
            return true;
        }
        auto colon = t.find(':');
        if (colon == std::string_view::npos || colon == 0 || t.front() == '<' || t.front() == '{') {
            if (nheaders_ == 0) {
                start_body(); // a part with no headers at all: this line is its body
                return true;
            }
            error("malformed part header");
            st_ = St::preamble;
            return true;
        }
        if (nheaders_ >= lim_.max_headers) {
            error("too many part headers");
            st_ = St::preamble;
            return true;
        }
        header_line(t, colon);
        pos_ = next;
        return true;
    }
    case St::body_length: {
        if (!media_is_binary(media_type_)) {
            // A wrong (too long) Content-Length must not swallow the next part:
            // text never holds a delimiter line, so one inside the announced
            // length ends the part there.
            size_t keep = 0;
            size_t d = find_delimiter(scan_from_, keep);
            if (d != npos && (d == 0 || d + 1 < length_)) {
                end_at_delimiter(d);
                return true;
            }
            scan_from_ = keep ? avail - keep : avail;
        }
        if (avail < length_) return false;
        const std::string_view body(in_.data() + pos_, length_);
        pos_ += length_;
        emit(body);
        return true;
    }
    case St::body_scan: {
        size_t keep = 0;
        size_t d = find_delimiter(scan_from_, keep);
        if (d == npos) {
            if (avail > cap_for_current()) {
                error("part too large (no Content-Length)");
                st_ = St::preamble;
                discard_line_ = true;
                pos_ = in_.size() - keep;
                return false;
            }
            scan_from_ = keep ? avail - keep : avail;
            return false;
        }
        end_at_delimiter(d);
        return true;
    }
    case St::skip: {
        size_t n = std::min(avail, skip_left_);
        pos_ += n;
        skip_left_ -= n;
        if (skip_left_ > 0) return false;
        st_ = St::after_body;
        return true;
    }
    case St::after_body: {
        while (pos_ < in_.size() && is_space(in_[pos_])) ++pos_;
        if (pos_ >= in_.size()) return false;
        std::string_view line;
        size_t next = 0;
        bool too_long = false;
        if (in_[pos_] == '-') {
            if (!read_line(line, next, too_long) && !too_long) return false;
            int kind = too_long ? 0 : boundary_kind(line);
            if (kind != 0) {
                pos_ = next;
                if (kind == 2)
                    st_ = St::preamble;
                else
                    begin_part();
                return true;
            }
        }
        error("unexpected data after part (wrong Content-Length?)");
        st_ = St::preamble;
        return true;
    }
    }
    return false;
}

void MultipartParser::compact() {
    if (pos_ == buf_.size()) {
        buf_.clear();
        pos_ = 0;
    } else if (pos_ > 64 * 1024 && pos_ * 2 > buf_.size()) {
        buf_.erase(0, pos_);
        pos_ = 0;
    }
}

void MultipartParser::feed(std::string_view bytes) {
    if (pos_ == buf_.size()) {
        // Nothing held back, the usual case (a read ends where a part ends):
        // the bytes are parsed where they are and only an unfinished tail is
        // kept, instead of copying every byte into buf_ first.
        buf_.clear();
        pos_ = 0;
        in_ = bytes;
        while (step()) {
        }
        if (inside_part()) keep_headers(); // they point into `bytes`
        buf_.assign(in_.data() + pos_, in_.size() - pos_); // in_ is still `bytes` (reset() empties it)
        pos_ = 0;
    } else {
        buf_.append(bytes.data(), bytes.size());
        in_ = buf_;
        while (step()) {
        }
        if (inside_part()) keep_headers(); // they point into buf_, which moves
        compact();
    }
    in_ = buf_; // never left pointing at the caller's bytes
}

void MultipartParser::finish() {
    in_ = buf_;
    while (step()) {
    }
    size_t avail = in_.size() - pos_;
    if (st_ == St::body_scan && avail > 0) {
        std::string_view rest(in_.data() + pos_, avail);
        while (!rest.empty() && (rest.back() == '\n' || rest.back() == '\r')) rest.remove_suffix(1);
        if (!rest.empty()) {
            emit(rest);
        }
    } else if (st_ == St::body_length || st_ == St::skip) {
        error("stream ended inside a part");
    } else if (st_ == St::headers && nheaders_ != 0) {
        error("stream ended inside part headers");
    }
    reset();
}

} // namespace passerelle::hikvision
