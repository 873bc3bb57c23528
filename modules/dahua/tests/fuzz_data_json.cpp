// libFuzzer target: the fast reader of Dahua's `data={...}` JSON against
// nlohmann::json::parse, its reference. Whatever the fast reader accepts must be
// exactly the DOM nlohmann builds (same values, same number types); what it
// declines, parse_data_json hands to nlohmann, so both give the same verdict.
#include "data_json.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto reference = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (auto plain = passerelle::dahua::parse_plain_json(text)) {
        if (reference.is_discarded()) std::abort(); // accepted what nlohmann refuses
        if (*plain != reference || plain->dump() != reference.dump()) std::abort();
        // operator== compares 1 and 1u as equal: the stored number types must match too.
        bool same_types = true;
        auto check = [&](auto&& self, const nlohmann::json& a, const nlohmann::json& b) -> void {
            if (a.type() != b.type()) {
                same_types = false;
                return;
            }
            if (a.is_object())
                for (auto it = a.begin(); it != a.end(); ++it) self(self, *it, b.at(it.key()));
            if (a.is_array())
                for (size_t i = 0; i < a.size(); ++i) self(self, a[i], b[i]);
        };
        check(check, *plain, reference);
        if (!same_types) std::abort();
    }
    const auto merged = passerelle::dahua::parse_data_json(text);
    if (merged.is_discarded() != reference.is_discarded()) std::abort();
    if (!merged.is_discarded() && merged.dump() != reference.dump()) std::abort();
    return 0;
}
