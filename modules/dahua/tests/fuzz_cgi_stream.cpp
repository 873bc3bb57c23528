// libFuzzer target: the CGI stream parser and the event mapping on arbitrary bytes.
// The first byte picks a chunk size so that split points are fuzzed too; every
// input is also checked against whole-buffer parsing (same parts, same heartbeats).
#include "cgi_stream_parser.hpp"
#include "event_mapping.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

using namespace passerelle::dahua;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const std::size_t chunk = 1 + data[0] % 64;
    std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);

    CgiStreamParser::Options opt;
    opt.max_part_size = 1024; // small caps reach the oversize paths quickly
    opt.max_header_size = 256;
    CgiStreamParser chunked(opt), whole(opt);
    std::vector<CgiStreamItem> a, b;
    for (std::size_t i = 0; i < in.size(); i += chunk) chunked.feed(in.substr(i, chunk), a);
    chunked.finish(a);
    whole.feed(in, b);
    whole.finish(b);
    if (a.size() != b.size()) std::abort();
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].kind != b[i].kind) std::abort();
        if (a[i].kind == CgiStreamItem::Kind::part) {
            if (a[i].part.body != b[i].part.body) std::abort();
            (void)map_part_body(a[i].part.body);
        }
    }
    return 0;
}
