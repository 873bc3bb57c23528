// Header-only C++ helpers for module authors. A module is one class deriving
// from passerelle::Instance plus one PL_DEFINE_MODULE(Class) line; this header
// writes the C descriptor, catches every exception at the boundary and runs
// the instance's handlers on the module's executor (one serial thread per
// loaded library unless the class names another executor_type). Optional
// declarations: max_inflight (a sink's window), max_coalesce (the longest its
// executor may linger to coalesce wake-ups, for modules that keep time),
// default_coalesce (how long it lingers unless [daemon] coalesce is set).
//
//   class Hello : public passerelle::Instance {
//   public:
//       static constexpr passerelle::ModuleInfo info{"hello", "1.0.0", "Says hello"};
//       static constexpr pl_key_decl keys[] = {
//           passerelle::key("greeting", PL_KEY_STRING, "hello", "What to say"),
//       };
//       static constexpr pl_action_decl actions[] = {
//           {"say", "text", "Publishes a greeting event"},
//       };
//       explicit Hello(const passerelle::Init& init) : Instance(init),
//           greeting_(init.config.string("greeting")) {}
//       void on_action(passerelle::Call& call) override { ... call.reply.ok(); }
//   };
//   PL_DEFINE_MODULE(Hello)
#pragma once

#include <passerelle/abi.h>
#include <passerelle/duration.hpp>
#include <passerelle/event.hpp>
#include <passerelle/thread_name.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace passerelle {

struct ModuleInfo {
    const char* name;
    const char* version;
    const char* description;
};

constexpr pl_key_decl key(const char* name, pl_key_type type, const char* default_value, const char* description,
                          uint32_t flags = 0) {
    return pl_key_decl{name, static_cast<int32_t>(type), flags, default_value, description};
}

// A config or params problem, tied to the key it is about. In the constructor it
// becomes a config error at that key's file:line:column; in an action, a 400.
struct ConfigError : std::runtime_error {
    std::string key;
    ConfigError(std::string key_path, const std::string& message)
        : std::runtime_error(message), key(std::move(key_path)) {}
};

// Typed, validating access to a JSON object: an instance's config or an
// action's params. Lenient where callers are: a query string sends "3" for 3.
class Fields {
public:
    // No fields is held as null, not as an empty object: an action without
    // params (a delivery, on every event) then allocates nothing for them.
    Fields() = default;
    explicit Fields(nlohmann::json j) : json_(std::move(j)) {
        if (!json_.is_object()) json_ = nullptr;
    }

    bool has(std::string_view k) const { return find(k) != nullptr; }
    // Always an object (the shared empty one when there are no fields).
    const nlohmann::json& json() const {
        static const nlohmann::json empty = nlohmann::json::object();
        return json_.is_null() ? empty : json_;
    }

    std::string string(std::string_view k, std::optional<std::string> def = std::nullopt) const {
        const auto* v = find(k);
        if (!v) return fallback(k, std::move(def));
        if (v->is_string()) return v->get<std::string>();
        if (v->is_number() || v->is_boolean()) return v->dump();
        throw ConfigError(std::string(k), "must be a string");
    }

    int64_t integer(std::string_view k, std::optional<int64_t> def = std::nullopt) const {
        const auto* v = find(k);
        if (!v) return fallback(k, def);
        if (v->is_number_integer()) return v->get<int64_t>();
        if (v->is_string()) {
            const auto& s = v->get_ref<const std::string&>();
            try {
                size_t used = 0;
                long long n = std::stoll(s, &used);
                if (used == s.size()) return n;
            } catch (...) {
            }
        }
        throw ConfigError(std::string(k), "must be an integer");
    }

    double number(std::string_view k, std::optional<double> def = std::nullopt) const {
        const auto* v = find(k);
        if (!v) return fallback(k, def);
        if (v->is_number()) return v->get<double>();
        if (v->is_string()) {
            try {
                size_t used = 0;
                double n = std::stod(v->get<std::string>(), &used);
                if (used == v->get_ref<const std::string&>().size()) return n;
            } catch (...) {
            }
        }
        throw ConfigError(std::string(k), "must be a number");
    }

