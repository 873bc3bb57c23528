// libFuzzer target, differential: decode_xml (the allocation-free scanner) must
// give exactly what the pugixml DOM decoder it replaced gives, on any bytes --
// except the three documented differences: a stray '&' inside CDATA (the DOM
// path's escape pass turned it into "&amp;"), nesting beyond the scanner's cap,
// and what follows the first NUL byte. Both stop there, but pugixml still reads
// the buffer's last byte: an end tag cut by the NUL counts as closed when the
// buffer happens to end with '>'. The scanner's document is exactly the bytes
// before the NUL, so the reference is given those.
// And one direction only for malformed input: the scanner may refuse a document
// that pugixml's leniency accepted (an unterminated DOCTYPE, say), with a clear
// error; what it accepts must decode exactly as the DOM did. Every part of
// every real capture decodes identically (test_xml_scan.cpp checks it).
// Also, exactly and on any bytes: decode_xml's fast path for flat alerts
// (xml::scan_flat) against the Scanner alone, errors included (flat_check.hpp).
// Build: -DPASSERELLE_FUZZ=ON with clang; run: fuzz_hikvision_xml_scan -max_total_time=60 corpus/
#include "decoded_text.hpp"
#include "flat_check.hpp"
#include "notification.hpp"
#include "reference_dom_decoder.hpp"
#include "xml_scan.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view body(reinterpret_cast<const char*>(data), size);
    if (const std::string m = hiktest::fast_path_mismatch(body); !m.empty()) {
        std::fprintf(stderr, "fast path:\n%s\n", m.c_str());
        __builtin_trap();
    }
    const auto got = passerelle::hikvision::decode_xml(body);
    if (body.find("<![CDATA[") != std::string_view::npos && passerelle::hikvision::has_stray_ampersand(body)) return 0;
    if (got.error.find("nested too deep") != std::string::npos) return 0;
    const auto want = hiktest::reference_decode_xml(body.substr(0, body.find('\0')));
    if (!got.error.empty() && want.error.empty()) return 0; // stricter on malformed input
    const std::string a = hiktest::decoded_text(got), b = hiktest::decoded_text(want);
    if (a != b) {
        std::fprintf(stderr, "scanner:\n%s\n%s\nDOM:\n%s\n%s\n", a.c_str(), got.error.c_str(), b.c_str(),
                     want.error.c_str());
        __builtin_trap();
    }
    return 0;
}
