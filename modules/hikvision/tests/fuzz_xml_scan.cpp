// libFuzzer target, differential: decode_xml (the allocation-free scanner) must
// give exactly what the pugixml DOM decoder it replaced gives, on any bytes --
// except the two documented differences: a stray '&' inside CDATA (the DOM
// path's escape pass turned it into "&amp;") and nesting beyond the scanner's cap.
// Build: -DPASSERELLE_FUZZ=ON with clang; run: fuzz_hikvision_xml_scan -max_total_time=60 corpus/
#include "decoded_text.hpp"
#include "notification.hpp"
#include "reference_dom_decoder.hpp"
#include "xml_scan.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view body(reinterpret_cast<const char*>(data), size);
    const auto got = passerelle::hikvision::decode_xml(body);
    if (body.find("<![CDATA[") != std::string_view::npos && passerelle::hikvision::has_stray_ampersand(body)) return 0;
    if (got.error.find("nested too deep") != std::string::npos) return 0;
    const auto want = hiktest::reference_decode_xml(body);
    const std::string a = hiktest::decoded_text(got), b = hiktest::decoded_text(want);
    if (a != b) {
        std::fprintf(stderr, "scanner:\n%s\n%s\nDOM:\n%s\n%s\n", a.c_str(), got.error.c_str(), b.c_str(),
                     want.error.c_str());
        __builtin_trap();
    }
    return 0;
}
