// A small pull tokenizer for the XML that ISAPI pushes on the alertStream:
// no DOM, no allocation, string_views into the caller's bytes. It exists
// because building a pugixml DOM per part was half the cost of an event;
// pugixml stays for the ISAPI configuration replies (isapi.cpp), off the hot path.
//
// It accepts what pugixml accepts with parse_default for the documents the
// decoder reads (checked part by part on every fixture, see test_xml_scan.cpp):
// the first NUL byte ends the document; text outside the root is ignored; the
// XML declaration, processing instructions and comments are skipped anywhere;
// a DOCTYPE is refused (no camera sends one; entity attacks start there);
// CDATA is text;
// attributes are checked for well-formedness and skipped. It rejects, with a
// message and a byte offset: a '<' not followed by a name, '/', '!' or '?',
// mismatched or unclosed tags, malformed attributes, unterminated comments,
// CDATA and PIs, any DOCTYPE, a document without an element, and nesting deeper
// than kMaxDepth (pugixml has no such limit; no device nests beyond 6).
//
// Text comes out raw; text_value() applies what pugixml does to it: the five
// named entities and &#N; / &#xN; (a '&' that starts none of these stays
// literal, as the old "escape stray ampersands" pass made it), CR LF and lone
// CR become LF, and a decoded NUL ends the value (pugixml values are C strings).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace passerelle::hikvision::xml {

enum class Token {
    open,  // start tag: name(); a self-closing tag is followed by a close token
    close, // end tag (or the end of "<x/>"): name() is the element's name
    text,  // non-whitespace-only character data inside an element: raw()
    cdata, // a CDATA section inside an element (even empty): raw()
    end,   // the document is complete and well formed
    error, // malformed: error() and offset()
};

class Scanner {
public:
    static constexpr size_t kMaxDepth = 64;

    // The document is not copied: it must outlive the scanner and the views it gives.
    explicit Scanner(std::string_view document);

    Token next();

    std::string_view name() const { return name_; }
    // name() without its namespace prefix ("hik:eventType" -> "eventType").
    std::string_view local() const { return local_; }
    // The document holds no '&' and no CR: every raw text is its own value.
    bool plain() const { return plain_; }
    std::string_view raw() const { return raw_; }
    // Elements open after the last token (the root's children are at depth 1 once
    // the root is open; a close token has already popped its element).
    size_t depth() const { return depth_; }
    // Byte offset of the next unread byte (after an open token: its content's start).
    size_t position() const { return pos_; }
    const char* error() const { return error_; }
    size_t offset() const { return offset_; }

private:
    Token fail(const char* message, size_t at);
    [[gnu::noinline]] std::optional<Token> markup(); // at "<?" or "<!": nullopt when skipped
    Token start_tag();
    size_t name_end(size_t from) const; // first byte at or after `from` that is not a name character
    Token end_tag();
    bool skip_to(std::string_view terminator); // past it; false at the end of input

    std::string_view doc_;
    size_t pos_ = 0;
    size_t depth_ = 0;
    bool pending_close_ = false; // "<x/>": the close token comes next
    bool seen_root_ = false;
    // Open elements: plain data, left uninitialized (zeroing 64 entries per
    // part cost more than scanning a small alert).
    struct Open {
        const char* name;
        uint32_t size;  // of the name
        uint32_t local; // offset of the local name in it
    };
    Open stack_[kMaxDepth];
    bool plain_ = false;
    std::string_view name_, local_, raw_;
    const char* error_ = nullptr;
    size_t offset_ = 0;
};

// A child of the root in a flat alert (see scan_flat): its local name and its
// trimmed text. Plain pointers and sizes: an array of them is left uninitialized.
struct Leaf {
    const char* name_data;
    size_t name_size;
    const char* text_data;
    size_t text_size;
    std::string_view name() const { return {name_data, name_size}; }
    std::string_view text() const { return {text_data, text_size}; }
};

// No leaves: scan_flat declined the document.
inline constexpr size_t kNotFlat = SIZE_MAX;

// The fast path for the usual alert, one loop over the bytes: a root whose local
// name is `root_local` (any prefix, any well-formed attributes), optionally after
// whitespace and processing instructions (the XML declaration), holding only
// whitespace and leaf children "<name>text</name>" -- no attributes on them,
// no markup in them --, followed by nothing but whitespace; no NUL byte, no '&'
// at all, no CR inside a trimmed text (values that need decoding). Writes the root's
// children in document order to `out` and returns how many, or kNotFlat for any
// other document (more than `cap` children too): the Scanner must then read it,
// and it alone reports errors. What it accepts, the Scanner reads as the same
// elements with the same trimmed values (test_alert_fast.cpp checks it).
size_t scan_flat(std::string_view document, std::string_view root_local, Leaf* out, size_t cap);

// "ns:name" -> "name".
inline std::string_view local_name(std::string_view qualified) {
    auto colon = qualified.rfind(':');
    return colon == std::string_view::npos ? qualified : qualified.substr(colon + 1);
}

// The value of raw text or CDATA as pugixml gives it (see above). Returns `raw`
// itself when nothing needs decoding, else a view of `scratch`.
std::string_view text_value(std::string_view raw, bool cdata, std::string& scratch);

} // namespace passerelle::hikvision::xml
