#include "commands.hpp"

#include "topics.hpp"

#include <passerelle/abi.h>
#include <passerelle/utf8.hpp>

#include <nlohmann/json.hpp>

namespace mqtt {

CommandDecision judge_command(const CommandPolicy& policy, std::string_view topic, std::string_view payload,
                              bool retained, std::string_view response_topic, size_t dropped_size) {
    CommandDecision d;
    auto cmd = parse_command_topic(policy.prefix, topic);
    if (!cmd) return d; // a result topic or anything else under the filter: not a command
    if (retained) {
        d.error = "ignoring a retained command on " + safe_level(topic);
        return d;
    }
    d.instance = std::move(cmd->instance);
    d.action = std::move(cmd->action);
    // An answer to a response topic that is not a valid topic name could not be published.
    const bool response_ok = !response_topic.empty() && passerelle::is_valid_utf8(response_topic) &&
                             response_topic.find_first_of(std::string_view("+#\0", 3)) == std::string_view::npos;
    d.result_topic = response_ok ? std::string(response_topic) : std::string(topic) + "/result";
    auto refuse = [&](int32_t status, std::string why) {
        d.kind = CommandDecision::refuse;
        d.status = status;
        d.error = std::move(why);
        return d;
    };
    if (!policy.allowed.count(d.instance))
        return refuse(PL_ERR_AUTH, "commands for instance '" + safe_level(d.instance) +
                                       "' are not allowed (allow_commands)");
    if (!passerelle::is_valid_utf8(d.action) || !passerelle::is_valid_utf8(d.instance))
        return refuse(PL_ERR_INVALID, "the topic is not valid UTF-8");
    // dropped_size: the client skipped a message far too large to hold.
    if (const size_t size = dropped_size ? dropped_size : payload.size(); size > policy.max_payload)
        return refuse(PL_ERR_INVALID, "the payload is too large (" + std::to_string(size) +
                                          " bytes, at most " + std::to_string(policy.max_payload) + ")");
    if (payload.empty()) payload = "{}";
    auto parsed = nlohmann::json::parse(payload, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object())
        return refuse(PL_ERR_INVALID, "the payload must be a JSON object of params");
    d.kind = CommandDecision::run;
    d.params = std::string(payload);
    return d;
}

} // namespace mqtt
