// A message on the command topic, judged before anything runs: pure (topic,
// payload, flags in; a decision out), so the whole untrusted path is unit
// tested and fuzzed without a broker.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

namespace mqtt {

struct CommandPolicy {
    std::string prefix;                 // topic_prefix
    std::set<std::string> allowed;      // allow_commands
    size_t max_payload = 64 * 1024;     // bytes of params
};

struct CommandDecision {
    enum Kind { ignore, refuse, run } kind = ignore;
    std::string instance;
    std::string action;
    std::string params;    // run: a JSON object (text as received, "{}" for an empty payload)
    int32_t status = 0;    // refuse: the PL_ERR_* to answer
    std::string error;     // refuse: the sentence to answer; ignore: why (for a log line, "" = silently)
    std::string result_topic; // refuse/run: where the answer goes
};

// `response_topic`: MQTT 5 property ("" = <topic>/result). A retained command
// is ignored: it would run again at every reconnect.
CommandDecision judge_command(const CommandPolicy& policy, std::string_view topic, std::string_view payload,
                              bool retained, std::string_view response_topic, size_t dropped_size = 0);

} // namespace mqtt
