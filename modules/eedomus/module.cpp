// eedomus: a sink setting eeDomus peripherals (periph.value) and reading them
// (periph.caract) through the box's local API or the cloud API.
//
// The kernel's durable outbox hands events over one at a time and retries
// them; this file turns each answer into ok / retry / fail(PL_ERR_AUTH) /
// fail(PL_ERR_PERMANENT). The api_secret travels in the URL, so every message
// that leaves this module goes through mask() first.
#include "eedomus_api.hpp"

#include <passerelle/http/client.hpp>
#include <passerelle/http/secret_mask.hpp>
#include <passerelle/http/verdict.hpp>
#include <passerelle/local_time.hpp>
#include <passerelle/io_executor.hpp>
#include <passerelle/module.hpp>

#include <memory>

namespace {

using passerelle::ConfigError;
using passerelle::Reply;
using passerelle::key;
using passerelle::http::Verdict;
namespace http = passerelle::http;
namespace ee = passerelle::eedomus;

class Eedomus final : public passerelle::Instance {
public:
    using executor_type = passerelle::IoExecutor;

    // A request/response sink: it sends the next delivery when the last one is

    // answered, so lingering after each wake-up ([daemon] coalesce, 1 ms) would

    // cap it at about one round trip per millisecond. A value set in the config

    // still applies.

    static constexpr std::chrono::microseconds default_coalesce{0};


    static constexpr passerelle::ModuleInfo info{"eedomus", "1.0.0",
                                                 "eeDomus sink: sets and reads peripherals (local or cloud API)"};

    static constexpr pl_key_decl keys[] = {
        key("url", PL_KEY_STRING, nullptr,
            "The box's local API (http://BOX_IP: /api/set, /api/get) or the cloud (https://api.eedomus.com: /set, /get)",
            PL_KEY_REQUIRED),
        key("api_user", PL_KEY_STRING, nullptr, "eeDomus API user (My eedomus > Settings > Account > API)",
            PL_KEY_REQUIRED),
        key("api_secret", PL_KEY_STRING, nullptr, "eeDomus API secret", PL_KEY_REQUIRED | PL_KEY_SECRET),
        key("verify_tls", PL_KEY_BOOL, "true", "Verify the HTTPS certificate (cloud API or an HTTPS box)"),
        key("ca_file", PL_KEY_PATH, nullptr, "PEM certificate(s) to trust for HTTPS"),
        key("timeout", PL_KEY_DURATION, "10s", "Longest wait for one answer from eeDomus"),
        key("timezone", PL_KEY_STRING, "",
            "The box's time zone for value_date (Europe/Paris, UTC, +01:00); empty = the daemon's local zone"),
    };

    static constexpr pl_action_decl actions[] = {
        {"deliver", "(the routed event) periph_id, value", "Same as set, value_date = the event's time"},
        {"set", "periph_id, value[, value_date]",
         "Sets a peripheral (periph.value); value_date defaults to the event's time, so a replay keeps it"},
        {"get", "periph_id", "Reads a peripheral (periph.caract): last_value and last_value_change"},
    };

    static constexpr uint32_t max_inflight = 1;

