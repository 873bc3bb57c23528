// demo: a synthetic event source. Every `interval` it publishes the next step
// of a plausible camera/doorbell story (motion start/stop, a doorbell press, a
// vehicle crossing a line...), and its `emit` action publishes any event you
// describe. It needs no device: it drives the README demo and the tests of
// routing and sinks.
#include <passerelle/module.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace {

using passerelle::ConfigError;
using passerelle::Event;
using passerelle::State;
using passerelle::key;

// One step of the story. Codes are what a Dahua camera or VTO would send, so
// the events look like the real thing in a sink or a routing rule.
struct Step {
    const char* type;
    const char* code;
    int channel; // on a camera with enough channels; folded into `channels`
    State state;
    std::vector<std::pair<const char*, const char*>> attrs;
};

const std::vector<Step>& story() {
    static const std::vector<Step> steps = {
        {"motion", "VideoMotion", 1, State::start, {{"region", "1"}, {"target", "human"}}},
        {"motion", "VideoMotion", 1, State::stop, {{"region", "1"}, {"target", "human"}}},
        {"doorbell", "_DoTalkAction_", 1, State::pulse, {{"action", "Invite"}}},
        {"line_crossing", "CrossLineDetection", 2, State::pulse,
         {{"region", "1"}, {"target", "vehicle"}, {"direction", "LeftToRight"}}},
        {"intrusion", "CrossRegionDetection", 2, State::start, {{"region", "2"}, {"target", "human"}}},
        {"intrusion", "CrossRegionDetection", 2, State::stop, {{"region", "2"}, {"target", "human"}}},
        {"io_alarm", "AlarmLocal", 1, State::start, {{"input", "1"}}},
        {"io_alarm", "AlarmLocal", 1, State::stop, {{"input", "1"}}},
        {"tamper", "VideoBlind", 2, State::start, {}},
        {"tamper", "VideoBlind", 2, State::stop, {}},
    };
    return steps;
}

std::string known_types() {
    std::string out;
    std::set<std::string> seen;
    for (const auto& s : story())
        if (seen.insert(s.type).second) out += (out.empty() ? "" : ", ") + std::string(s.type);
    return out;
}

// A type is a word of lowercase letters, digits and '_': what routing rules match on.
bool valid_type(const std::string& t) {
    if (t.empty() || t.size() > 64) return false;
    return std::all_of(t.begin(), t.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

class Demo final : public passerelle::Instance {
public:
    static constexpr passerelle::ModuleInfo info{"demo", "1.0.0", "Synthetic event source for demos and tests"};

    static constexpr pl_key_decl keys[] = {
        key("interval", PL_KEY_DURATION, "5s", "Time between two synthetic events"),
        key("channels", PL_KEY_INT, "2", "Number of camera channels the events are spread over (1 to 64)"),
        key("sequence", PL_KEY_STRING_LIST, nullptr,
            "Event types to publish, out of motion, doorbell, line_crossing, intrusion, io_alarm, tamper (default: all)"),
    };

    static constexpr pl_action_decl actions[] = {
        {"emit", "type, code, channel, state, any other param = an attr",
         "Publishes the event described by the params"},
    };

    explicit Demo(const passerelle::Init& init)
        : Instance(init), interval_(init.config.duration("interval")), channels_(init.config.integer("channels")) {
        if (interval_.count() <= 0) throw ConfigError("interval", "must be more than 0");
        if (channels_ < 1 || channels_ > 64) throw ConfigError("channels", "must be between 1 and 64");
        const std::vector<std::string> wanted = init.config.list("sequence");
        for (const auto& type : wanted) {
            bool known = std::any_of(story().begin(), story().end(), [&](const Step& s) { return type == s.type; });
            if (!known) throw ConfigError("sequence", "unknown type '" + type + "' (known: " + known_types() + ")");
        }
        // Keep the story's order; a start and its stop share a type, so they stay paired.
        for (const auto& step : story())
            if (wanted.empty() || std::find(wanted.begin(), wanted.end(), step.type) != wanted.end())
                steps_.push_back(&step);
    }

    void on_start() override {
        running_ = true;
        host().health("ok", "publishing every " + std::to_string(interval_.count()) + " ms");
        schedule();
    }

    void on_stop() override {
        running_ = false; // a tick already queued on the executor sees it and does nothing
        timers().cancel_all();
    }

    void on_action(passerelle::Call& call) override {
        if (call.action != "emit") return Instance::on_action(call);
        // A ConfigError thrown while reading params becomes PL_ERR_INVALID "param '<key>' ...".
        publish_event(event_from_params(call.params));
        call.reply.ok(nlohmann::json{{"published", true}});
    }

private:
    void schedule() {
        timers().after(interval_, [this] { tick(); });
    }

    void tick() {
        if (!running_) return;
        const Step& step = *steps_[next_ % steps_.size()];
        ++next_;
        Event e;
        e.type = step.type;
        e.code = step.code;
        e.channel = static_cast<int32_t>((step.channel - 1) % channels_ + 1);
        e.state = step.state;
        for (const auto& [k, v] : step.attrs) e.attrs.emplace(k, v);
        publish_event(std::move(e));
        schedule();
    }

    Event event_from_params(const passerelle::Fields& params) const {
        Event e;
        e.type = params.string("type");
        if (!valid_type(e.type)) throw ConfigError("type", "must be a word of a-z, 0-9 and _ (e.g. motion)");
        e.code = params.string("code", "Demo");
        const int64_t channel = params.integer("channel", 1);
        if (channel < 0 || channel > channels_)
            throw ConfigError("channel", "must be between 0 and " + std::to_string(channels_));
        e.channel = static_cast<int32_t>(channel);
        if (!passerelle::parse_state(params.string("state", "pulse"), e.state))
            throw ConfigError("state", "must be start, stop or pulse");
        for (const auto& [name, value] : params.json().items()) {
            if (name == "type" || name == "code" || name == "channel" || name == "state") continue;
            if (value.is_string()) e.attrs.emplace(name, value.get<std::string>());
            else if (value.is_number() || value.is_boolean()) e.attrs.emplace(name, value.dump());
            else throw ConfigError(name, "must be a string, a number or a boolean");
        }
        return e;
    }

    void publish_event(Event e) {
        e.time_ns = now_ns();
        publish(e);
        host().count("events_published");
    }

    std::chrono::milliseconds interval_;
    int64_t channels_;
    std::vector<const Step*> steps_;
    size_t next_ = 0;
    bool running_ = false;
};

} // namespace

PL_DEFINE_MODULE(Demo)
