// libFuzzer: the untrusted inputs of the mqtt module. A command from the broker
// (topic, payload, retain, response topic) must be judged without a crash and
// with a coherent decision; device strings (source, type, attrs) must never make
// a topic with wildcards or invalid UTF-8, nor a discovery config that is not JSON.
#include "commands.hpp"
#include "discovery.hpp"
#include "topics.hpp"

#include <passerelle/utf8.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

// Splits the input on '\n' into at most n fields.
std::vector<std::string_view> fields(std::string_view in, size_t n) {
    std::vector<std::string_view> out;
    while (out.size() + 1 < n) {
        size_t nl = in.find('\n');
        if (nl == std::string_view::npos) break;
        out.push_back(in.substr(0, nl));
        in.remove_prefix(nl + 1);
    }
    out.push_back(in);
    out.resize(n);
    return out;
}

void check_topic(const std::string& t) {
    if (t.find_first_of(std::string_view("+#\0", 3)) != std::string::npos || !passerelle::is_valid_utf8(t)) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const uint8_t flags = data[0];
    std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
    auto f = fields(in, 5);

    mqtt::CommandPolicy policy{"passerelle", {"sip", "cam"}, 4096};
    auto d = mqtt::judge_command(policy, f[0], f[1], flags & 1, f[2]);
    if (d.kind == mqtt::CommandDecision::run) {
        if (!policy.allowed.count(d.instance)) std::abort();
        auto j = nlohmann::json::parse(d.params, nullptr, false);
        if (!j.is_object()) std::abort();
    }
    if (d.kind != mqtt::CommandDecision::ignore && d.result_topic.empty()) std::abort();

    passerelle::Event e;
    e.source = std::string(f[0]);
    e.type = std::string(f[1]);
    e.module = "fuzz";
    e.channel = static_cast<int32_t>(flags >> 2);
    e.state = (flags & 2) ? passerelle::State::pulse : passerelle::State::start;
    if (!f[3].empty()) e.attrs["region"] = std::string(f[3]);
    if (!f[4].empty()) e.attrs["target"] = std::string(f[4]);
    check_topic(mqtt::event_topic("p", e));
    check_topic(mqtt::state_topic("p", e));
    check_topic(mqtt::health_topic("p", e.source));
    mqtt::DiscoveryNaming naming{"homeassistant", "passerelle", std::string(f[2].substr(0, 64))};
    auto cfg = mqtt::discovery_for(naming, e, {std::string(f[3]), std::string(f[4]), {}, {}});
    check_topic(cfg.topic);
    if (!nlohmann::json::accept(cfg.payload)) std::abort();
    return 0;
}
