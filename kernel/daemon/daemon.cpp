#include "daemon/daemon.hpp"

#include "daemon/check.hpp"
#include "daemon/sd_notify.hpp"
#include "delivery/retry_policy.hpp"

#include <passerelle/event_json.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <set>
#include <sstream>

namespace passerelle::kernel {
namespace {

constexpr std::chrono::milliseconds kDrainGrace{2000};

// Delivery logs go to the sink's own logger (or "outbox"), with the daemon's masking.
DeliveryLog delivery_log(const std::string& name = "outbox") {
    auto logger = make_instance_logger(name, "");
    return [logger](int level, std::string_view msg) {
        auto lvl = level >= PL_LOG_ERROR ? spdlog::level::err
                   : level == PL_LOG_WARN ? spdlog::level::warn
                   : level == PL_LOG_INFO ? spdlog::level::info
                                          : spdlog::level::debug;
        logger->log(lvl, "{}", msg);
    };
}

bool is_good(std::string_view state) { return state == "ok" || state == "connected" || state == "registered"; }

void print_issues(const std::vector<ConfigIssue>& issues) {
    for (const auto& issue : issues) spdlog::error("{}", issue.format());
}

} // namespace

ModuleSet load_modules_for(const DaemonConfig& daemon, bool log_refusals) {
    std::vector<std::string> dirs = daemon.module_dirs;
    if (dirs.empty()) dirs.push_back(default_module_dir());
    ModuleSet set = load_modules(dirs);
    if (log_refusals) {
        for (const auto& r : set.refused) spdlog::warn("refusing module file {}: {}", r.path, r.reason);
    }
    return set;
}

// Forwards deliveries to whichever instance currently has the sink's name.
class SinkProxy final : public SinkTarget {
public:
    SinkProxy(std::string name, uint32_t max_inflight) : name_(std::move(name)), max_inflight_(max_inflight) {}
    void set_host(std::shared_ptr<InstanceHost> host) {
        std::lock_guard lock(mutex_);
        host_ = std::move(host);
    }
    void deliver(const Job& job, Done done, bool more_follows) override {
        std::shared_ptr<InstanceHost> host;
        {
            std::lock_guard lock(mutex_);
            host = host_;
        }
        if (!host || !host->running()) {
            done(kStatusSinkNotRunning, "instance '" + name_ + "' is not running");
            return;
        }
        host->deliver(job, std::move(done), more_follows); // it stays alive until it answers

    }
    const std::string& sink_name() const override { return name_; }
    uint32_t max_inflight() const override { return max_inflight_; }

private:
    std::mutex mutex_;
    std::shared_ptr<InstanceHost> host_;
    std::string name_;
    uint32_t max_inflight_;
};

Daemon::Daemon(DaemonOptions options) : options_(std::move(options)) {}

Daemon::~Daemon() { shutdown(); }

std::vector<std::string> Daemon::sink_names(const Config& cfg) const {
    std::set<std::string> names;
    for (const auto& r : cfg.routes) names.insert(r.to);
    return {names.begin(), names.end()};
}

bool Daemon::build_instances(const Config& cfg, const std::vector<std::string>& names,
                             std::map<std::string, std::shared_ptr<InstanceHost>>& out,
                             std::vector<ConfigIssue>& issues) {
    for (const auto& name : names) {
        const InstanceConfig* inst = cfg.find_instance(name);
        if (!inst) continue;
        auto lib = modules_.by_name.at(inst->module);
        HostServices services;
        services.publish = [this](std::shared_ptr<Event> e) { bus_->publish(std::move(e)); };
        services.timers = timers_.get();
        services.state_dir = cfg.daemon.state_dir;
        services.coalesce_us = cfg.daemon.coalesce_ms * 1000;
        services.coalesce_configured = cfg.daemon.coalesce_configured;
        services.invoke_action = [this](const std::string& instance, const std::string& action,
                                        std::string params, std::function<void(int32_t, std::string)> done) {
            invoke_action(instance, action, std::move(params), std::move(done));
        };
        auto host = std::make_shared<InstanceHost>(lib, *inst, services);
        std::string key, error;
        if (!host->create(key, error)) {
            issues.push_back(module_refusal(*inst, key, error));
            continue;
        }
        out.emplace(name, std::move(host));
    }
    return issues.empty();
}

Daemon::Sink Daemon::open_sink(const std::shared_ptr<InstanceHost>& host) {
    Sink sink;
    sink.proxy = std::make_shared<SinkProxy>(host->name(), host->max_inflight());
    sink.proxy->set_host(host);
    QueueOptions options;
    options.log = delivery_log(host->name());
    if (const InstanceConfig* inst = config_.find_instance(host->name())) {
        if (inst->outbox_max_events) options.max_events = inst->outbox_max_events;
        if (inst->outbox_max_bytes) options.max_bytes = inst->outbox_max_bytes;
        if (inst->retry_max_ms) {
            options.retry_max = std::chrono::milliseconds(inst->retry_max_ms);
            options.retry_base = std::min(options.retry_base, options.retry_max);
        }
        sink.durable = inst->outbox;
    }
    // `outbox = false`: the same delivery engine (order, window, retries, bounds)
    // without the disk, for sinks whose own output is the durable record.
    std::unique_ptr<SinkQueue> queue =
        sink.durable ? outbox_->open_queue(*sink.proxy, options) : make_memory_sink_queue(*sink.proxy, options);
    // The queue keeps its proxy alive: an old topology may still hold the queue after a reload.
    sink.queue = std::shared_ptr<SinkQueue>(queue.release(), [proxy = sink.proxy](SinkQueue* queue) { delete queue; });
    return sink;
}

void Daemon::update_sinks(const Config& cfg) {
    std::vector<std::string> wanted = sink_names(cfg);
    for (auto it = sinks_.begin(); it != sinks_.end();) {
        auto inst = instances_.find(it->first);
        const InstanceConfig* ic = cfg.find_instance(it->first);
        bool keep = inst != instances_.end() && std::find(wanted.begin(), wanted.end(), it->first) != wanted.end() &&
                    ic && ic->outbox == it->second.durable; // a switch of `outbox` opens the other kind of queue
        if (keep) {
            it->second.proxy->set_host(inst->second.host);
            ++it;
        } else {
            it->second.queue->close(kDrainGrace);
            it = sinks_.erase(it);
        }
    }
    for (const auto& name : wanted) {
        auto inst = instances_.find(name);
        if (inst != instances_.end() && !sinks_.count(name)) sinks_.emplace(name, open_sink(inst->second.host));
    }
}

void Daemon::warn_orphan_outboxes() {
    if (!outbox_ || !outbox_->durable()) return;
    std::set<std::string, std::less<>> configured;
    // A sink with `outbox = false` no longer reads its rows: they are orphans too.
    for (const auto& inst : config_.instances)
        if (inst.outbox) configured.insert(inst.name);
    try {
        for (const auto& orphan : outbox_->orphans(configured)) {
            if (config_.find_instance(orphan.sink))
                spdlog::warn("outbox for '{}' holds {} events from a run where it used the outbox; with outbox = false "
                             "they are not delivered: set outbox = true to deliver them, or drop them with "
                             "`passerelle outbox drop {}`",
                             orphan.sink, orphan.events, orphan.sink);
            else
                spdlog::warn("{}", orphan_message(orphan));
        }
    } catch (const std::exception& e) {
        spdlog::warn("outbox: cannot list backlogs: {}", e.what());
    }
}

std::shared_ptr<Topology> Daemon::make_topology(const Config& cfg) {
    auto topo = std::make_shared<Topology>();
    topo->router = make_router(cfg.routes);
    for (const auto& [name, sink] : sinks_) topo->sinks.emplace(name, sink.queue);
    return topo;
}

int Daemon::start() {
    std::vector<ConfigIssue> issues;
    DaemonConfig daemon = read_daemon_section(options_.config_path, issues);
    if (!issues.empty()) {
        print_issues(issues);
        return 2;
    }
    modules_ = load_modules_for(daemon, true);
    ConfigResult result = load_config(options_.config_path, [this](std::string_view m) { return modules_.schema(m); });
    if (!result.config) {
        print_issues(result.issues);
        spdlog::error("{}: {} configuration error(s); fix them and start again (`passerelle check -c {}`)",
                      options_.config_path, result.issues.size(), options_.config_path);
        return 2;
    }
    config_ = std::move(*result.config);
    spdlog::default_logger()->set_level(spdlog::level::from_str(config_.daemon.log_level));
    std::vector<std::string> secrets;
    for (const auto& inst : config_.instances)
        secrets.insert(secrets.end(), inst.secret_values.begin(), inst.secret_values.end());
    if (!config_.daemon.api.token.empty()) secrets.push_back(config_.daemon.api.token);
    set_log_secrets(secrets);

    std::error_code ec;
    std::filesystem::create_directories(config_.daemon.state_dir, ec);
    if (ec) {
        spdlog::error("state_dir {} cannot be created: {}; set [daemon] state_dir to a writable directory",
                      config_.daemon.state_dir, ec.message());
        return 2;
    }
    timers_ = std::make_unique<TimerService>();
    OutboxOptions outbox_options;
    outbox_options.state_dir = config_.daemon.state_dir;
    outbox_options.log = delivery_log();
    outbox_ = OutboxStore::open(outbox_options);
    if (!outbox_->durable())
        spdlog::error("outbox: {}", outbox_->error());
    ids_ = SequenceStore::open(config_.daemon.state_dir, delivery_log());
    bus_ = std::make_unique<Bus>([ids = ids_.get()] { return ids->next(); });

    std::vector<std::string> names;
    for (const auto& inst : config_.instances) names.push_back(inst.name);
    std::map<std::string, std::shared_ptr<InstanceHost>> hosts;
    if (!build_instances(config_, names, hosts, issues)) {
        print_issues(issues);
        return 2;
    }
    {
        std::unique_lock lock(instances_mutex_);
        for (auto& [name, host] : hosts) instances_.emplace(name, Running{host});
        update_sinks(config_);
        bus_->set_topology(make_topology(config_));
    }
    // Sinks first: a source's first events then find their sinks running.
    std::vector<std::string> order = sink_names(config_);
    for (auto& [name, r] : instances_)
        if (std::find(order.begin(), order.end(), name) == order.end()) order.push_back(name);
    for (const auto& name : order) {
        auto it = instances_.find(name);
        if (it == instances_.end()) continue;
        if (!it->second.host->start()) spdlog::error("instance '{}' failed to start; the others keep running", name);
    }
    warn_orphan_outboxes();

    if (config_.daemon.api_enabled) {
        ApiOptions api;
        api.listen = config_.daemon.api.listen;
        api.token = config_.daemon.api.token;
        api.action_timeout = std::chrono::milliseconds(config_.daemon.api.action_timeout_ms);
        try {
            api_ = start_api_server(api, *this);
        } catch (const std::exception& e) {
            spdlog::error("control API: {}", e.what());
            return 2;
        }
    }
    spdlog::info("passerelle running: {} module(s), {} instance(s), {} route(s), state in {}", modules_.by_name.size(),
                 instances_.size(), config_.routes.size(), config_.daemon.state_dir);
    return 0;
}

int Daemon::run() {
    int rc = start();
    if (rc != 0) {
        shutdown();
        return rc;
    }
    sd_notify("READY=1");
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) continue;
        if (sig == SIGHUP) {
            sd_notify("RELOADING=1");
            reload();
            sd_notify("READY=1");
            continue;
        }
        spdlog::info("received {}, stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        sd_notify("STOPPING=1");
        break;
    }
    shutdown();
    spdlog::info("stopped cleanly");
    return 0;
}

