// The alert fast path (xml::scan_flat) against the Scanner it shortcuts, for
// the tests and the fuzz target: what scan_flat accepts, the Scanner must read
// as the same elements with the same values, and decode_xml (which takes the
// fast path when it can) must give exactly what the Scanner alone gives.
#pragma once

#include "decoded_text.hpp"
#include "notification.hpp"
#include "notification_detail.hpp"
#include "xml_scan.hpp"

#include <string>
#include <string_view>

namespace hiktest {

// Empty when scan_flat declines `doc` or its leaves are what the Scanner reads,
// else what differs. `accepted` tells whether scan_flat took the document.
inline std::string flat_mismatch(std::string_view doc, bool* accepted = nullptr) {
    namespace hik = passerelle::hikvision;
    hik::xml::Leaf leaves[32];
    const size_t n = hik::xml::scan_flat(doc, "EventNotificationAlert", leaves, std::size(leaves));
    if (accepted) *accepted = n != hik::xml::kNotFlat;
    if (n == hik::xml::kNotFlat) return {};
    hik::xml::Scanner sc(doc);
    std::string scratch;
    if (sc.next() != hik::xml::Token::open || sc.local() != "EventNotificationAlert") return "root";
    for (size_t i = 0; i < n; ++i) {
        const std::string at = " of leaf " + std::to_string(i);
        if (sc.next() != hik::xml::Token::open || sc.depth() != 2) return "open" + at;
        if (sc.local() != leaves[i].name()) return "name" + at + ": " + std::string(sc.local());
        hik::xml::Token t = sc.next();
        std::string_view value; // as AlertDecoder::value() makes it
        if (t == hik::xml::Token::text) {
            value = hik::detail::trim(hik::xml::text_value(sc.raw(), false, scratch));
            t = sc.next();
        }
        if (t != hik::xml::Token::close) return "close" + at;
        if (value != leaves[i].text()) return "value" + at + ": \"" + std::string(value) + "\"";
    }
    if (sc.next() != hik::xml::Token::close || sc.depth() != 0) return "close of the root";
    if (sc.next() != hik::xml::Token::end) return "end";
    return {};
}

// Empty when decode_xml and the Scanner-only decoder agree exactly (error text
// included), else both results.
inline std::string decode_mismatch(std::string_view body, passerelle::hikvision::DecodeScope scope,
                                   const passerelle::hikvision::FoldQuery* folds) {
    const auto fast = passerelle::hikvision::decode_xml(body, scope, folds);
    const auto reference = passerelle::hikvision::detail::decode_xml_scanned(body, scope, folds);
    const std::string a = decoded_text(fast) + fast.error, b = decoded_text(reference) + reference.error;
    if (a == b) return {};
    return "decode_xml:\n" + a + "\nScanner only:\n" + b;
}

// A FoldQuery that folds every key: the lean decoding of repeated actives.
struct FoldEverything final : passerelle::hikvision::FoldQuery {
    bool folds(int32_t, std::string_view, std::string_view, std::string_view) const override { return true; }
};

// Both checks, under every scope the daemon and the tests use. Empty when all agree.
inline std::string fast_path_mismatch(std::string_view body, bool* accepted = nullptr) {
    using passerelle::hikvision::DecodeScope;
    if (std::string m = flat_mismatch(body, accepted); !m.empty()) return "scan_flat: " + m;
    static const FoldEverything fold_all;
    for (const passerelle::hikvision::FoldQuery* folds : {static_cast<const passerelle::hikvision::FoldQuery*>(nullptr),
                                                          static_cast<const passerelle::hikvision::FoldQuery*>(&fold_all)})
        for (DecodeScope scope : {DecodeScope::everything, DecodeScope::for_event_state})
            if (std::string m = decode_mismatch(body, scope, folds); !m.empty()) return m;
    return {};
}

} // namespace hiktest
