// Listen mode, the pure part: what one reply of Jeedom's `event::changes`
// (JSON-RPC, long-polled) means. Jeedom keeps a short cache of recent events
// (about 250, only the newest per command) and answers
//   {"datetime": 1700000000.1234, "result": [
//       {"datetime": 1700000000.12, "name": "cmd::update",
//        "option": {"cmd_id": "12", "value": "1", "display_value": "1", "unit": "",
//                   "valueDate": "2026-11-23 17:00:00", "collectDate": "..."}},
//       {"name": "eqLogic::update", ...}, {"name": "scenario::update", ...}, ...]}
// oldest first; the caller passes `datetime` back as the next call's
// `datetime` to get what happened since. Only cmd::update entries of the
// chosen commands become events; everything else is skipped. Bytes in,
// values out: no socket, so hostile replies are tested directly.
#pragma once

#include <passerelle/event.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace passerelle::jeedom {

// The Jeedom commands whose changes listen mode publishes: ids, or "*" for all.
struct ListenFilter {
    bool all = false;
    std::set<std::string, std::less<>> ids;

    static ListenFilter from(const std::vector<std::string>& items) {
        ListenFilter f;
        for (const auto& s : items) {
            if (s == "*") f.all = true;
            else if (!s.empty()) f.ids.insert(s);
        }
        return f;
    }
    bool empty() const { return !all && ids.empty(); }
    bool wants(std::string_view cmd_id) const { return all || ids.count(cmd_id) > 0; }
};

struct CommandChange {
    std::string cmd_id;
    std::string value;
    std::string display_value;
    std::string unit;
    std::string value_date;   // Jeedom's local time, as Jeedom wrote it
    std::string collect_date;
    double datetime = 0;      // Jeedom's clock (epoch seconds) when it recorded the change; 0 = unknown
};

struct ChangesBatch {
    bool valid = false;
    std::string error;                  // !valid: what is wrong with the reply (safe to log)
    double cursor = 0;                  // Jeedom's `datetime`: pass it back as the next `datetime`
    std::vector<CommandChange> changes; // wanted and newer than `since`, oldest first
    size_t skipped = 0;                 // entries ignored: other kinds, other commands, already seen, malformed
    size_t malformed = 0;               // of which not understood at all
};

// The `result` of an event::changes reply. `since` is the datetime the call
// was made with: entries not newer are dropped (a faithful Jeedom sends none,
// a confused one must not make us publish twice). At most `max_changes` are
// kept (the newest are dropped past it: counted in skipped).
ChangesBatch parse_changes(const nlohmann::json& result, double since, const ListenFilter& filter,
                           size_t max_changes = 1000);

// A change as a passerelle event: type "command", code "cmd::update", state
// pulse, attrs cmd_id, value (+ display_value when it differs, unit,
// value_date, collect_date when given); time = Jeedom's datetime of the change
// (else `now_ns`).
Event change_to_event(const CommandChange& change, std::string_view source, int64_t now_ns);

// The params of an event::changes call (apikey added by build_request).
// long_poll_s = 0 asks for an immediate answer.
nlohmann::json changes_params(double since, int64_t long_poll_s);

} // namespace passerelle::jeedom