    bool boolean(std::string_view k, std::optional<bool> def = std::nullopt) const {
        const auto* v = find(k);
        if (!v) return fallback(k, def);
        if (v->is_boolean()) return v->get<bool>();
        if (v->is_number_integer()) return v->get<int64_t>() != 0;
        if (v->is_string()) {
            const auto& s = v->get_ref<const std::string&>();
            if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
            if (s == "false" || s == "0" || s == "no" || s == "off") return false;
        }
        throw ConfigError(std::string(k), "must be true or false");
    }

    // Integers are milliseconds (what the kernel hands over for PL_KEY_DURATION);
    // strings are parsed ("5s", "250ms").
    std::chrono::milliseconds duration(std::string_view k,
                                       std::optional<std::chrono::milliseconds> def = std::nullopt) const {
        const auto* v = find(k);
        if (!v) return fallback(k, def);
        if (v->is_number_integer()) return std::chrono::milliseconds(v->get<int64_t>());
        if (v->is_string()) {
            if (auto ms = parse_duration_ms(v->get_ref<const std::string&>())) return std::chrono::milliseconds(*ms);
        }
        throw ConfigError(std::string(k), "must be a duration such as \"500ms\", \"5s\", \"2m\", \"1h\" or \"7d\"");
    }

    int64_t size(std::string_view k, std::optional<int64_t> def = std::nullopt) const {
        const auto* v = find(k);
        if (!v) return fallback(k, def);
        if (v->is_number_integer()) return v->get<int64_t>();
        if (v->is_string()) {
            if (auto b = parse_size_bytes(v->get_ref<const std::string&>())) return *b;
        }
        throw ConfigError(std::string(k), "must be a size such as 1048576, \"64KB\" or \"10MiB\"");
    }

    // An array of strings, or one comma-separated string (what a URL can carry).
    std::vector<std::string> list(std::string_view k, std::vector<std::string> def = {}) const {
        const auto* v = find(k);
        if (!v) return def;
        std::vector<std::string> out;
        if (v->is_array()) {
            for (const auto& item : *v) {
                if (!item.is_string()) throw ConfigError(std::string(k), "must be a list of strings");
                out.push_back(item.get<std::string>());
            }
            return out;
        }
        if (v->is_string()) {
            std::string_view s = v->get_ref<const std::string&>();
            while (!s.empty()) {
                size_t comma = s.find(',');
                std::string_view part = s.substr(0, comma);
                while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
                while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
                if (!part.empty()) out.emplace_back(part);
                if (comma == std::string_view::npos) break;
                s.remove_prefix(comma + 1);
            }
            return out;
        }
        throw ConfigError(std::string(k), "must be a list of strings");
    }

    // A table of scalar values, rendered as strings (channel names, headers...).
    std::map<std::string, std::string> table(std::string_view k) const {
        std::map<std::string, std::string> out;
        const auto* v = find(k);
        if (!v) return out;
        if (!v->is_object()) throw ConfigError(std::string(k), "must be a table");
        for (auto it = v->begin(); it != v->end(); ++it) {
            if (it.value().is_string()) out[it.key()] = it.value().get<std::string>();
            else if (it.value().is_primitive() && !it.value().is_null()) out[it.key()] = it.value().dump();
            else throw ConfigError(std::string(k) + "." + it.key(), "must be a string");
        }
        return out;
    }

private:
    const nlohmann::json* find(std::string_view k) const {
        if (json_.is_null()) return nullptr;
        auto it = json_.find(k);
        if (it == json_.end() || it->is_null()) return nullptr;
        return &*it;
    }
    template <class V>
    static V fallback(std::string_view k, std::optional<V> def) {
        if (def) return std::move(*def);
        throw ConfigError(std::string(k), "is required");
    }

    nlohmann::json json_;
};

