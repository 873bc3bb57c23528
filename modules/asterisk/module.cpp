// The asterisk module: one AMI session per instance (ami_session), PBX events
// turned into passerelle events (call_tracker), and the actions eeCallUs did
// from a PHP script (actions). This file is the declaration and the glue.
#include "actions.hpp"
#include "ami_session.hpp"
#include "call_tracker.hpp"

#include <passerelle/io_executor.hpp>
#include <passerelle/module.hpp>

#include <memory>

namespace passerelle::asterisk {

using namespace std::chrono_literals;

class AsteriskModule : public passerelle::Instance {
public:
    using executor_type = passerelle::IoExecutor;

    static constexpr passerelle::ModuleInfo info{"asterisk", "1.0.0",
                                                 "Asterisk/FreePBX AMI client: call, DTMF and registration events; originate, play, message, hangup"};

    static constexpr pl_key_decl keys[] = {
        passerelle::key("host", PL_KEY_STRING, nullptr, "Asterisk host name or address", PL_KEY_REQUIRED),
        passerelle::key("port", PL_KEY_INT, "5038", "AMI port (5038; usually 5039 with tls)"),
        passerelle::key("user", PL_KEY_STRING, nullptr, "AMI user ([name] in manager.conf)", PL_KEY_REQUIRED),
        passerelle::key("secret", PL_KEY_STRING, nullptr, "AMI secret (or secret_file / ${ENV})", PL_KEY_REQUIRED | PL_KEY_SECRET),
        passerelle::key("auth", PL_KEY_STRING, "plain", "Login method: plain (Secret) or md5 (Challenge + Key)"),
        passerelle::key("tls", PL_KEY_BOOL, "false", "AMI over TLS (tlsenable in manager.conf)"),
        passerelle::key("verify_tls", PL_KEY_BOOL, "true", "Verify the AMI server certificate and host name"),
        passerelle::key("ca_file", PL_KEY_PATH, nullptr, "CA bundle (PEM) to verify the AMI certificate"),
        passerelle::key("events", PL_KEY_STRING, "system,call,dtmf,user", "Event classes asked at login: on, off or a list such as system,call,dtmf,user"),
        passerelle::key("ping_interval", PL_KEY_DURATION, "20s", "Keepalive Ping period; an unanswered Ping reconnects"),
        passerelle::key("context", PL_KEY_STRING, "default", "Dialplan context of originate/play (from-internal on FreePBX)"),
        passerelle::key("channel_tech", PL_KEY_STRING, "PJSIP", "Channel technology for `from`: PJSIP, SIP or Local"),
        passerelle::key("caller_id", PL_KEY_STRING, "", "CallerID shown on the phones, e.g. \"eedomus\" <100>"),
        passerelle::key("timeout", PL_KEY_DURATION, "25s", "Ring time of the first phone (Originate Timeout); keep it 3 s under the API's action_timeout (30 s)"),
        passerelle::key("follow", PL_KEY_DURATION, "8s", "After the first phone answers, how long originate waits to report whether `to` answered"),
        passerelle::key("message_tech", PL_KEY_STRING, "pjsip", "MessageSend technology: pjsip or sip (sip: is gone from Asterisk 21)"),
        passerelle::key("message_from", PL_KEY_STRING, "", "From of messages, e.g. \"eedomus\" <sip:eedomus@pbx>"),
        passerelle::key("allow_raw", PL_KEY_STRING_LIST, nullptr, "AMI action names the raw `action` may send (none by default)"),
    };

    static constexpr pl_action_decl actions[] = {
        {"originate", "from, to, context?, caller_id?, timeout?, variables?",
         "Rings `from`, then connects it to `to`; answers with the outcome (answered/busy/no_answer/congestion/failed) and to_answered"},
        {"play", "to, sound | extension, context?, caller_id?, timeout?", "Rings `to` and plays a sound file (Playback) or connects it to a message extension"},
        {"message", "to, text, from?, tech?", "Sends a text message (MessageSend) to a phone; at most 1300 bytes"},
        {"hangup", "channel | linkedid, cause?", "Hangs up a channel, or the call with that linkedid"},
        {"action", "name, KEY=value...", "Sends a raw AMI action whose name is listed in allow_raw"},
    };

