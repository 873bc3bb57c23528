// The kernel's side of one module instance: it implements the host API the
// instance calls (publish, log, health, counters, timers), and it is the
// SinkTarget the delivery queue hands routed events to.
#pragma once

#include "config/config.hpp"
#include "core/counter_table.hpp"
#include "core/module_loader.hpp"
#include "delivery/sink_queue.hpp"

#include <passerelle/abi.h>
#include <passerelle/event.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace spdlog { class logger; }

namespace passerelle::kernel {

class TimerService;

struct HostServices {
    std::function<void(std::shared_ptr<Event>)> publish; // into the bus
    TimerService* timers = nullptr;
    std::string state_dir; // the daemon's; each instance gets <state_dir>/instances/<name>
    int64_t coalesce_us = 0; // [daemon] coalesce, passed to the module's executor
    bool coalesce_configured = false; // set by the config: overrides the modules' own defaults
    // Runs an action of any instance (the control API's path); for modules
    // that take commands from outside (MQTT, Jeedom listen).
    std::function<void(const std::string& instance, const std::string& action, std::string params_json,
                       std::function<void(int32_t, std::string)> done)>
        invoke_action;
};

// model, serial, firmware: what the module's health info says of the device.
using DeviceIdentity = std::map<std::string, std::string>;

struct InstanceHealth {
    std::string state = "starting";
    std::string detail;
    std::string info_json; // extra fields from the module (model, serial, ...)
    DeviceIdentity identity; // from every info_json so far, the latest value of each key
    std::string last_error;
    int64_t since_ns = 0;
};

class InstanceHost final : public SinkTarget, public std::enable_shared_from_this<InstanceHost> {
public:
    InstanceHost(std::shared_ptr<ModuleLibrary> library, InstanceConfig config, HostServices services);
    ~InstanceHost() override; // stops if running, then destroys the module instance

    InstanceHost(const InstanceHost&) = delete;
    InstanceHost& operator=(const InstanceHost&) = delete;

    // Creates the module instance from the config. On failure, `error_key`
    // (may be empty) and `error` say what is wrong.
    bool create(std::string& error_key, std::string& error);
    bool start();
    void stop();

    using Done = std::function<void(int32_t status, std::string result)>;
    // more_follows: pl_invoke_args.more_follows (another call comes right after).
    void invoke(const std::string& action, const std::string& params_json, const Event* event, Done done,
                bool more_follows = false);

    // SinkTarget
    void deliver(const Job& job, SinkTarget::Done done, bool more_follows) override;
    const std::string& sink_name() const override { return config_.name; }
    uint32_t max_inflight() const override;

    const InstanceConfig& config() const { return config_; }
    const std::string& name() const { return config_.name; }
    const std::string& module_name() const { return config_.module; }
    const ModuleLibrary& library() const { return *library_; }
    bool has_action(std::string_view action) const;
    bool running() const { return running_; }
    InstanceHealth health() const;
    std::map<std::string, int64_t> counters() const;
    uint64_t events_published() const { return published_.load(); }
    uint64_t events_delivered() const { return delivered_.load(); }
    uint64_t delivery_errors() const { return delivery_errors_.load(); }

private:
    void call_module(const std::string& action, const std::string& params_json, const Event* event,
                     pl_completion_fn done, void* done_ctx, bool more_follows);
    static int32_t api_publish(void* ctx, const pl_event* event);
    static void api_log(void* ctx, int32_t level, pl_str message);
    static void api_set_health(void* ctx, pl_str state, pl_str detail, pl_str info);
    static void api_count(void* ctx, pl_str name, int64_t delta);
    static uint64_t api_timer_start(void* ctx, int64_t delay_ms, pl_timer_fn fn, void* timer_ctx);
    static void api_timer_cancel(void* ctx, uint64_t id);
    static void api_invoke(void* ctx, pl_str instance, pl_str action, pl_str params, pl_completion_fn done,
                           void* done_ctx);

    void log(int level, std::string_view message);

    std::shared_ptr<ModuleLibrary> library_;
    InstanceConfig config_;
    HostServices services_;
    std::string instance_state_dir_;
    pl_host_api api_{};
    pl_instance* instance_ = nullptr;
    std::atomic<bool> running_{false}; // read by delivery and API threads
    std::shared_ptr<spdlog::logger> logger_;

    mutable std::mutex mutex_;
    InstanceHealth health_;
    CounterTable counters_; // a count takes no lock
    std::atomic<uint64_t> published_{0};
    std::atomic<uint64_t> delivered_{0};
    std::atomic<uint64_t> delivery_errors_{0};
};

} // namespace passerelle::kernel