    explicit Eedomus(const passerelle::Init& init) : Instance(init) {
        const auto& c = init.config;
        std::string error;
        auto api = ee::make_api(c.string("url"), c.string("api_user"), c.string("api_secret"), error);
        if (!api) throw ConfigError("url", error);
        api_ = std::move(*api);
        if (api_.user.empty()) throw ConfigError("api_user", "is empty");
        if (api_.secret.empty()) throw ConfigError("api_secret", "is empty");
        const auto timeout = c.duration("timeout");
        if (timeout.count() <= 0) throw ConfigError("timeout", "must be more than 0");
        auto tz = passerelle::TimeZone::load(c.string("timezone"), error);
        if (!tz) throw ConfigError("timezone", error);
        tz_ = *tz;
        options_.verify_tls = c.boolean("verify_tls");
        options_.ca_file = c.string("ca_file", "");
        options_.timeouts.connect = std::min(timeout, std::chrono::milliseconds(10'000));
        options_.timeouts.read = timeout;
        options_.timeouts.total = timeout;
        options_.max_idle_per_host = 2;
        options_.user_agent = "passerelle-eedomus";
        try {
            http_ = std::make_unique<http::HttpClient>(io(), options_);
        } catch (const std::exception& e) {
            throw ConfigError("ca_file", e.what());
        }
    }

    void on_start() override {
        if (!http_) http_ = std::make_unique<http::HttpClient>(io(), options_);
        if (!options_.verify_tls) host().warn(http::insecure_tls_warning(name(), api_.base));
        set_health("ok", std::string("ready (") + (api_.cloud ? "cloud" : "local") + " API at " + api_.base + ")");
    }

    void on_stop() override { http_.reset(); }

    void on_action(passerelle::Call& call) override {
        if (call.action == "deliver" || call.action == "set") return do_set(call);
        if (call.action == "get") return do_get(call);
        Instance::on_action(call);
    }

private:
    boost::asio::io_context& io() { return static_cast<passerelle::IoExecutor&>(executor()).io(); }

    std::string mask(std::string text) const { return passerelle::http::mask_secret(std::move(text), api_.secret); }

    void do_set(passerelle::Call& call) {
        const std::string periph = call.params.string("periph_id");
        const std::string value = call.params.string("value");
        if (periph.empty()) return call.reply.fail(PL_ERR_INVALID, "param 'periph_id' is empty");
        std::string date = call.params.string("value_date", "");
        if (date.empty() && call.event && call.event->time_ns) date = tz_.format(call.event->time_ns);
        Reply reply = call.reply;
        send(ee::set_url(api_, periph, value, date), "periph " + periph,
             [this, reply, periph, value, date](const ee::ApiReply& r) {
                 nlohmann::json ok{{"periph_id", periph}, {"value", value}};
                 if (!date.empty()) ok["value_date"] = date;
                 finish(reply, r.verdict, ok);
             });
    }

    void do_get(passerelle::Call& call) {
        const std::string periph = call.params.string("periph_id");
        if (periph.empty()) return call.reply.fail(PL_ERR_INVALID, "param 'periph_id' is empty");
        Reply reply = call.reply;
        send(ee::get_url(api_, periph), "periph " + periph, [this, reply, periph](const ee::ApiReply& r) {
            nlohmann::json ok{{"periph_id", periph}};
            if (r.body.is_object()) {
                for (const char* k : {"name", "last_value", "last_value_text", "last_value_change"})
                    if (auto it = r.body.find(k); it != r.body.end() && !it->is_null())
                        ok[k] = it->is_string() ? it->get<std::string>() : it->dump();
            }
            finish(reply, r.verdict, ok);
        });
    }

    void send(std::string url, std::string what, std::function<void(const ee::ApiReply&)> done) {
        if (!http_) return done(ee::ApiReply{Verdict{Verdict::retry, "eedomus instance is stopping"}, 0, {}});
        http::Request req;
        req.url = std::move(url);
        http_->request(std::move(req), [this, what = std::move(what), done = std::move(done)](http::Response r) {
            ee::ApiReply out;
            if (!r.ok()) {
                out.verdict = http::classify(r, "eeDomus");
                if (out.verdict.is(Verdict::ok)) {
                    // A 2xx too large to read: the box did something, but what it said is lost.
                    out.verdict = {Verdict::give_up, "eeDomus: " + http::describe(r)};
                } else if (r.error == http::ErrorKind::http_status && r.status == 404) {
                    out.verdict.kind = Verdict::pause; // a wrong url: nothing will work until it is fixed
                    out.verdict.message = "eeDomus answers HTTP 404: is url the box (http://BOX_IP) or "
                                          "https://api.eedomus.com?";
                }
            } else {
                out = ee::classify_reply(r.body, what);
            }
            out.verdict.message = mask(out.verdict.message);
            done(out);
        });
    }

    void finish(const Reply& reply, const Verdict& v, const nlohmann::json& ok) {
        switch (v.kind) {
        case Verdict::ok:
            set_health("ok", "delivering to " + api_.base);
            host().count("values_set");
            break;
        case Verdict::pause: set_health("auth_failed", v.message); break;
        case Verdict::give_up: host().warn(v.message + "; dropped"); break;
        case Verdict::retry: set_health("unreachable", v.message); break;
        }
        http::answer(reply, v, ok);
    }

    void set_health(const std::string& state, const std::string& detail) {
        if (state == health_state_ && (state == "ok" || detail == health_detail_)) return;
        health_state_ = state;
        health_detail_ = detail;
        host().health(state, mask(detail));
    }

    ee::Api api_;
    passerelle::TimeZone tz_;
    http::ClientOptions options_;
    std::unique_ptr<http::HttpClient> http_;
    std::string health_state_, health_detail_;
};

} // namespace

PL_DEFINE_MODULE(Eedomus)