    explicit AsteriskModule(const passerelle::Init& init) : Instance(init) {
        const auto& c = init.config;
        SessionOptions o;
        o.host = c.string("host");
        int64_t port = c.integer("port", 5038);
        if (port <= 0 || port > 65535) throw passerelle::ConfigError("port", "must be between 1 and 65535");
        o.port = static_cast<uint16_t>(port);
        o.user = c.string("user");
        o.secret = c.string("secret");
        std::string auth = c.string("auth", "plain");
        if (auth != "plain" && auth != "md5") throw passerelle::ConfigError("auth", "must be plain or md5");
        o.md5 = auth == "md5";
        o.tls = c.boolean("tls", false);
        o.verify_tls = c.boolean("verify_tls", true);
        o.ca_file = c.string("ca_file", "");
        o.events = c.string("events", "system,call,dtmf,user");
        if (o.events.find_first_of("\r\n") != std::string::npos) throw passerelle::ConfigError("events", "must be one line");
        o.ping_interval = c.duration("ping_interval", 20s);
        // Test hooks, not declared (the kernel refuses them): shorter login retries.
        if (c.has("auth_retry")) o.auth_retry_min = c.duration("auth_retry");
        options_ = o;

        d_.context = c.string("context", "default");
        d_.channel_tech = c.string("channel_tech", "PJSIP");
        d_.caller_id = c.string("caller_id", "");
        d_.timeout = c.duration("timeout", 25s);
        d_.follow = c.duration("follow", 8s);
        d_.message_tech = c.string("message_tech", "pjsip");
        d_.message_from = c.string("message_from", "");
        d_.allow_raw = c.list("allow_raw");
        std::string mt = d_.message_tech;
        if (mt != "pjsip" && mt != "sip") throw passerelle::ConfigError("message_tech", "must be pjsip or sip");
    }

    ~AsteriskModule() override { shutdown(); }

    void on_start() override {
        running_ = true;
        auto& io = static_cast<passerelle::IoExecutor&>(executor()).io();
        AmiSession::Callbacks cb;
        cb.on_event = [this](const AmiPacket& p) { on_ami_event(p); };
        cb.on_disconnected = [this](const std::string&) {
            std::vector<Event> out;
            calls_.connection_lost(out);
            for (auto& e : out) publish(e);
        };
        cb.on_health = [this](std::string_view state, std::string_view detail, const nlohmann::json& info) {
            host().health(state, detail, info);
        };
        cb.log = [this](int level, const std::string& m) { host().log(static_cast<passerelle::LogLevel>(level), m); };
        cb.count = [this](std::string_view name) { host().count(name); };
        session_ = std::make_unique<AmiSession>(io, options_, std::move(cb));
        runner_ = std::make_unique<ActionRunner>(*session_, calls_, d_);
        host().health("reconnecting", "connecting to " + options_.host + ":" + std::to_string(options_.port));
        session_->start();
        schedule_tick();
    }

    void on_stop() override {
        running_ = false;
        shutdown();
    }

    void on_action(passerelle::Call& call) override {
        if (!runner_ || !running_) return call.reply.retry("the asterisk instance is not running");
        if (!runner_->handle(call)) Instance::on_action(call);
    }

private:
    void shutdown() {
        if (session_) session_->stop(); // fails waiting actions; no callback after this
        runner_.reset();
        session_.reset();
    }

    void on_ami_event(const AmiPacket& p) {
        events_.clear();
        calls_.on_packet(p, events_);
        for (auto& e : events_) publish(e);
        if (!events_.empty() && runner_) runner_->on_calls_changed();
        host().count("ami_events");
    }

    void schedule_tick() {
        timers().after(250ms, [this] {
            if (!running_) return;
            if (runner_) runner_->tick();
            schedule_tick();
        });
    }

    SessionOptions options_;
    ActionDefaults d_;
    CallTracker calls_;
    std::unique_ptr<AmiSession> session_;
    std::unique_ptr<ActionRunner> runner_;
    std::vector<Event> events_;
    bool running_ = false;
};

} // namespace passerelle::asterisk

PL_DEFINE_MODULE(passerelle::asterisk::AsteriskModule)