// Where an instance's handlers run. Every handler of an instance runs on its
// executor, one at a time, so module code needs no locks of its own.
class Executor {
public:
    virtual ~Executor() = default;
    virtual void post(std::function<void()> fn) = 0;
    // A post the host says is followed at once by another one
    // (pl_invoke_args.more_follows): an executor may hold its wake-up for the
    // next post (WorkerThread does; the default posts at once).
    virtual void post_ahead(std::function<void()> fn) { post(std::move(fn)); }
    virtual bool running_in_this_thread() const = 0;
    virtual void name_thread(std::string_view /*name*/) {} // for top -H and perf
    // The host's burst calls (ABI 1.2), so the loop brackets each wake-up's work.
    void attach_host(const pl_host_api* api) {
        if (api && api->struct_size >= offsetof(pl_host_api, burst_end) + sizeof(api->burst_end) && api->burst_begin &&
            api->burst_end) {
            burst_begin_.store(api->burst_begin);
            burst_end_.store(api->burst_end);
        }
        if (api && api->struct_size >= offsetof(pl_host_api, coalesce_us) + sizeof(api->coalesce_us) &&
            api->coalesce_us >= 0) {
            int64_t us = api->coalesce_us;
            // A 1.3 host does not say whether the config chose: its value wins.
            const bool configured =
                api->struct_size < offsetof(pl_host_api, coalesce_configured) + sizeof(api->coalesce_configured) ||
                api->coalesce_configured != 0;
            if (!configured && preferred_us_.load() >= 0) us = preferred_us_.load();
            coalesce_us_.store(std::min(us, cap_us_.load()));
        }
    }
    // The module's own default (Module::default_coalesce), used unless the
    // config sets [daemon] coalesce. Called before attach_host.
    void prefer_coalesce(std::chrono::microseconds preferred) {
        preferred_us_.store(std::max<int64_t>(0, preferred.count()));
    }
    // A module whose handlers keep time (RTP paced every 20 ms) lingers at most
    // this long, whatever [daemon] coalesce says (Module::max_coalesce).
    void cap_coalesce(std::chrono::microseconds cap) {
        const int64_t us = std::max<int64_t>(0, cap.count());
        cap_us_.store(us);
        if (coalesce_us_.load() > us) coalesce_us_.store(us);
    }

    // How long a loop that ran out of work waits, unwoken, before it sleeps
    // for real (pl_host_api.coalesce_us, capped by cap_coalesce). A wake-up
    // costs ~10 us of CPU on a small VM, as much as handling the event; at
    // 5,000 events/s spread over 1,000 cameras that is one wake-up per event
    // unless they are coalesced.
    std::chrono::microseconds coalesce() const { return std::chrono::microseconds(coalesce_us_.load()); }

protected:
    // Brackets the handlers an executor runs for one wake-up (RAII).
    class Burst {
    public:
        explicit Burst(const Executor& ex) : end_(ex.burst_end_.load()) {
            if (auto begin = ex.burst_begin_.load(); begin && end_) begin(nullptr);
            else end_ = nullptr;
        }
        ~Burst() {
            if (end_) end_(nullptr);
        }
        Burst(const Burst&) = delete;
        Burst& operator=(const Burst&) = delete;

    private:
        void (*end_)(void*);
    };
    // Handlers run per burst at most: a flood must not hold events back for long.
    static constexpr int kMaxBurst = 64;

private:
    std::atomic<void (*)(void*)> burst_begin_{nullptr};
    std::atomic<void (*)(void*)> burst_end_{nullptr};
    std::atomic<int64_t> coalesce_us_{0};
    std::atomic<int64_t> cap_us_{INT64_MAX};
    std::atomic<int64_t> preferred_us_{-1}; // -1: none, the daemon's default applies
};

