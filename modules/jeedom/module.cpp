// jeedom: a sink delivering events to a Jeedom box through its API
// (/core/api/jeeApi.php), JSON-RPC by default or the plain HTTP API.
//
// Every delivery is one or a few HTTP requests on the shared keep-alive client;
// the kernel's durable outbox hands events over one at a time (max_inflight 1)
// and retries them, so this file only turns each answer into ok / retry /
// fail(PL_ERR_AUTH) / fail(PL_ERR_PERMANENT). What the bytes mean lives in
// jsonrpc.* and plain_api.*, the auto mode's names in auto_naming.*, its cache
// in auto_mapping.*; HTTP verdicts, secret masking and Jeedom's local time
// come from the SDK helpers (passerelle/http/verdict.hpp, secret_mask.hpp,
// passerelle/local_time.hpp).
#include "auto_mapping.hpp"
#include "auto_naming.hpp"
#include "jsonrpc.hpp"
#include "listener.hpp"
#include "plain_api.hpp"
#include "verdict.hpp"

#include <passerelle/http/client.hpp>
#include <passerelle/http/secret_mask.hpp>
#include <passerelle/http/url.hpp>
#include <passerelle/local_time.hpp>
#include <passerelle/io_executor.hpp>
#include <passerelle/module.hpp>

#include <functional>
#include <memory>

namespace {

using passerelle::ConfigError;
using passerelle::Event;
using passerelle::Reply;
using passerelle::key;
using namespace passerelle::jeedom;
using Kind = passerelle::http::Verdict::Kind;
namespace http = passerelle::http;

// Jeedom returns ids as strings ("12") in some versions, numbers in others.
std::optional<int64_t> json_id(const nlohmann::json& obj) {
    if (!obj.is_object()) return std::nullopt;
    auto it = obj.find("id");
    if (it == obj.end()) return std::nullopt;
    if (it->is_number_integer()) return it->get<int64_t>();
    if (it->is_string()) {
        try {
            size_t used = 0;
            const std::string& s = it->get_ref<const std::string&>();
            int64_t v = std::stoll(s, &used);
            if (used == s.size() && v > 0) return v;
        } catch (...) {
        }
    }
    return std::nullopt;
}

std::string json_text(const nlohmann::json& obj, const char* field) {
    if (!obj.is_object()) return {};
    auto it = obj.find(field);
    if (it == obj.end() || it->is_null()) return {};
    return it->is_string() ? it->get<std::string>() : it->dump();
}

class Jeedom final : public passerelle::Instance {
public:
    using executor_type = passerelle::IoExecutor;

    // A request/response sink: it sends the next delivery when the last one is

    // answered, so lingering after each wake-up ([daemon] coalesce, 1 ms) would

    // cap it at about one round trip per millisecond. A value set in the config

    // still applies.

    static constexpr std::chrono::microseconds default_coalesce{0};


    static constexpr passerelle::ModuleInfo info{
        "jeedom", "1.0.0", "Jeedom sink: info commands, action commands, scenarios, messages, auto-created commands"};

