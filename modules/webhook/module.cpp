// webhook: a sink that sends every event routed to it to an HTTP endpoint
// (Node-RED, n8n, Home Assistant, a Jeedom Script URL...). One request per
// event, in order (max_inflight 1: the kernel's outbox keeps the order and the
// backlog); the answer decides what the outbox does with the event:
// delivered, retried later, given up, or the sink paused: the SDK's one HTTP
// verdict (passerelle/http/verdict.hpp), shared with the Jeedom and eeDomus sinks.
//
// The pieces: webhook_request.* (config -> settings, event -> request),
// event_template.* (the url/body `{field}` substitution). This file is the
// glue to the SDK and the HTTP client.
#include "webhook_request.hpp"

#include <passerelle/http/client.hpp>
#include <passerelle/http/verdict.hpp>
#include <passerelle/io_executor.hpp>
#include <passerelle/module.hpp>

#include <fstream>
#include <memory>

namespace {

using passerelle::key;

class Webhook final : public passerelle::Instance {
public:
    // Handlers and the HTTP client's callbacks share the module's io thread.
    using executor_type = passerelle::IoExecutor;

    // A request/response sink: it sends the next delivery when the last one is

    // answered, so lingering after each wake-up ([daemon] coalesce, 1 ms) would

    // cap it at about one round trip per millisecond. A value set in the config

    // still applies.

    static constexpr std::chrono::microseconds default_coalesce{0};


    static constexpr passerelle::ModuleInfo info{"webhook", "1.0.0",
                                                 "Sends events to any HTTP endpoint (Node-RED, n8n, Home Assistant, Jeedom)"};

    static constexpr pl_key_decl keys[] = {
        key("url", PL_KEY_STRING, nullptr,
            "Endpoint URL; {field} placeholders (source, type, state, attrs.KEY...) are filled in, URL-encoded",
            PL_KEY_REQUIRED),
        key("method", PL_KEY_STRING, "POST", "POST (the event as JSON, or body), PUT, PATCH, GET or DELETE"),
        key("headers", PL_KEY_TABLE, nullptr, "Extra request headers, e.g. { \"X-Source\" = \"passerelle\" }"),
        key("auth", PL_KEY_STRING, "none", "none, basic (user/password, sent at once), digest (user/password) or bearer (token)"),
        key("user", PL_KEY_STRING, nullptr, "User name for basic or digest auth"),
        key("password", PL_KEY_STRING, nullptr, "Password for basic or digest auth", PL_KEY_SECRET),
        key("token", PL_KEY_STRING, nullptr, "Token for bearer auth (sent as Authorization: Bearer ...)", PL_KEY_SECRET),
        key("verify_tls", PL_KEY_BOOL, "true", "Verify the https certificate (false logs a warning)"),
        key("ca_file", PL_KEY_PATH, nullptr, "PEM file of the certificate(s) to trust, for a self-signed endpoint"),
        key("timeout", PL_KEY_DURATION, "10s", "Time limit of one request (connect, answer); past it the event is retried"),
        key("body", PL_KEY_STRING, nullptr,
            "Body template instead of the event JSON; {field} placeholders, {event} = the event JSON"),
        key("content_type", PL_KEY_STRING, "application/json", "Content-Type of the body"),
    };

    static constexpr pl_action_decl actions[] = {
        {"deliver", "url, body, method (optional route params overriding the instance's)",
         "Sends the routed event to the endpoint"},
    };

    // One request at a time: the outbox hands the next event after this one's answer.
    static constexpr uint32_t max_inflight = 1;

    explicit Webhook(const passerelle::Init& init) : Instance(init), settings_(webhook::read_settings(init.config)) {
        if (!settings_.ca_file.empty() && !std::ifstream(settings_.ca_file))
            throw passerelle::ConfigError("ca_file", "cannot be read: " + settings_.ca_file);
        origin_ = webhook::safe_origin(settings_.url.render_sample());
    }