bool Daemon::reload() {
    spdlog::info("SIGHUP: reloading {}", options_.config_path);
    ConfigResult result = load_config(options_.config_path, [this](std::string_view m) { return modules_.schema(m); });
    if (!result.config) {
        print_issues(result.issues);
        spdlog::error("reload refused: {} error(s) in {}; the running configuration is kept", result.issues.size(),
                      options_.config_path);
        return false;
    }
    Config next = std::move(*result.config);
    std::vector<std::string> to_create;
    std::vector<std::string> to_remove;
    for (const auto& inst : next.instances) {
        const InstanceConfig* old = config_.find_instance(inst.name);
        if (!old || old->fingerprint() != inst.fingerprint()) to_create.push_back(inst.name);
    }
    for (const auto& inst : config_.instances) {
        const InstanceConfig* now = next.find_instance(inst.name);
        if (!now || now->fingerprint() != inst.fingerprint()) to_remove.push_back(inst.name);
    }
    std::vector<ConfigIssue> issues;
    std::map<std::string, std::shared_ptr<InstanceHost>> created;
    if (!build_instances(next, to_create, created, issues)) {
        print_issues(issues);
        spdlog::error("reload refused: the running configuration is kept");
        return false;
    }
    // Replaced instances stop first (a sink's queue keeps its backlog meanwhile and
    // retries into the gap), then the new ones take their names and start.
    std::map<std::string, Running> retired;
    {
        std::unique_lock lock(instances_mutex_);
        for (const auto& name : to_remove) {
            auto it = instances_.find(name);
            if (it == instances_.end()) continue;
            if (auto sink = sinks_.find(name); sink != sinks_.end()) sink->second.proxy->set_host(nullptr);
            retired.emplace(name, std::move(it->second));
            instances_.erase(it);
        }
    }
    for (auto& [name, r] : retired) r.host->stop();
    retired.clear();
    {
        std::unique_lock lock(instances_mutex_);
        for (auto& [name, host] : created) instances_.emplace(name, Running{host});
        config_ = std::move(next);
        update_sinks(config_);
        bus_->set_topology(make_topology(config_));
    }
    warn_orphan_outboxes();
    for (auto& [name, host] : created) {
        if (!host->start()) spdlog::error("instance '{}' failed to start", name);
    }
    spdlog::info("reloaded: {} instance(s) restarted or added, {} removed or replaced", created.size(), to_remove.size());
    return true;
}