    static constexpr pl_key_decl keys[] = {
        key("url", PL_KEY_STRING, nullptr,
            "Jeedom's base URL, e.g. http://jeedom.local or https://box.example/jeedom (a path prefix is kept)",
            PL_KEY_REQUIRED),
        key("apikey", PL_KEY_STRING, nullptr,
            "API key: Jeedom's core key, or the Virtuel plugin's key with plugin = \"virtual\"",
            PL_KEY_REQUIRED | PL_KEY_SECRET),
        key("plugin", PL_KEY_STRING, "",
            "\"\" (core key) or \"virtual\" (the Virtuel plugin's key: only the event action, by the plain API)"),
        key("api", PL_KEY_STRING, "jsonrpc",
            "jsonrpc (cmd::event with the event's own time) or http (the plain API: ?type=cmd&id=&value=)"),
        key("verify_tls", PL_KEY_BOOL, "true", "Verify Jeedom's HTTPS certificate"),
        key("ca_file", PL_KEY_PATH, nullptr, "PEM certificate(s) to trust for Jeedom's HTTPS (a self-signed box)"),
        key("timeout", PL_KEY_DURATION, "10s", "Longest wait for one answer from Jeedom"),
        key("timezone", PL_KEY_STRING, "",
            "Jeedom's time zone for datetime (Europe/Paris, UTC, +02:00); empty = the daemon's local zone"),
        key("return_to_zero", PL_KEY_DURATION, "0s",
            "Auto mode: Jeedom puts alarm commands back to 0 after this long (whole minutes; 0 = never)"),
        key("auto_name", PL_KEY_STRING, "code",
            "Auto mode: name commands after the vendor code (code, like the Hikvision Event plugin) or the type"),
        key("listen", PL_KEY_STRING_LIST, nullptr,
            "Listen mode: ids of Jeedom info commands whose changes are published as events (type command), "
            "\"*\" for every command; empty = off. Long-polls event::changes with the core key"),
        key("listen_poll", PL_KEY_DURATION, "30s",
            "Listen mode: how long one event::changes call waits in Jeedom for a change (1s to 10min)"),
        key("ban_wait", PL_KEY_DURATION, "10min",
            "How long the sink and the listener stay paused when Jeedom answers HTTP 404 (it banned this IP after "
            "wrong keys): at least Jeedom's ban time (Configuration -> Security, 10 min by default), 10min to 24h"),
    };

    static constexpr pl_action_decl actions[] = {
        {"deliver", "(the routed event) [id, value]",
         "A routed event without an action: `event` when the route gives params id and value, else `auto`"},
        {"event", "id, value[, datetime]",
         "Sets info command `id` to `value` (cmd::event, datetime = the event's time in Jeedom's zone)"},
        {"exec", "id[, slider, title, message, color, select]", "Runs action command `id` (cmd::execCmd)"},
        {"scenario", "id, state (start, stop, enable, disable)", "Changes a scenario's state (scenario::changeState)"},
        {"message", "message[, type]", "Adds a message to Jeedom's message centre (message::add)"},
        {"auto", "(the event)",
         "Creates on first sight, then updates, one Virtuel equipment per source and one info command per "
         "channel/code/region/target (1 on start/pulse, 0 on stop); device events update Heartbeat"},
    };

    static constexpr uint32_t max_inflight = 1;