// The default executor: one thread with a queue, shared by the library's instances.
class WorkerThread final : public Executor {
public:
    WorkerThread() : thread_([this] { run(); }) {}
    ~WorkerThread() override {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        cv_.notify_one();
        if (thread_.joinable()) thread_.join();
    }
    void post(std::function<void()> fn) override {
        bool wake;
        {
            std::lock_guard lock(mutex_);
            queue_.push_back(std::move(fn));
            wake = asleep_; // a lingering worker comes back by itself
        }
        if (wake) cv_.notify_one();
    }
    void post_ahead(std::function<void()> fn) override {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(fn)); // the next post wakes the worker for both
    }
    bool running_in_this_thread() const override { return std::this_thread::get_id() == thread_.get_id(); }
    void name_thread(std::string_view name) override { set_thread_name(thread_, name); }

private:
    void run() {
        std::unique_lock lock(mutex_);
        bool lingered = false;
        for (;;) {
            if (queue_.empty()) {
                if (stopping_) return; // stopping and drained
                if (!lingered && coalesce().count() > 0) {
                    // Out of work: wait once for stragglers without being
                    // woken for each (post() sees !asleep_), then run them as
                    // one burst.
                    cv_.wait_for(lock, coalesce(), [&] { return stopping_; });
                    lingered = true;
                    continue;
                }
                asleep_ = true;
                cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
                asleep_ = false;
                lingered = false;
                continue;
            }
            lingered = false;
            // What was queued meanwhile runs as one burst, taken under one lock:
            // the posting thread takes this mutex for every post, so locking it
            // again around each handler made its cache line cross cores per event.
            for (int n = 0; n < kMaxBurst && !queue_.empty(); ++n) {
                batch_.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
            lock.unlock();
            {
                Burst burst(*this);
                for (auto& fn : batch_) fn(); // what they post queues behind, as before
            }
            batch_.clear(); // destroys the handlers (and what they hold) outside the lock
            lock.lock();
        }
    }

    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> queue_;
    std::vector<std::function<void()>> batch_; // the burst being run; only the worker touches it
    bool stopping_ = false;
    bool asleep_ = false; // waiting for a post(), not lingering
    std::thread thread_;
};

// Completion of an action or delivery. Copyable; the first answer wins, and a
// call nobody answered is answered "retry" when the last copy dies.
class Reply {
public:
    Reply() = default;
    Reply(pl_completion_fn fn, void* ctx) : state_(std::make_shared<State>(fn, ctx)) {}

    void ok(std::string_view json = "{}") const { finish(PL_OK, json); }
    void ok(const char* json) const { finish(PL_OK, json); }
    void ok(const std::string& json) const { finish(PL_OK, json); }
    void ok(const nlohmann::json& j) const { finish(PL_OK, j.dump()); }
    void fail(pl_status status, std::string_view message) const { finish(status, message); }
    // Retry later; retry_after_ms > 0 when the peer said when (HTTP Retry-After).
    void retry(std::string_view message, int64_t retry_after_ms = 0) const {
        if (retry_after_ms > 0) finish(PL_ERR_RETRY, "retry_after_ms=" + std::to_string(retry_after_ms) + " " + std::string(message));
        else finish(PL_ERR_RETRY, message);
    }
    bool answered() const { return !state_ || state_->done.load(); }

private:
    struct State {
        State(pl_completion_fn f, void* c) : fn(f), ctx(c) {}
        ~State() {
            // Unanswered (e.g. the instance stopped meanwhile): a delivery is
            // retried rather than lost, an action reports the module as unavailable.
            if (!done.exchange(true) && fn) {
                const char msg[] = "the module did not answer";
                fn(ctx, PL_ERR_RETRY, pl_str{msg, sizeof msg - 1});
            }
        }
        pl_completion_fn fn;
        void* ctx;
        std::atomic<bool> done{false};
    };
    void finish(pl_status status, std::string_view text) const {
        if (!state_ || state_->done.exchange(true)) return;
        if (state_->fn) state_->fn(state_->ctx, status, to_pl(text));
    }
    std::shared_ptr<State> state_;
};

// One call into an instance: an action with its params, maybe about an event.
// Routed events with no explicit action arrive as action "deliver".
struct Call {
    std::string action;
    Fields params;
    std::optional<Event> event;
    // What the module's take_event_view made of the event, when it took it as
    // a view (event then stays empty). See Glue::invoke.
    std::string prepared;
    Reply reply;
};

