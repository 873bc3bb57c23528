// The daemon: loads modules and the config, builds instances, routes and
// sinks, serves the control API, and reloads on SIGHUP.
#pragma once

#include "api/api_server.hpp"
#include "config/config.hpp"
#include "core/bus.hpp"
#include "core/instance_host.hpp"
#include "core/logging.hpp"
#include "core/module_loader.hpp"
#include "core/timer_service.hpp"
#include "delivery/outbox.hpp"
#include "delivery/sequence_store.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

namespace passerelle::kernel {

struct DaemonOptions {
    std::string config_path;
    LogFormat log_format = LogFormat::text;
};

// Loads module dirs named in the config (or the default dir) and reports refusals.
ModuleSet load_modules_for(const DaemonConfig& daemon, bool log_refusals);

class Daemon final : public ApiBackend {
public:
    explicit Daemon(DaemonOptions options);
    ~Daemon() override;

    // Runs until SIGTERM/SIGINT. Returns the process exit code
    // (0 clean stop, 2 configuration error, 1 runtime failure).
    int run();

    // ApiBackend
    std::string metrics_text() override;
    std::string instances_json() override;
    void invoke_action(const std::string& instance, const std::string& action, std::string params_json,
                       ActionDone done) override;
    uint64_t subscribe(EventSink sink) override;
    void unsubscribe(uint64_t id) override;

private:
    struct Running {
        std::shared_ptr<InstanceHost> host;
    };
    // A sink's queue outlives the instance behind it: on reload the instance is
    // swapped inside the proxy and the queue (and its backlog) stays open.
    struct Sink {
        std::shared_ptr<class SinkProxy> proxy;
        std::shared_ptr<SinkQueue> queue;
        bool durable = true; // the SQLite outbox; false = memory queue (`outbox = false`)
    };

    int start();
    bool reload();
    void shutdown();
    // Creates (not starts) hosts for `cfg`'s instances; issues for refusals.
    bool build_instances(const Config& cfg, const std::vector<std::string>& names,
                         std::map<std::string, std::shared_ptr<InstanceHost>>& out, std::vector<ConfigIssue>& issues);
    Sink open_sink(const std::shared_ptr<InstanceHost>& host);
    void update_sinks(const Config& cfg); // opens, retargets and closes sinks to match cfg
    std::shared_ptr<Topology> make_topology(const Config& cfg);
    std::vector<std::string> sink_names(const Config& cfg) const;
    void warn_orphan_outboxes();

    DaemonOptions options_;
    ModuleSet modules_;
    Config config_;
    std::unique_ptr<TimerService> timers_;
    std::unique_ptr<OutboxStore> outbox_;
    std::unique_ptr<SequenceStore> ids_;
    std::unique_ptr<Bus> bus_;
    std::unique_ptr<ApiServer> api_;

    mutable std::shared_mutex instances_mutex_;
    std::map<std::string, Running> instances_;
    std::map<std::string, Sink> sinks_; // guarded by instances_mutex_
};

} // namespace passerelle::kernel