    explicit Jeedom(const passerelle::Init& init)
        : Instance(init), apikey_(init.config.string("apikey")) {
        const auto& c = init.config;
        base_ = c.string("url");
        while (!base_.empty() && base_.back() == '/') base_.pop_back();
        if (base_.find('?') != std::string::npos || base_.find('#') != std::string::npos)
            throw ConfigError("url", "must be Jeedom's base URL without a query (e.g. http://jeedom.local)");
        if (!http::parse_url(base_ + "/core/api/jeeApi.php"))
            throw ConfigError("url", "must be an http:// or https:// URL such as http://jeedom.local");
        endpoint_ = base_ + "/core/api/jeeApi.php";
        if (apikey_.empty()) throw ConfigError("apikey", "is empty");
        const std::string plugin = c.string("plugin");
        if (plugin == "virtual") virtual_ = true;
        else if (!plugin.empty() && plugin != "core") throw ConfigError("plugin", "must be \"\" (core key) or \"virtual\"");
        const std::string api = c.string("api");
        if (api == "http") plain_ = true;
        else if (api != "jsonrpc") throw ConfigError("api", "must be \"jsonrpc\" or \"http\"");
        if (virtual_) plain_ = true; // the Virtuel key only opens the plain API
        const auto timeout = c.duration("timeout");
        if (timeout.count() <= 0) throw ConfigError("timeout", "must be more than 0");
        std::string tz_error;
        auto tz = passerelle::TimeZone::load(c.string("timezone"), tz_error);
        if (!tz) throw ConfigError("timezone", tz_error);
        tz_ = *tz;
        const auto rtz = c.duration("return_to_zero");
        if (rtz.count() < 0) throw ConfigError("return_to_zero", "must not be negative");
        return_minutes_ = (rtz.count() + 59'999) / 60'000;
        const std::string by = c.string("auto_name");
        if (by == "type") name_by_ = NameBy::type;
        else if (by != "code") throw ConfigError("auto_name", "must be \"code\" or \"type\"");

        listen_.filter = ListenFilter::from(c.list("listen"));
        if (!listen_.filter.empty() && virtual_)
            throw ConfigError("listen", "needs Jeedom's core API key (this instance has plugin = \"virtual\")");
        const auto poll = c.duration("listen_poll");
        if (poll < std::chrono::seconds(1) || poll > std::chrono::minutes(10))
            throw ConfigError("listen_poll", "must be between 1s and 10min");
        listen_.long_poll = std::chrono::seconds((poll.count() + 999) / 1000); // Jeedom counts in seconds
        ban_wait_ = c.duration("ban_wait");
        if (ban_wait_ < std::chrono::minutes(10) || ban_wait_ > std::chrono::hours(24))
            throw ConfigError("ban_wait", "must be between 10min (Jeedom's default ban) and 24h");
        listen_.pause_delay = ban_wait_;
        listen_.timeout = timeout;
        listen_.endpoint = endpoint_;
        listen_.apikey = apikey_;

        options_.verify_tls = c.boolean("verify_tls");
        options_.ca_file = c.string("ca_file", "");
        options_.timeouts.connect = std::min(timeout, std::chrono::milliseconds(10'000));
        options_.timeouts.read = timeout;
        options_.timeouts.total = timeout;
        options_.max_idle_per_host = 2;
        options_.user_agent = "passerelle-jeedom";
        try {
            http_ = std::make_unique<http::HttpClient>(io(), options_);
        } catch (const std::exception& e) {
            throw ConfigError("ca_file", e.what());
        }
    }

    void on_start() override {
        running_ = true;
        if (!http_) http_ = std::make_unique<http::HttpClient>(io(), options_);
        if (!options_.verify_tls) host().warn(http::insecure_tls_warning(name(), base_));
        const std::string dir = host().state_dir();
        mapping_ = AutoMapping(dir.empty() ? std::filesystem::path() : std::filesystem::path(dir) / "jeedom-auto.json",
                               base_);
        mapping_.load();
        set_health("ok", "ready to deliver to " + base_);
        if (!listen_.filter.empty()) {
            listener_ = std::make_unique<Listener>(*this, *http_, listen_, [this](const std::string& state,
                                                                                 const std::string& detail) {
                set_health(state, detail);
            });
            listener_->start();
        }
    }

    void on_stop() override {
        running_ = false;
        listener_.reset(); // before the client: no callback of it runs after this
        http_.reset(); // cancels what is in flight: unanswered replies go back to the outbox
    }

    void on_action(passerelle::Call& call) override {
        const std::string& a = call.action;
        if (a == "deliver") {
            if (call.params.has("id")) return do_event(call);
            return do_auto(call);
        }
        if (a == "event") return do_event(call);
        if (a == "exec") return do_exec(call);
        if (a == "scenario") return do_scenario(call);
        if (a == "message") return do_message(call);
        if (a == "auto") return do_auto(call);
        Instance::on_action(call);
    }

private:
    boost::asio::io_context& io() { return static_cast<passerelle::IoExecutor&>(executor()).io(); }

    // --- actions ---------------------------------------------------------------

    void do_event(passerelle::Call& call) {
        const std::string id = call.params.string("id");
        const std::string value = call.params.string("value");
        if (id.empty()) return call.reply.fail(PL_ERR_INVALID, "param 'id' is empty");
        const int64_t t = call.event && call.event->time_ns ? call.event->time_ns : now_ns();
        const std::string datetime = call.params.string("datetime", tz_.format(t));
        Reply reply = call.reply;
        if (plain_) {
            return plain_event(id, value, [this, reply, id, value](const Verdict& v) {
                finish(reply, v, nlohmann::json{{"id", id}, {"value", value}}, "command " + id);
            });
        }
        rpc("cmd::event", {{"id", id}, {"value", value}, {"datetime", datetime}},
            [this, reply, id, value, datetime](const RpcReply& r) {
                finish(reply, r.verdict, nlohmann::json{{"id", id}, {"value", value}, {"datetime", datetime}},
                       "command " + id);
            });
    }

    void do_exec(passerelle::Call& call) {
        if (!needs_core(call.reply, "exec")) return;
        const std::string id = call.params.string("id");
        nlohmann::json options = nlohmann::json::object();
        for (const char* k : {"slider", "title", "message", "color", "select"})
            if (call.params.has(k)) options[k] = call.params.string(k);
        Reply reply = call.reply;
        rpc("cmd::execCmd", {{"id", id}, {"options", options}}, [this, reply, id](const RpcReply& r) {
            finish(reply, r.verdict, nlohmann::json{{"id", id}, {"result", r.result}}, "command " + id);
        });
    }

    void do_scenario(passerelle::Call& call) {
        if (!needs_core(call.reply, "scenario")) return;
        const std::string id = call.params.string("id");
        const std::string state = call.params.string("state", "start");
        if (state != "start" && state != "stop" && state != "enable" && state != "disable")
            return call.reply.fail(PL_ERR_INVALID, "param 'state' must be start, stop, enable or disable");
        Reply reply = call.reply;
        rpc("scenario::changeState", {{"id", id}, {"state", state}}, [this, reply, id, state](const RpcReply& r) {
            finish(reply, r.verdict, nlohmann::json{{"id", id}, {"state", state}}, "scenario " + id);
        });
    }

    void do_message(passerelle::Call& call) {
        if (!needs_core(call.reply, "message")) return;
        const std::string text = call.params.string("message");
        const std::string type = call.params.string("type", "passerelle");
        Reply reply = call.reply;
        rpc("message::add", {{"type", type}, {"message", text}}, [this, reply](const RpcReply& r) {
            finish(reply, r.verdict, nlohmann::json{{"added", true}}, "message");
        });
    }

    bool needs_core(const Reply& reply, std::string_view action) {
        if (!virtual_) return true;
        reply.fail(PL_ERR_PERMANENT, "action '" + std::string(action) +
                                         "' needs Jeedom's core API key (this instance has plugin = \"virtual\")");
        return false;
    }

    // --- auto mode --------------------------------------------------------------

    struct AutoJob {
        Event event;
        Reply reply;
        CommandSpec spec;
        int value = 0;
        bool re_resolved = false;
    };
    using JobPtr = std::shared_ptr<AutoJob>;
    using IdDone = std::function<void(const Verdict&, int64_t)>;

    void do_auto(passerelle::Call& call) {
        if (!call.event) return call.reply.fail(PL_ERR_INVALID, "auto needs an event (route one to this instance)");
        if (virtual_ || plain_)
            return call.reply.fail(PL_ERR_PERMANENT, "auto mode needs the JSON-RPC API and the core key "
                                                     "(this instance has plugin = \"virtual\" or api = \"http\")");
        auto job = std::make_shared<AutoJob>();
        job->event = std::move(*call.event);
        job->reply = call.reply;
        if (job->event.source.empty()) return call.reply.fail(PL_ERR_INVALID, "the event has no source");
        if (job->event.type == "device") {
            job->spec = heartbeat_command();
            job->value = job->event.state == passerelle::State::start ? 1 : 0;
        } else {
            job->spec = alarm_command(job->event, name_by_);
            job->value = alarm_value(job->event.state);
        }
        run_auto(job);
    }

    void run_auto(const JobPtr& job) {
        const std::string& source = job->event.source;
        ensure_equipment(source, [this, job](const Verdict& v, int64_t eq) {
            if (!v.is(Kind::ok)) return auto_failed(job, v);
            ensure_command(job->event.source, eq, job->spec, [this, job, eq](const Verdict& v, int64_t cmd) {
                if (!v.is(Kind::ok)) return auto_failed(job, v);
                const std::string datetime = tz_.format(job->event.time_ns ? job->event.time_ns : now_ns());
                rpc("cmd::event", {{"id", cmd}, {"value", job->value}, {"datetime", datetime}},
                    [this, job, eq, cmd, datetime](const RpcReply& r) {
                        if (!r.verdict.is(Kind::ok)) return auto_failed(job, r.verdict);
                        const bool alarm = job->event.type != "device" && job->value == 1;
                        if (!alarm) return auto_done(job, cmd);
                        ensure_command(job->event.source, eq, last_alarm_command(),
                                       [this, job, cmd, datetime](const Verdict& v, int64_t last) {
                                           if (!v.is(Kind::ok)) return auto_failed(job, v);
                                           rpc("cmd::event", {{"id", last}, {"value", datetime}, {"datetime", datetime}},
                                               [this, job, cmd](const RpcReply& r) {
                                                   if (!r.verdict.is(Kind::ok))
                                                       return auto_failed(job, r.verdict);
                                                   auto_done(job, cmd);
                                               });
                                       });
                    });
            });
        });
    }

    void auto_done(const JobPtr& job, int64_t cmd) {
        set_health("ok", "delivering to " + base_);
        host().count("events_delivered");
        job->reply.ok(nlohmann::json{{"command", job->spec.name}, {"id", cmd}, {"value", job->value}});
    }

    void auto_failed(const JobPtr& job, const Verdict& v) {
        const std::string& source = job->event.source;
        if (v.stale && !job->re_resolved) {
            // A user deleted the equipment or the command: look them up (or create them) again, once.
            job->re_resolved = true;
            host().info("Jeedom no longer knows the mapping of '" + source + "' (" + v.message + "); resolving it again");
            host().count("auto_re_resolved");
            mapping_.forget(source);
            persist_mapping();
            return run_auto(job);
        }
        if (v.stale) {
            Verdict p = verdict(Kind::give_up);
            p.message = "Jeedom command '" + job->spec.name + "' of '" + source +
                        "' is still unknown after resolving it again (" + v.message + "); event dropped";
            return finish(job->reply, p, {}, job->spec.name);
        }
        finish(job->reply, v, {}, job->spec.name);
    }

    void ensure_equipment(const std::string& source, IdDone done) {
        if (auto id = mapping_.equipment(source)) return done(Verdict{}, *id);
        const std::string logical = equipment_logical_id(source);
        rpc("eqLogic::byType", {{"type", "virtual"}}, [this, source, logical, done](const RpcReply& r) {
            if (!r.verdict.is(Kind::ok)) return done(r.verdict, 0);
            if (r.result.is_array()) {
                for (const auto& eq : r.result) {
                    if (json_text(eq, "logicalId") != logical) continue;
                    if (auto id = json_id(eq)) {
                        if (json_text(eq, "isEnable") == "0" || json_text(eq, "isEnable") == "false")
                            host().warn("Jeedom equipment '" + json_text(eq, "name") + "' (id " + std::to_string(*id) +
                                        ") is disabled: Jeedom answers ok but keeps none of its values");
                        mapping_.set_equipment(source, *id);
                        persist_mapping();
                        return done(Verdict{}, *id);
                    }
                }
            }
            nlohmann::json eq{{"eqType_name", "virtual"}, {"name", sanitize_name(source)}, {"logicalId", logical},
                              {"isEnable", "1"},          {"isVisible", "1"}};
            rpc("eqLogic::save", eq, [this, source, done](const RpcReply& r) {
                if (!r.verdict.is(Kind::ok)) return done(r.verdict, 0);
                auto id = json_id(r.result);
                if (!id) return done(verdict(Kind::retry, "Jeedom eqLogic::save answered without an id"), 0);
                host().info("created Jeedom equipment '" + source + "' (id " + std::to_string(*id) + ")");
                host().count("auto_equipments_created");
                mapping_.set_equipment(source, *id);
                mapping_.set_commands_listed(source); // new: no command yet
                persist_mapping();
                done(Verdict{}, *id);
            });
        });
    }

    void ensure_command(const std::string& source, int64_t eq, const CommandSpec& spec, IdDone done) {
        if (auto id = mapping_.command(source, spec.logical_id)) return done(Verdict{}, *id);
        if (!mapping_.commands_listed(source)) {
            // Once per equipment: find what exists (ours, maybe renamed by the user) by logicalId.
            return rpc("cmd::byEqLogicId", {{"eqLogic_id", eq}}, [this, source, eq, spec, done](const RpcReply& r) {
                if (!r.verdict.is(Kind::ok)) return done(r.verdict, 0);
                if (r.result.is_array())
                    for (const auto& cmd : r.result) {
                        const std::string logical = json_text(cmd, "logicalId");
                        if (auto id = json_id(cmd); id && !logical.empty()) mapping_.set_command(source, logical, *id);
                    }
                mapping_.set_commands_listed(source);
                persist_mapping();
                ensure_command(source, eq, spec, done);
            });
        }
        // cmd::save adds one command; eqLogic::save with a cmd list would delete the user's others.
        nlohmann::json configuration{{"repeatEventManagement", "always"}};
        if (spec.sub_type == "binary" && return_minutes_ > 0 && spec.logical_id != "heartbeat") {
            configuration["returnStateValue"] = "0";
            configuration["returnStateTime"] = std::to_string(return_minutes_);
        }
        nlohmann::json cmd{{"eqLogic_id", eq},   {"name", spec.name},     {"logicalId", spec.logical_id},
                           {"type", "info"},     {"subType", spec.sub_type}, {"isVisible", "1"},
                           {"isHistorized", "0"}, {"configuration", configuration}};
        rpc("cmd::save", cmd, [this, source, spec, done](const RpcReply& r) {
            if (!r.verdict.is(Kind::ok)) return done(r.verdict, 0);
            auto id = json_id(r.result);
            if (!id) return done(verdict(Kind::retry, "Jeedom cmd::save answered without an id"), 0);
            host().info("created Jeedom command '" + spec.name + "' for '" + source + "' (id " + std::to_string(*id) + ")");
            host().count("auto_commands_created");
            mapping_.set_command(source, spec.logical_id, *id);
            persist_mapping();
            done(Verdict{}, *id);
        });
    }

    void persist_mapping() {
        std::string error;
        if (!mapping_.save(error) && !persist_warned_) {
            persist_warned_ = true;
            host().warn("auto mode cache not saved (" + error + "): commands will be looked up again after a restart");
        }
    }

    // --- transport -------------------------------------------------------------

    void rpc(const std::string& method, const nlohmann::json& params, std::function<void(const RpcReply&)> done) {
        if (!http_) return done(RpcReply{verdict(Kind::retry, "jeedom instance is stopping"), {}});
        http::Request req;
        req.method = "POST";
        req.url = endpoint_;
        req.headers.push_back({"Content-Type", "application/json"});
        req.body = build_request(++next_id_, method, params, apikey_);
        http_->request(std::move(req), [this, method, done = std::move(done)](http::Response r) {
            RpcReply out;
            if (!r.ok()) out.verdict = http_failure(r);
            else out = classify_reply(r.body, method);
            out.verdict.message = passerelle::http::mask_secret(out.verdict.message, apikey_);
            done(out);
        });
    }

    void plain_event(const std::string& id, const std::string& value, std::function<void(const Verdict&)> done) {
        if (!http_) return done(verdict(Kind::retry, "jeedom instance is stopping"));
        http::Request req;
        req.url = base_ + plain_event_target(apikey_, virtual_, id, value);
        http_->request(std::move(req), [this, done = std::move(done)](http::Response r) {
            Verdict v = r.ok() ? classify_plain_reply(r.body) : http_failure(r);
            v.message = passerelle::http::mask_secret(v.message, apikey_);
            done(v);
        });
    }

    // Only for !r.ok(): the SDK's verdict, with what a 404 means from Jeedom.
    Verdict http_failure(const http::Response& r) {
        Verdict v;
        static_cast<http::Verdict&>(v) = http::classify(r, "Jeedom");
        if (v.is(Kind::ok)) {
            // A 2xx too large to read: Jeedom's JSON-RPC answer (ok or error) is lost.
            v = verdict(Kind::give_up, "Jeedom: " + http::describe(r));
        } else if (r.error == http::ErrorKind::http_status && r.status == 404) {
            // Jeedom answers 404 to everything from an IP it banned after failed keys.
            // Every request during the ban is wasted (and a real Jeedom counts it), so the
            // pause must outlast the ban: finish() asks the kernel for ban_wait at least.
            v.kind = Kind::pause;
            v.retry_after_ms = ban_wait_.count();
            v.message = "Jeedom answers HTTP 404: passerelle's IP is probably banned after wrong API keys (a ban "
                        "lasts 10 min by default; whitelist this IP in Jeedom), or url is not Jeedom's base URL; "
                        "next try in " + std::to_string(ban_wait_.count() / 60'000) + " min";
        }
        return v;
    }

    void finish(const Reply& reply, const Verdict& v, const nlohmann::json& ok_json, const std::string& what) {
        switch (v.kind) {
        case Kind::ok:
            set_health("ok", "delivering to " + base_);
            host().count("events_delivered");
            break;
        case Kind::pause:
            set_health("auth_failed", v.message);
            if (v.retry_after_ms > 0) {
                // The kernel pauses the sink at least this long when an AUTH failure's
                // message starts with "retry_after_ms=N " (kernel/delivery retry_policy).
                return reply.fail(PL_ERR_AUTH, pause_at_least_message(v.retry_after_ms, v.message));
            }
            break;
        case Kind::give_up:
            if (v.stale) {
                host().warn("Jeedom does not know " + what + " (" + v.message + "); event dropped");
                return reply.fail(PL_ERR_PERMANENT, "unknown Jeedom " + what + ": " + v.message);
            }
            break;
        case Kind::retry: set_health("unreachable", v.message); break;
        }
        http::answer(reply, v, ok_json);
    }

    void set_health(const std::string& state, const std::string& detail) {
        if (state == health_state_ && (state == "ok" || detail == health_detail_)) return;
        health_state_ = state;
        health_detail_ = detail;
        host().health(state, detail);
    }

    std::string apikey_;
    std::chrono::milliseconds ban_wait_{600'000};
    std::string base_, endpoint_;
    bool virtual_ = false;
    bool plain_ = false;
    passerelle::TimeZone tz_;
    int64_t return_minutes_ = 0;
    NameBy name_by_ = NameBy::code;
    http::ClientOptions options_;
    std::unique_ptr<http::HttpClient> http_;
    ListenSettings listen_;
    std::unique_ptr<Listener> listener_;
    AutoMapping mapping_;
    uint64_t next_id_ = 0;
    bool running_ = false;
    bool persist_warned_ = false;
    std::string health_state_, health_detail_;
};

} // namespace

PL_DEFINE_MODULE(Jeedom)