enum class LogLevel : int32_t { trace = PL_LOG_TRACE, debug = PL_LOG_DEBUG, info = PL_LOG_INFO, warn = PL_LOG_WARN, error = PL_LOG_ERROR };

// The host services an instance uses. Thread-safe.
class Host {
public:
    explicit Host(const pl_host_api* api) : api_(api) {}

    void publish(const Event& e) const {
        EventView view(e);
        api_->publish(api_->host_ctx, view.get());
    }
    void log(LogLevel level, std::string_view message) const {
        api_->log(api_->host_ctx, static_cast<int32_t>(level), to_pl(message));
    }
    void debug(std::string_view m) const { log(LogLevel::debug, m); }
    void info(std::string_view m) const { log(LogLevel::info, m); }
    void warn(std::string_view m) const { log(LogLevel::warn, m); }
    void error(std::string_view m) const { log(LogLevel::error, m); }
    void health(std::string_view state, std::string_view detail = {}, const nlohmann::json& info = nullptr) const {
        std::string info_text = info.is_object() ? info.dump() : std::string();
        api_->set_health(api_->host_ctx, to_pl(state), to_pl(detail), to_pl(info_text));
    }
    void count(std::string_view name, int64_t delta = 1) const { api_->count(api_->host_ctx, to_pl(name), delta); }
    std::string state_dir() const { return api_->state_dir ? api_->state_dir : ""; }
    const pl_host_api* api() const { return api_; }

    // Runs an action of another instance, as the control API would (ABI 1.1).
    // `done(status, result)` is called exactly once, from any thread: post it
    // back to your executor. A daemon older than ABI 1.1 answers PL_ERR_INTERNAL.
    using InvokeDone = std::function<void(int32_t status, std::string result)>;
    void invoke(std::string_view instance, std::string_view action, std::string_view params_json,
                InvokeDone done) const {
        if (api_->struct_size < offsetof(pl_host_api, invoke) + sizeof(api_->invoke) || !api_->invoke) {
            done(PL_ERR_INTERNAL, "this daemon cannot run actions for a module (module ABI 1.1 needed)");
            return;
        }
        auto* ctx = new InvokeDone(std::move(done));
        api_->invoke(api_->host_ctx, to_pl(instance), to_pl(action), to_pl(params_json.empty() ? "{}" : params_json),
                     &Host::invoke_completed, ctx);
    }

private:
    static void invoke_completed(void* ctx, int32_t status, pl_str result) {
        std::unique_ptr<InvokeDone> done(static_cast<InvokeDone*>(ctx));
        (*done)(status, result.data ? std::string(result.data, result.size) : std::string());
    }

    const pl_host_api* api_;
};

// One-shot timers whose callbacks run on the instance's executor. Call after()
// and cancel() from the instance's own handlers (its executor). When the
// instance stops, every timer is cancelled and a callback already queued is
// skipped, so no timer callback runs after on_stop().
class Timers {
public:
    Timers(const pl_host_api* api, Executor* executor) : api_(api), executor_(executor) {}
    ~Timers() { cancel_all(); }
    Timers(const Timers&) = delete;
    Timers& operator=(const Timers&) = delete;

    using Id = uint64_t;

    Id after(std::chrono::milliseconds delay, std::function<void()> fn) {
        auto entry = std::make_shared<Entry>();
        entry->owner = this;
        entry->fn = std::move(fn);
        // The host owns this pointer until it fires or is cancelled (see fire/cancel).
        auto* ctx = new std::shared_ptr<Entry>(entry);
        entry->ctx = ctx;
        Id id;
        {
            std::lock_guard lock(mutex_);
            id = ++next_id_;
            entry->id = id;
            entries_.emplace(id, entry);
        }
        uint64_t host_id = api_->timer_start(api_->host_ctx, delay.count(), &Timers::fire, ctx);
        std::lock_guard lock(mutex_);
        entry->host_id = host_id;
        if (host_id == 0) { // the host refused: nothing will fire
            entries_.erase(id);
            delete ctx;
        }
        return id;
    }

