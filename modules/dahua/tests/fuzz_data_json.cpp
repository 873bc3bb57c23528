// libFuzzer target: the fast reader of Dahua's `data={...}` JSON against
// nlohmann::json::parse, its reference. Whatever the fast reader accepts must be
// exactly the DOM nlohmann builds (same values, same number types); what it
// declines, parse_data_json hands to nlohmann, so both give the same verdict.
// Then the flat reader (data_flat.hpp) that map_event uses: the event it maps
// must equal the one mapped through the DOM (map_event_dom), for each code whose
// mapping reads the data.
#include "data_json.hpp"
#include "event_mapping.hpp"

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

    if (text.empty()) return 0; // no data: neither path reads any
    for (const char* code : {"VideoMotion", "_DoTalkAction_", "BackKeyLight", "ProfileAlarmTransmit", "DoorStatus"}) {
        passerelle::dahua::EventText ev;
        ev.code = code;
        ev.action = "Pulse";
        ev.data = std::string(text);
        auto fast = passerelle::dahua::map_event(passerelle::dahua::EventText(ev));
        auto dom = passerelle::dahua::map_event_dom(std::move(ev));
        if (!fast || !dom) std::abort(); // these codes always map
        if (fast->type != dom->type || fast->state != dom->state || fast->time_ns != dom->time_ns ||
            fast->attrs != dom->attrs)
            std::abort();
    }
    return 0;
}