    void on_start() override {
        if (!settings_.verify_tls && !warned_insecure_) {
            warned_insecure_ = true;
            host().warn(passerelle::http::insecure_tls_warning(name(), origin_));
        }
        if (settings_.auth == webhook::Auth::basic && origin_.rfind("http://", 0) == 0 && !warned_clear_) {
            warned_clear_ = true;
            host().warn("auth = \"basic\" over http:// sends the password in clear to " + origin_ + "; prefer https");
        }
        passerelle::http::ClientOptions options;
        options.timeouts = {settings_.timeout, settings_.timeout, settings_.timeout};
        options.verify_tls = settings_.verify_tls;
        options.ca_file = settings_.ca_file;
        options.max_response_bytes = 1024 * 1024; // the answer is read and dropped
        options.max_idle_per_host = 2;
        options.user_agent = "passerelle-webhook";
        client_error_.clear();
        try {
            client_ = std::make_unique<passerelle::http::HttpClient>(io(), options);
        } catch (const std::exception& e) {
            client_error_ = e.what();
            set_health("error", "cannot use ca_file: " + client_error_);
            return;
        }
        set_health("ok", "sending to " + origin_);
    }

    void on_stop() override {
        // On the io thread: in-flight requests are cancelled and their callbacks
        // never run; their replies, unanswered, tell the outbox to retry.
        client_.reset();
        ++generation_;
    }

    void on_action(passerelle::Call& call) override {
        if (call.action != "deliver") return Instance::on_action(call);
        if (!call.event) return call.reply.fail(PL_ERR_INVALID, "deliver needs an event");
        if (!client_) {
            // The outbox may replay a backlog before on_start: not an error, just early.
            if (client_error_.empty()) return call.reply.retry("not started yet");
            return call.reply.fail(PL_ERR_AUTH, "cannot use ca_file: " + client_error_);
        }
        passerelle::http::Request request;
        try {
            request = webhook::build_request(settings_, *call.event, call.params);
        } catch (const webhook::RequestError& e) {
            host().count("given_up");
            host().warn("event " + std::to_string(call.event->id) + " not sent: " + e.what());
            return call.reply.fail(PL_ERR_PERMANENT, e.what());
        }
        std::string target = webhook::safe_origin(request.url);
        client_->request(std::move(request), [this, reply = call.reply, id = call.event->id, target,
                                              generation = generation_](passerelle::http::Response r) {
            if (generation != generation_) return; // an old client's answer (cannot happen once reset, kept as a guard)
            answer(reply, id, target, r);
        });
    }

private:
    boost::asio::io_context& io() { return static_cast<passerelle::IoExecutor&>(executor()).io(); }

    void answer(const passerelle::Reply& reply, uint64_t id, const std::string& target,
                const passerelle::http::Response& r) {
        using passerelle::http::Verdict;
        Verdict v = passerelle::http::classify(r);
        v.message += " (" + target + ")";
        switch (v.kind) {
        case Verdict::ok:
            host().count("sent");
            set_health("ok", "sending to " + target);
            break;
        case Verdict::retry:
            host().count("retries");
            set_health("retrying", v.message);
            break;
        case Verdict::give_up:
            host().count("given_up");
            host().warn("event " + std::to_string(id) + " given up: " + v.message);
            break;
        case Verdict::pause:
            host().count("auth_failures");
            set_health("auth_failed", v.message);
            break;
        }
        passerelle::http::answer(reply, v, nlohmann::json{{"status", r.status}});
    }

    // Health changes only (not every success); errors are logged on change too.
    void set_health(const std::string& state, const std::string& detail) {
        if (state == health_state_ && (state == "ok" || detail == health_detail_)) return;
        const bool changed = state != health_state_;
        health_state_ = state;
        health_detail_ = detail;
        if (changed && state == "auth_failed") host().error(detail);
        else if (changed && state == "retrying") host().warn(detail);
        else if (changed && state == "error") host().error(detail);
        host().health(state, detail);
    }

    webhook::Settings settings_;
    std::string origin_;
    std::unique_ptr<passerelle::http::HttpClient> client_;
    std::string client_error_;
    uint64_t generation_ = 0;
    bool warned_insecure_ = false;
    bool warned_clear_ = false;
    std::string health_state_, health_detail_;
};

} // namespace

PL_DEFINE_MODULE(Webhook)