    void cancel(Id id) {
        std::shared_ptr<Entry> entry;
        {
            std::lock_guard lock(mutex_);
            auto it = entries_.find(id);
            if (it == entries_.end()) return;
            entry = it->second;
            entries_.erase(it);
            entry->cancelled = true;
        }
        // After timer_cancel returns the host will never call fire for it; if it
        // did not fire, the context is still ours to free.
        api_->timer_cancel(api_->host_ctx, entry->host_id);
        std::lock_guard lock(mutex_);
        if (!entry->fired) delete entry->ctx;
    }

    void cancel_all() {
        stopped_.store(true);
        std::vector<Id> ids;
        {
            std::lock_guard lock(mutex_);
            for (auto& [id, e] : entries_) ids.push_back(id);
        }
        for (Id id : ids) cancel(id);
    }

    // Called by the SDK when the instance (re)starts.
    void resume() { stopped_.store(false); }

private:
    struct Entry {
        Timers* owner = nullptr;
        Id id = 0;
        uint64_t host_id = 0;
        bool cancelled = false;
        bool fired = false;
        std::shared_ptr<Entry>* ctx = nullptr;
        std::function<void()> fn;
    };

    // Runs on the host's timer thread: hand the callback to the executor.
    static void fire(void* raw) {
        auto* ctx = static_cast<std::shared_ptr<Entry>*>(raw);
        std::shared_ptr<Entry> entry = *ctx;
        Timers* self = entry->owner;
        std::function<void()> fn;
        {
            std::lock_guard lock(self->mutex_);
            entry->fired = true;
            delete ctx;
            if (entry->cancelled) return;
            self->entries_.erase(entry->id);
            fn = std::move(entry->fn);
        }
        // The instance (and so this Timers) outlives every closure queued on its
        // executor: destroy() is queued behind them.
        self->executor_->post([self, fn = std::move(fn)] {
            if (!self->stopped_.load()) fn();
        });
    }

    const pl_host_api* api_;
    Executor* executor_;
    std::mutex mutex_;
    std::map<Id, std::shared_ptr<Entry>> entries_;
    Id next_id_ = 0;
    std::atomic<bool> stopped_{false};
};

// What a module's constructor receives.
struct Init {
    std::string name;
    Fields config;
    Host host;
    Executor* executor;
};

class Instance {
public:
    explicit Instance(const Init& init)
        : name_(init.name), host_(init.host), executor_(init.executor), timers_(init.host.api(), init.executor) {}
    virtual ~Instance() = default;
    Instance(const Instance&) = delete;
    Instance& operator=(const Instance&) = delete;

    virtual void on_start() {}
    virtual void on_stop() {}
    virtual void on_action(Call& call) {
        call.reply.fail(PL_ERR_UNKNOWN_ACTION, "unknown action '" + call.action + "'");
    }

    const std::string& name() const { return name_; }
    const Host& host() const { return host_; }
    Executor& executor() { return *executor_; }
    Timers& timers() { return timers_; }

    // An event from this instance with its time set to now; fill and publish.
    static int64_t now_ns() {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }
    void publish(const Event& e) const { host_.publish(e); }

private:
    std::string name_;
    Host host_;
    Executor* executor_;
    Timers timers_;
};

