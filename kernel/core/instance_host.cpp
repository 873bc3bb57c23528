#include "core/instance_host.hpp"

#include <passerelle/status_name.hpp>

#include "core/logging.hpp"
#include "core/timer_service.hpp"
#include "delivery/delivery_engine.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>

namespace passerelle::kernel {
namespace {

int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Heap-allocated per call; the module completes exactly once, which frees it.
struct PendingCall {
    InstanceHost::Done done;
    static void complete(void* ctx, int32_t status, pl_str result) {
        std::unique_ptr<PendingCall> self(static_cast<PendingCall*>(ctx));
        std::string text(result.data ? std::string(result.data, result.size) : std::string());
        if (self->done) self->done(status, std::move(text));
    }
};

// The same for a sink delivery, which runs for every event a sink takes: the
// engine's callback is kept as it is (no second std::function wrapping it)
// and the module's answer is passed on as a view, not copied.
struct PendingDelivery {
    std::shared_ptr<InstanceHost> keep_alive; // the host outlives its module's answer (a reload may drop it meanwhile)
    std::atomic<uint64_t>* delivered;
    std::atomic<uint64_t>* errors;
    SinkTarget::Done done;
    static void complete(void* ctx, int32_t status, pl_str result) {
        std::unique_ptr<PendingDelivery> self(static_cast<PendingDelivery*>(ctx));
        (status == PL_OK ? self->delivered : self->errors)->fetch_add(1, std::memory_order_relaxed);
        self->done(status, from_pl(result));
    }
};

bool is_good_health(std::string_view state) { return state == "ok" || state == "connected" || state == "registered"; }

// The device's identity, as a module reports it in its health info: sinks that
// describe devices (MQTT discovery, Jeedom equipment) read it from the device event.
DeviceIdentity identity_from_info(std::string_view info_json) {
    DeviceIdentity identity;
    auto info = nlohmann::json::parse(info_json, nullptr, false);
    if (!info.is_object()) return identity;
    for (const char* key : {"model", "serial", "firmware"})
        if (auto it = info.find(key); it != info.end() && it->is_string() && !it->get_ref<const std::string&>().empty())
            identity[key] = it->get<std::string>();
    return identity;
}

} // namespace


InstanceHost::InstanceHost(std::shared_ptr<ModuleLibrary> library, InstanceConfig config, HostServices services)
    : library_(std::move(library)), config_(std::move(config)), services_(std::move(services)) {
    logger_ = make_instance_logger(config_.name, config_.log_level);
    if (!services_.state_dir.empty()) {
        instance_state_dir_ = (std::filesystem::path(services_.state_dir) / "instances" / config_.name).string();
        std::error_code ec;
        std::filesystem::create_directories(instance_state_dir_, ec);
        if (ec) logger_->warn("cannot create state directory {}: {}", instance_state_dir_, ec.message());
    }
    api_.struct_size = sizeof(pl_host_api);
    api_.host_ctx = this;
    api_.publish = &InstanceHost::api_publish;
    api_.log = &InstanceHost::api_log;
    api_.set_health = &InstanceHost::api_set_health;
    api_.count = &InstanceHost::api_count;
    api_.timer_start = &InstanceHost::api_timer_start;
    api_.timer_cancel = &InstanceHost::api_timer_cancel;
    api_.state_dir = instance_state_dir_.c_str();
    api_.invoke = &InstanceHost::api_invoke;
    api_.burst_begin = [](void*) { DeliveryEngine::burst_begin(); };
    api_.burst_end = [](void*) { DeliveryEngine::burst_end(); };
    api_.coalesce_us = services_.coalesce_us;
    api_.coalesce_configured = services_.coalesce_configured ? 1 : 0;
    health_.since_ns = now_ns();
}

InstanceHost::~InstanceHost() {
    stop();
    if (instance_) library_->descriptor().destroy(instance_);
}

bool InstanceHost::create(std::string& error_key, std::string& error) {
    char key_buf[256] = {0};
    char msg_buf[1024] = {0};
    pl_create_args args{};
    args.struct_size = sizeof(args);
    args.name = to_pl(config_.name);
    args.config_json = to_pl(config_.config_json);
    args.host = &api_;
    args.error_key = key_buf;
    args.error_key_capacity = sizeof key_buf;
    args.error_message = msg_buf;
    args.error_message_capacity = sizeof msg_buf;
    int32_t status = library_->descriptor().create(&args, &instance_);
    if (status != PL_OK || !instance_) {
        instance_ = nullptr;
        error_key = key_buf;
        error = mask_secrets(msg_buf[0] ? msg_buf : "the module refused the configuration");
        return false;
    }
    return true;
}

bool InstanceHost::start() {
    if (!instance_ || running_) return running_;
    int32_t status = library_->descriptor().start(instance_);
    running_ = status == PL_OK;
    if (!running_) {
        std::lock_guard lock(mutex_);
        health_.state = "failed";
        health_.last_error = "start failed (" + std::string(status_name(status)) + ")";
    }
    return running_;
}

void InstanceHost::stop() {
    if (instance_ && running_) {
        library_->descriptor().stop(instance_);
        running_ = false;
    }
}

void InstanceHost::invoke(const std::string& action, const std::string& params_json, const Event* event, Done done,
                          bool more_follows) {
    auto* pending = new PendingCall{std::move(done)};
    call_module(action, params_json, event, &PendingCall::complete, pending, more_follows);
}

void InstanceHost::deliver(const Job& job, SinkTarget::Done done, bool more_follows) {
    static const std::string kDeliver = "deliver";
    // Owned by a shared_ptr in the daemon (a reference count, no allocation); a
    // host owned otherwise (tests) is kept alive by its owner.
    auto* pending = new PendingDelivery{weak_from_this().lock(), &delivered_, &delivery_errors_, std::move(done)};
    call_module(job.action.empty() ? kDeliver : job.action, job.params_json, job.event.get(),
                &PendingDelivery::complete, pending, more_follows);
}

// Hands a call to the module; done(done_ctx, ...) runs exactly once, here when
// the instance cannot take it, else when the module answers.
void InstanceHost::call_module(const std::string& action, const std::string& params_json, const Event* event,
                               pl_completion_fn done, void* done_ctx, bool more_follows) {
    if (!instance_) {
        const std::string why = "instance '" + config_.name + "' is not running";
        done(done_ctx, PL_ERR_INTERNAL, to_pl(why));
        return;
    }
    if (!running_) {
        // The outbox opens before the instances start (a backlog waits for them), and a
        // module started first may already run this one's actions: ask them to come back.
        const std::string why = "instance '" + config_.name + "' is not started";
        done(done_ctx, PL_ERR_RETRY, to_pl(why));
        return;
    }
    pl_invoke_args args{};
    args.struct_size = sizeof(args);
    args.action = to_pl(action);
    args.params_json = to_pl(params_json.empty() ? std::string_view("{}") : std::string_view(params_json));
    std::optional<EventView> view;
    if (event) {
        view.emplace(*event);
        args.event = view->get();
    }
    args.done = done;
    args.done_ctx = done_ctx;
    args.more_follows = more_follows ? 1 : 0;
    library_->descriptor().invoke(instance_, &args);
}

uint32_t InstanceHost::max_inflight() const {
    uint32_t n = library_->descriptor().max_inflight;
    return n == 0 ? 1 : n;
}

bool InstanceHost::has_action(std::string_view action) const {
    for (const auto& a : library_->schema().actions)
        if (a == action) return true;
    return false;
}

InstanceHealth InstanceHost::health() const {
    std::lock_guard lock(mutex_);
    return health_;
}

std::map<std::string, int64_t> InstanceHost::counters() const { return counters_.snapshot(); }

void InstanceHost::log(int level, std::string_view message) {
    auto lvl = spdlog::level::info;
    switch (level) {
    case PL_LOG_TRACE: lvl = spdlog::level::trace; break;
    case PL_LOG_DEBUG: lvl = spdlog::level::debug; break;
    case PL_LOG_INFO: lvl = spdlog::level::info; break;
    case PL_LOG_WARN: lvl = spdlog::level::warn; break;
    default: lvl = spdlog::level::err; break;
    }
    if (lvl >= spdlog::level::err) {
        std::lock_guard lock(mutex_);
        health_.last_error = mask_secrets(std::string(message));
    }
    logger_->log(lvl, "{}", message);
}

int32_t InstanceHost::api_publish(void* ctx, const pl_event* event) {
    auto* self = static_cast<InstanceHost*>(ctx);
    if (!event) return PL_ERR_INVALID;
    auto e = std::make_shared<Event>();
    copy_from_pl(*event, *e); // in place: no Event moved into the block
    e->source = self->config_.name;
    e->module = self->config_.module;
    e->received_ns = now_ns();
    if (e->time_ns == 0) e->time_ns = e->received_ns;
    if (e->type.empty()) e->type = "other";
    e->id = 0; // the bus numbers it
    self->published_.fetch_add(1, std::memory_order_relaxed);
    self->services_.publish(std::move(e));
    return PL_OK;
}

void InstanceHost::api_log(void* ctx, int32_t level, pl_str message) {
    static_cast<InstanceHost*>(ctx)->log(level, from_pl(message));
}

void InstanceHost::api_set_health(void* ctx, pl_str state, pl_str detail, pl_str info) {
    auto* self = static_cast<InstanceHost*>(ctx);
    std::string new_state(from_pl(state));
    std::string new_detail = mask_secrets(std::string(from_pl(detail)));
    bool changed;
    DeviceIdentity identity;
    {
        std::lock_guard lock(self->mutex_);
        changed = self->health_.state != new_state;
        self->health_.state = new_state;
        self->health_.detail = new_detail;
        if (changed) self->health_.since_ns = now_ns();
        if (info.size) {
            self->health_.info_json = std::string(from_pl(info));
            // A model or serial learnt after the state settled is news too. A key the
            // info leaves out keeps its value: a device does not lose its serial.
            for (auto& [key, value] : identity_from_info(self->health_.info_json)) {
                auto& known = self->health_.identity[key];
                changed = changed || known != value;
                known = value;
            }
        }
        identity = self->health_.identity;
        if (!is_good_health(new_state) && !new_detail.empty()) self->health_.last_error = new_detail;
    }
    if (!changed) return;
    self->logger_->info("health: {}{}{}", new_state, new_detail.empty() ? "" : ": ", new_detail);
    // Health changes are events too: a route can keep a Jeedom "Heartbeat" command current.
    auto e = std::make_shared<Event>();
    e->source = self->config_.name;
    e->module = self->config_.module;
    e->type = "device";
    e->code = new_state;
    e->state = is_good_health(new_state) ? State::start : State::stop;
    e->received_ns = e->time_ns = now_ns();
    if (!new_detail.empty()) e->attrs["detail"] = new_detail;
    for (auto& [key, value] : identity) e->attrs[key] = value;
    self->services_.publish(std::move(e));
}

void InstanceHost::api_count(void* ctx, pl_str name, int64_t delta) {
    static_cast<InstanceHost*>(ctx)->counters_.add(from_pl(name), delta);
}

uint64_t InstanceHost::api_timer_start(void* ctx, int64_t delay_ms, pl_timer_fn fn, void* timer_ctx) {
    auto* self = static_cast<InstanceHost*>(ctx);
    if (!self->services_.timers || !fn) return 0;
    return self->services_.timers->start(std::chrono::milliseconds(delay_ms), [fn, timer_ctx] { fn(timer_ctx); });
}

void InstanceHost::api_timer_cancel(void* ctx, uint64_t id) {
    auto* self = static_cast<InstanceHost*>(ctx);
    if (self->services_.timers) self->services_.timers->cancel(id);
}

void InstanceHost::api_invoke(void* ctx, pl_str instance, pl_str action, pl_str params, pl_completion_fn done,
                              void* done_ctx) {
    auto* self = static_cast<InstanceHost*>(ctx);
    auto finish = [done, done_ctx](int32_t status, const std::string& result) {
        done(done_ctx, status, pl_str{result.data(), result.size()});
    };
    if (!self->services_.invoke_action) {
        finish(PL_ERR_INTERNAL, "this daemon does not let modules run actions");
        return;
    }
    std::string target(instance.data ? std::string(instance.data, instance.size) : std::string());
    std::string name(action.data ? std::string(action.data, action.size) : std::string());
    std::string params_json(params.data ? std::string(params.data, params.size) : std::string("{}"));
    self->logger_->debug("runs action {} of instance {}", name, target);
    self->services_.invoke_action(target, name, std::move(params_json),
                                  [finish](int32_t status, std::string result) { finish(status, result); });
}

} // namespace passerelle::kernel
