// Fuzz target: whatever a "Jeedom" answers (JSON-RPC replies, event::changes
// results, the plain API's text) goes through the module's pure parsers
// without crashing, hanging or publishing something unbounded.
#include "changes.hpp"
#include "jsonrpc.hpp"
#include "plain_api.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    using namespace passerelle::jeedom;
    (void)classify_plain_reply(body);
    RpcReply r = classify_reply(body, "event::changes");
    if (r.verdict.is(passerelle::http::Verdict::ok)) {
        static const ListenFilter all = ListenFilter::from({"*"});
        ChangesBatch b = parse_changes(r.result, 1.7e9, all, 64);
        if (b.changes.size() > 64) __builtin_trap();
        for (const auto& c : b.changes) {
            auto e = change_to_event(c, "fuzz", 1);
            if (e.attr("value").size() > 1024) __builtin_trap();
        }
    }
    return 0;
}