namespace detail {

inline void copy_text(char* buf, size_t cap, std::string_view text) {
    if (!buf || cap == 0) return;
    size_t n = std::min(cap - 1, text.size());
    std::memcpy(buf, text.data(), n);
    buf[n] = '\0';
}

// One executor per loaded library (per ExecutorT), created with the first
// instance and joined when the last one is destroyed, before unload.
template <class ExecutorT>
std::shared_ptr<ExecutorT> shared_executor(const char* module_name) {
    static std::mutex mutex;
    static std::weak_ptr<ExecutorT> weak;
    std::lock_guard lock(mutex);
    auto ex = weak.lock();
    if (!ex) {
        ex = std::make_shared<ExecutorT>();
        ex->name_thread(std::string("mod:") + module_name);
        weak = ex;
    }
    return ex;
}

// Runs fn on the executor and waits for it (start/stop/destroy are synchronous).
inline void run_and_wait(Executor& ex, const std::function<void()>& fn) {
    if (ex.running_in_this_thread()) {
        fn();
        return;
    }
    std::promise<void> done;
    auto fut = done.get_future();
    ex.post([&] {
        fn();
        done.set_value();
    });
    fut.wait();
}

struct Box {
    std::shared_ptr<Executor> executor;
    std::unique_ptr<Instance> instance;
};

// A module class may name its executor (e.g. an Asio io_context thread).
template <class T>
struct executor_of {
    using type = WorkerThread;
};
template <class T>
    requires requires { typename T::executor_type; }
struct executor_of<T> {
    using type = typename T::executor_type;
};

template <class T>
struct Glue {
    using ExecutorT = typename executor_of<T>::type;

    static int32_t create(pl_create_args* args, pl_instance** out) {
        try {
            auto box = std::make_unique<Box>();
            std::shared_ptr<ExecutorT> ex = shared_executor<ExecutorT>(T::info.name);
            if constexpr (requires { T::max_coalesce; }) ex->cap_coalesce(T::max_coalesce);
            if constexpr (requires { T::default_coalesce; }) ex->prefer_coalesce(T::default_coalesce);
            ex->attach_host(args->host);
            box->executor = ex;
            nlohmann::json cfg = nlohmann::json::parse(from_pl(args->config_json));
            Init init{std::string(from_pl(args->name)), Fields(std::move(cfg)), Host(args->host), ex.get()};
            box->instance = std::make_unique<T>(init);
            *out = reinterpret_cast<pl_instance*>(box.release());
            return PL_OK;
        } catch (const ConfigError& e) {
            copy_text(args->error_key, args->error_key_capacity, e.key);
            copy_text(args->error_message, args->error_message_capacity, e.what());
            return PL_ERR_INVALID;
        } catch (const std::exception& e) {
            copy_text(args->error_message, args->error_message_capacity, e.what());
            return PL_ERR_INTERNAL;
        } catch (...) {
            copy_text(args->error_message, args->error_message_capacity, "unknown exception");
            return PL_ERR_INTERNAL;
        }
    }

    static Box* box(pl_instance* inst) { return reinterpret_cast<Box*>(inst); }

    static int32_t start(pl_instance* inst) {
        int32_t status = PL_OK;
        Box* b = box(inst);
        b->instance->timers().resume();
        run_and_wait(*b->executor, [&] {
            try {
                b->instance->on_start();
            } catch (const std::exception& e) {
                b->instance->host().error(std::string("start failed: ") + e.what());
                status = PL_ERR_INTERNAL;
            }
        });
        return status;
    }

    static void stop(pl_instance* inst) {
        Box* b = box(inst);
        run_and_wait(*b->executor, [&] {
            try {
                b->instance->on_stop();
            } catch (const std::exception& e) {
                b->instance->host().error(std::string("stop failed: ") + e.what());
            }
            // On the executor, so a timer callback queued behind on_stop is skipped.
            b->instance->timers().cancel_all();
        });
    }

    static void destroy(pl_instance* inst) {
        std::unique_ptr<Box> b(box(inst));
        run_and_wait(*b->executor, [&] { b->instance.reset(); });
        b.reset(); // may join the executor thread when this was the last instance
    }

    // A call's event is copied into call.event, for the handler runs later, on
    // the executor. A module may instead declare
    //   static bool take_event_view(const pl_event& event, passerelle::Call& call);
    // which runs here, on the host's calling thread, while the view is valid:
    // it turns the event into what its handler needs (call.prepared; filelog:
    // the JSON line) and returns true, or false for the copy. Static, so it
    // cannot touch the instance's state from the wrong thread.
    static void take_event(const pl_event& event, Call& call) {
        if constexpr (requires { { T::take_event_view(event, call) } -> std::same_as<bool>; }) {
            if (T::take_event_view(event, call)) return;
            call.prepared.clear();
        }
        copy_from_pl(event, call.event.emplace());
    }