void Daemon::shutdown() {
    if (api_) {
        api_->stop();
        api_.reset();
    }
    std::map<std::string, Running> all;
    std::map<std::string, Sink> sinks;
    {
        std::unique_lock lock(instances_mutex_);
        all.swap(instances_);
        sinks.swap(sinks_);
    }
    // Sources first, so what they publish while stopping is still routed; then sinks.
    for (auto& [name, r] : all)
        if (!sinks.count(name)) r.host->stop();
    if (bus_) bus_->drain(kDrainGrace);
    for (auto& [name, sink] : sinks) sink.queue->close(kDrainGrace);
    for (auto& [name, r] : all) r.host->stop();
    if (bus_) bus_->set_topology(nullptr);
    sinks.clear();
    all.clear();
    bus_.reset();
    if (outbox_) outbox_->flush();
    outbox_.reset();
    ids_.reset();
    timers_.reset();
}

std::string Daemon::metrics_text() {
    std::ostringstream out;
    auto label = [](const std::string& v) {
        std::string s;
        for (char c : v) {
            if (c == '"' || c == '\\') s.push_back('\\');
            if (c == '\n') { s += "\\n"; continue; }
            s.push_back(c);
        }
        return s;
    };
    out << "# HELP passerelle_bus_events_total Events published on the bus.\n# TYPE passerelle_bus_events_total counter\n";
    out << "passerelle_bus_events_total " << (bus_ ? bus_->published() : 0) << "\n";
    out << "# HELP passerelle_bus_routed_total Deliveries handed to sinks.\n# TYPE passerelle_bus_routed_total counter\n";
    out << "passerelle_bus_routed_total " << (bus_ ? bus_->routed() : 0) << "\n";
    out << "# HELP passerelle_bus_unrouted_total Events no route matched.\n# TYPE passerelle_bus_unrouted_total counter\n";
    out << "passerelle_bus_unrouted_total " << (bus_ ? bus_->unrouted() : 0) << "\n";
    out << "# HELP passerelle_route_matches_total Events matched per route (0-based index).\n"
           "# TYPE passerelle_route_matches_total counter\n";
    for (size_t i = 0; i < config_.routes.size(); ++i)
        out << "passerelle_route_matches_total{route=\"" << i << "\",to=\"" << label(config_.routes[i].to) << "\"} "
            << (bus_ ? bus_->route_matches(i) : 0) << "\n";

    std::shared_lock lock(instances_mutex_);
    out << "# HELP passerelle_events_in_total Events published by an instance.\n# TYPE passerelle_events_in_total counter\n";
    for (const auto& [name, r] : instances_)
        out << "passerelle_events_in_total{instance=\"" << label(name) << "\"} " << r.host->events_published() << "\n";
    out << "# HELP passerelle_events_out_total Deliveries an instance acknowledged.\n# TYPE passerelle_events_out_total counter\n";
    for (const auto& [name, r] : instances_)
        out << "passerelle_events_out_total{instance=\"" << label(name) << "\"} " << r.host->events_delivered() << "\n";
    out << "# HELP passerelle_errors_total Deliveries or actions that failed.\n# TYPE passerelle_errors_total counter\n";
    for (const auto& [name, r] : instances_)
        out << "passerelle_errors_total{instance=\"" << label(name) << "\"} " << r.host->delivery_errors() << "\n";
    out << "# HELP passerelle_instance_up 1 when the instance reports a healthy state.\n# TYPE passerelle_instance_up gauge\n";
    for (const auto& [name, r] : instances_) {
        auto h = r.host->health();
        out << "passerelle_instance_up{instance=\"" << label(name) << "\",module=\"" << label(r.host->module_name())
            << "\",state=\"" << label(h.state) << "\"} " << (is_good(h.state) ? 1 : 0) << "\n";
    }
    // One family after the other (the text format wants each family's samples together).
    struct Family {
        const char* name;
        const char* type;
        const char* help;
        std::ostringstream samples;
    };
    Family families[] = {
        {"passerelle_outbox_depth", "gauge", "Deliveries waiting per sink.", {}},
        {"passerelle_outbox_oldest_age_seconds", "gauge", "Age of the oldest waiting delivery per sink.", {}},
        {"passerelle_outbox_delivered_total", "counter", "Deliveries the sink acknowledged.", {}},
        {"passerelle_outbox_retried_total", "counter", "Delivery attempts that will be retried.", {}},
        {"passerelle_outbox_given_up_total", "counter", "Deliveries given up (permanent error or max_age).", {}},
        {"passerelle_outbox_dropped_total", "counter", "Deliveries dropped by the outbox bounds.", {}},
        {"passerelle_outbox_uncommitted", "gauge", "Deliveries accepted but not on disk yet (next group commit).", {}},
    };
    for (const auto& [name, sink] : sinks_) {
        auto s = sink.queue->stats();
        std::string l = "{instance=\""; // built in steps: GCC 12 warns falsely (-Wrestrict) on a + chain
        l += label(name);
        l += "\"} ";
        families[0].samples << families[0].name << l << s.depth << "\n";
        families[1].samples << families[1].name << l << (s.oldest_age_ms / 1000.0) << "\n";
        families[2].samples << families[2].name << l << s.delivered << "\n";
        families[3].samples << families[3].name << l << s.retried << "\n";
        families[4].samples << families[4].name << l << s.given_up << "\n";
        families[5].samples << families[5].name << l << s.dropped << "\n";
        families[6].samples << families[6].name << l << s.uncommitted << "\n";
    }
    for (auto& f : families)
        out << "# HELP " << f.name << " " << f.help << "\n# TYPE " << f.name << " " << f.type << "\n" << f.samples.str();
    if (outbox_) {
        out << "# HELP passerelle_outbox_commits_total Outbox transactions (group commit: one per batch of events).\n"
               "# TYPE passerelle_outbox_commits_total counter\npasserelle_outbox_commits_total "
            << outbox_->commits() << "\n";
        out << "# HELP passerelle_outbox_durable 1 when routed events are on disk, 0 when kept in memory only.\n"
               "# TYPE passerelle_outbox_durable gauge\npasserelle_outbox_durable "
            << (outbox_->durable() ? 1 : 0) << "\n";
    }
    // Module counters (reconnects, parse_errors, ...) become passerelle_module_<name>_total:
    // one family per counter name, with its TYPE line, holding every instance's sample
    // (the text format wants a family's samples together, not instance by instance).
    std::map<std::string, std::string> module_families; // counter -> its sample lines
    for (const auto& [name, r] : instances_) {
        for (const auto& [counter, value] : r.host->counters()) {
            bool ok = !counter.empty();
            for (char c : counter) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
            if (!ok) continue;
            std::string& lines = module_families[counter];
            lines += "passerelle_module_";
            lines += counter;
            lines += "_total{instance=\"";
            lines += label(name);
            lines += "\"} ";
            lines += std::to_string(value);
            lines += "\n";
        }
    }
    for (const auto& [counter, lines] : module_families)
        out << "# HELP passerelle_module_" << counter << "_total Counted by the module: " << counter
            << ".\n# TYPE passerelle_module_" << counter << "_total counter\n" << lines;
    return out.str();
}