    // A sink may also take a routed event on the host's calling thread,
    // without any Call, task or copy: a member function
    //   bool take_event_now(const pl_event& event, const Reply& reply, bool more_follows);
    // run while the view is valid, for a "deliver" without params. It must be
    // thread-safe (the instance's executor runs meanwhile), must not block on
    // I/O, and answers `reply` later, from any thread. False: the Call way.
    // filelog formats the line here and its worker writes a burst of them.
    static bool take_event_now(pl_instance* inst, const pl_invoke_args* args, const Reply& reply, bool more_follows) {
        if constexpr (requires(T& t, const pl_event& e, const Reply& r) {
                          { t.take_event_now(e, r, true) } -> std::same_as<bool>;
                      }) {
            const std::string_view params = from_pl(args->params_json);
            if (!args->event || from_pl(args->action) != "deliver" || !(params.empty() || params == "{}")) return false;
            return static_cast<T*>(box(inst)->instance.get())->take_event_now(*args->event, reply, more_follows);
        } else {
            return false;
        }
    }

    static void invoke(pl_instance* inst, const pl_invoke_args* args) {
        Reply reply(args->done, args->done_ctx);
        try {
            const bool more_follows =
                args->struct_size >= offsetof(pl_invoke_args, more_follows) + sizeof(args->more_follows) &&
                args->more_follows != 0;
            if (take_event_now(inst, args, reply, more_follows)) return;
            auto call = std::make_shared<Call>();
            call->action = std::string(from_pl(args->action));
            std::string_view params = from_pl(args->params_json);
            // A route without params sends "{}" with every event: no parser for it.
            if (!params.empty() && params != "{}") call->params = Fields(nlohmann::json::parse(params));
            if (args->event) take_event(*args->event, *call);
            call->reply = reply;
            Box* b = box(inst);
            Instance* target = b->instance.get();
            auto run = [call, target] {
                try {
                    target->on_action(*call);
                } catch (const ConfigError& e) {
                    call->reply.fail(PL_ERR_INVALID, "param '" + e.key + "' " + e.what());
                } catch (const std::exception& e) {
                    call->reply.fail(PL_ERR_INTERNAL, e.what());
                }
            };
            if (more_follows) b->executor->post_ahead(std::move(run));
            else b->executor->post(std::move(run));
        } catch (const std::exception& e) {
            reply.fail(PL_ERR_INVALID, std::string("bad params: ") + e.what());
        }
    }

    static const pl_module_descriptor* descriptor() {
        static const pl_module_descriptor d = [] {
            pl_module_descriptor out{};
            out.struct_size = sizeof(pl_module_descriptor);
            out.abi_major = PL_ABI_MAJOR;
            out.abi_minor = PL_ABI_MINOR;
            out.name = T::info.name;
            out.version = T::info.version;
            out.description = T::info.description;
            if constexpr (requires { T::keys; }) {
                out.keys = T::keys;
                out.keys_count = std::size(T::keys);
            }
            if constexpr (requires { T::actions; }) {
                out.actions = T::actions;
                out.actions_count = std::size(T::actions);
            }
            if constexpr (requires { T::max_inflight; }) out.max_inflight = T::max_inflight;
            else out.max_inflight = 1;
            out.create = &Glue::create;
            out.start = &Glue::start;
            out.stop = &Glue::stop;
            out.destroy = &Glue::destroy;
            out.invoke = &Glue::invoke;
            return out;
        }();
        return &d;
    }
};

} // namespace detail
} // namespace passerelle

#define PL_DEFINE_MODULE(ClassName)                                                                \
    extern "C" PL_EXPORT const pl_module_descriptor* passerelle_module_v1(void) {                \
        return ::passerelle::detail::Glue<ClassName>::descriptor();                               \
    }