std::string Daemon::instances_json() {
    std::string out = "{\"instances\":[";
    std::shared_lock lock(instances_mutex_);
    bool first = true;
    for (const auto& [name, r] : instances_) {
        if (!first) out.push_back(',');
        first = false;
        auto h = r.host->health();
        out += "{\"name\":";
        append_json_string(out, name);
        out += ",\"module\":";
        append_json_string(out, r.host->module_name());
        out += ",\"health\":";
        append_json_string(out, h.state);
        out += ",\"detail\":";
        append_json_string(out, h.detail);
        out += ",\"since\":\"" + format_rfc3339(h.since_ns) + "\"";
        out += ",\"last_error\":";
        append_json_string(out, h.last_error);
        out += ",\"info\":" + (h.info_json.empty() ? std::string("{}") : h.info_json);
        out += ",\"events_in\":" + std::to_string(r.host->events_published());
        out += ",\"events_out\":" + std::to_string(r.host->events_delivered());
        out += ",\"counters\":{";
        bool first_counter = true;
        for (const auto& [counter, value] : r.host->counters()) {
            if (!first_counter) out.push_back(',');
            first_counter = false;
            append_json_string(out, counter);
            out += ':'; // not ":" + to_string(...): GCC 12 warns falsely (-Wrestrict) on that
            out += std::to_string(value);
        }
        out += "}";
        if (auto sink = sinks_.find(name); sink != sinks_.end()) {
            auto s = sink->second.queue->stats();
            out += ",\"sink\":{\"health\":";
            append_json_string(out, s.health);
            out += ",\"depth\":" + std::to_string(s.depth) + ",\"uncommitted\":" + std::to_string(s.uncommitted) +
                   ",\"oldest_age_ms\":" + std::to_string(s.oldest_age_ms) +
                   ",\"delivered\":" + std::to_string(s.delivered) + ",\"retried\":" + std::to_string(s.retried) +
                   ",\"given_up\":" + std::to_string(s.given_up) + ",\"dropped\":" + std::to_string(s.dropped) +
                   ",\"last_error\":";
            append_json_string(out, s.last_error);
            out += "}";
        }
        out += "}";
    }
    out += "]}";
    return out;
}

void Daemon::invoke_action(const std::string& instance, const std::string& action, std::string params_json,
                           ActionDone done) {
    std::shared_ptr<InstanceHost> host;
    {
        std::shared_lock lock(instances_mutex_);
        auto it = instances_.find(instance);
        if (it != instances_.end()) host = it->second.host;
    }
    if (!host) {
        done(PL_ERR_UNKNOWN_ACTION, "no instance named '" + instance + "'");
        return;
    }
    if (!host->has_action(action)) {
        std::string known;
        for (const auto& a : host->library().schema().actions) known += (known.empty() ? "" : ", ") + a;
        done(PL_ERR_UNKNOWN_ACTION, "instance '" + instance + "' (module " + host->module_name() +
                                        ") has no action '" + action + "'" +
                                        (known.empty() ? std::string() : "; its actions: " + known));
        return;
    }
    host->invoke(action, params_json, nullptr, [host, done = std::move(done)](int32_t status, std::string result) {
        done(status, std::move(result));
    });
}

uint64_t Daemon::subscribe(EventSink sink) { return bus_->subscribe(std::move(sink)); }

void Daemon::unsubscribe(uint64_t id) {
    if (bus_) bus_->unsubscribe(id);
}

} // namespace passerelle::kernel
