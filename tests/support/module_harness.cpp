// The fake host behind ModuleHarness. See module_harness.hpp for the contract.
#include "module_harness.hpp"

#include <passerelle/duration.hpp>

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace passerelle::testing {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------- TempDir

int free_loopback_port() {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) throw std::runtime_error("socket() failed");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        ::close(s);
        throw std::runtime_error("no free loopback port");
    }
    ::close(s);
    return ntohs(a.sin_port);
}

TempDir::TempDir(std::string_view prefix) {
    std::string pattern = (fs::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ec;
    // A test may have made a directory read-only to provoke errors: give it back first.
    for (auto it = fs::recursive_directory_iterator(path_, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        if (it->is_directory(ec)) fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
    }
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
}

// ------------------------------------------------------- config normalization

namespace {

using nlohmann::json;

// Turns one declared value (from the config or from the declared default text)
// into what the kernel hands over for that key type. Returns an error message,
// empty on success.
std::string normalize_value(const pl_key_decl& decl, json& value) {
    switch (decl.type) {
    case PL_KEY_STRING:
    case PL_KEY_PATH:
        if (value.is_string()) return {};
        return "must be a string";
    case PL_KEY_INT:
        if (value.is_number_integer()) return {};
        if (value.is_string()) {
            const std::string s = value.get<std::string>();
            try {
                size_t used = 0;
                long long n = std::stoll(s, &used);
                if (used == s.size()) {
                    value = n;
                    return {};
                }
            } catch (...) {
            }
        }
        return "must be an integer";
    case PL_KEY_BOOL:
        if (value.is_boolean()) return {};
        if (value.is_string()) {
            const std::string s = value.get<std::string>();
            if (s == "true" || s == "false") {
                value = (s == "true");
                return {};
            }
        }
        return "must be true or false";
    case PL_KEY_FLOAT:
        if (value.is_number()) return {};
        if (value.is_string()) {
            try {
                size_t used = 0;
                const std::string s = value.get<std::string>();
                double d = std::stod(s, &used);
                if (used == s.size()) {
                    value = d;
                    return {};
                }
            } catch (...) {
            }
        }
        return "must be a number";
    case PL_KEY_DURATION:
        // An integer is taken as already normalized (milliseconds).
        if (value.is_number_integer() && value.get<int64_t>() >= 0) return {};
        if (value.is_string()) {
            if (auto ms = parse_duration_ms(value.get<std::string>())) {
                value = *ms;
                return {};
            }
        }
        return "must be a duration such as \"500ms\", \"5s\", \"2m\", \"1h\" or \"7d\"";
    case PL_KEY_SIZE:
        if (value.is_number_integer() && value.get<int64_t>() >= 0) return {};
        if (value.is_string()) {
            if (auto bytes = parse_size_bytes(value.get<std::string>())) {
                value = *bytes;
                return {};
            }
        }
        return "must be a size such as 1048576, \"64KB\" or \"10MiB\"";
    case PL_KEY_STRING_LIST:
        if (value.is_string()) { // "a,b" (how defaults are written)
            json list = json::array();
            std::stringstream in(value.get<std::string>());
            std::string item;
            while (std::getline(in, item, ',')) {
                while (!item.empty() && item.front() == ' ') item.erase(item.begin());
                while (!item.empty() && item.back() == ' ') item.pop_back();
                if (!item.empty()) list.push_back(item);
            }
            value = std::move(list);
            return {};
        }
        if (value.is_array()) {
            for (const auto& item : value)
                if (!item.is_string()) return "must be a list of strings";
            return {};
        }
        return "must be a list of strings";
    case PL_KEY_TABLE:
        if (!value.is_object()) return "must be a table";
        for (auto& [k, v] : value.items()) {
            if (v.is_string()) continue;
            if (v.is_primitive() && !v.is_null()) v = v.dump();
            else return "must be a table of strings";
        }
        return {};
    default:
        return "has an unknown declared type " + std::to_string(decl.type);
    }
}

} // namespace

std::optional<std::string> normalize_config(std::string_view config_json, const pl_key_decl* keys, size_t keys_count,
                                            std::string& error_key, std::string& error_message) {
    json config;
    try {
        config = config_json.empty() ? json::object() : json::parse(config_json);
    } catch (const std::exception& e) {
        error_message = std::string("config is not JSON: ") + e.what();
        return std::nullopt;
    }
    if (!config.is_object()) {
        error_message = "config must be a JSON object";
        return std::nullopt;
    }
    auto declared = [&](std::string_view name) -> const pl_key_decl* {
        for (size_t i = 0; i < keys_count; ++i)
            if (name == keys[i].name) return &keys[i];
        return nullptr;
    };
    // A secret may come from a file: password_file = "/path" fills password.
    for (auto it = config.begin(); it != config.end();) {
        const std::string name = it.key();
        const pl_key_decl* target = nullptr;
        if (name.size() > 5 && name.ends_with("_file")) target = declared(name.substr(0, name.size() - 5));
        if (!target || !(target->flags & PL_KEY_SECRET) || declared(name)) {
            ++it;
            continue;
        }
        std::ifstream in(it.value().is_string() ? it.value().get<std::string>() : std::string());
        if (!in) {
            error_key = name;
            error_message = "cannot read the file";
            return std::nullopt;
        }
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
        config[target->name] = text;
        it = config.erase(it);
    }
    for (auto& [name, value] : config.items()) {
        if (!declared(name)) {
            error_key = name;
            error_message = "unknown key";
            return std::nullopt;
        }
    }
    for (size_t i = 0; i < keys_count; ++i) {
        const pl_key_decl& decl = keys[i];
        if (!config.contains(decl.name)) {
            if (decl.flags & PL_KEY_REQUIRED) {
                error_key = decl.name;
                error_message = "is required";
                return std::nullopt;
            }
            if (!decl.default_value) continue;
            json value = std::string(decl.default_value);
            if (std::string problem = normalize_value(decl, value); !problem.empty()) {
                error_key = decl.name;
                error_message = "declared default '" + std::string(decl.default_value) + "' " + problem;
                return std::nullopt;
            }
            config[decl.name] = std::move(value);
            continue;
        }
        if (std::string problem = normalize_value(decl, config[decl.name]); !problem.empty()) {
            error_key = decl.name;
            error_message = problem;
            return std::nullopt;
        }
    }
    return config.dump();
}

// ---------------------------------------------------------------- Recorder

// What the module did through the host API. Every entry point is thread-safe.
struct ModuleHarness::Recorder {
    mutable std::mutex mutex;
    std::condition_variable changed;
    std::string instance_name;
    std::string module_name;
    std::vector<Event> events;
    size_t published = 0; // since the last clear
    uint64_t next_id = 0;
    std::vector<LogLine> logs;
    std::vector<Health> health;
    std::map<std::string, int64_t> counters;
    bool verbose = std::getenv("PASSERELLE_HARNESS_VERBOSE") != nullptr;

    static Recorder* self(void* ctx) { return static_cast<Recorder*>(ctx); }

    static int32_t publish(void* ctx, const pl_event* in) {
        if (!in) return PL_ERR_INVALID;
        Recorder* r = self(ctx);
        Event e = from_pl(*in);
        e.received_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
        if (e.time_ns == 0) e.time_ns = e.received_ns;
        std::lock_guard lock(r->mutex);
        e.id = ++r->next_id;
        e.source = r->instance_name;
        e.module = r->module_name;
        r->events.push_back(std::move(e));
        ++r->published;
        r->changed.notify_all();
        return PL_OK;
    }

    static void log(void* ctx, int32_t level, pl_str message) {
        Recorder* r = self(ctx);
        std::lock_guard lock(r->mutex);
        if (r->verbose) std::cerr << "[module log " << level << "] " << from_pl(message) << "\n";
        r->logs.push_back(LogLine{level, std::string(from_pl(message))});
        r->changed.notify_all();
    }

    static void set_health(void* ctx, pl_str state, pl_str detail, pl_str info) {
        Recorder* r = self(ctx);
        std::lock_guard lock(r->mutex);
        if (r->verbose) std::cerr << "[module health] " << from_pl(state) << " " << from_pl(detail) << "\n";
        r->health.push_back(Health{std::string(from_pl(state)), std::string(from_pl(detail)),
                                   std::string(from_pl(info))});
        r->changed.notify_all();
    }

    static void count(void* ctx, pl_str name, int64_t delta) {
        Recorder* r = self(ctx);
        std::lock_guard lock(r->mutex);
        r->counters[std::string(from_pl(name))] += delta;
        r->changed.notify_all();
    }

    template <class Pred>
    bool wait(std::chrono::milliseconds timeout, Pred pred) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, timeout, pred);
    }
};

// ------------------------------------------------------------- TimerThread

// Real one-shot timers, all on one thread (as the kernel's timer thread).
struct ModuleHarness::TimerThread {
    struct Timer {
        Clock::time_point due;
        pl_timer_fn fn;
        void* ctx;
    };

    std::mutex mutex;
    std::condition_variable wake;   // new timer, cancel or stop
    std::condition_variable idle;   // a callback finished
    std::map<uint64_t, Timer> pending;
    uint64_t next_id = 0;
    uint64_t running = 0; // id of the callback running now, 0 = none
    bool stopping = false;
    std::thread thread{[this] { run(); }};

    ~TimerThread() {
        {
            std::lock_guard lock(mutex);
            stopping = true;
        }
        wake.notify_all();
        thread.join();
    }

    void run() {
        std::unique_lock lock(mutex);
        while (!stopping) {
            if (pending.empty()) {
                wake.wait(lock);
                continue;
            }
            auto first = pending.begin();
            for (auto it = pending.begin(); it != pending.end(); ++it)
                if (it->second.due < first->second.due) first = it;
            if (const Clock::time_point due = first->second.due; due > Clock::now()) {
                // A copy: cancel() may erase the node while we wait.
                wake.wait_until(lock, due);
                continue;
            }
            Timer timer = first->second;
            running = first->first;
            pending.erase(first);
            lock.unlock();
            timer.fn(timer.ctx);
            lock.lock();
            running = 0;
            idle.notify_all();
        }
    }

    uint64_t start(int64_t delay_ms, pl_timer_fn fn, void* ctx) {
        if (!fn) return 0;
        std::lock_guard lock(mutex);
        if (stopping) return 0;
        uint64_t id = ++next_id;
        pending.emplace(id, Timer{Clock::now() + std::chrono::milliseconds(std::max<int64_t>(delay_ms, 0)), fn, ctx});
        wake.notify_all();
        return id;
    }

    void cancel(uint64_t id) {
        std::unique_lock lock(mutex);
        pending.erase(id);
        wake.notify_all();
        // The ABI promise: when cancel returns, the callback is not running. From
        // inside the callback itself waiting would deadlock, and it is over soon.
        if (std::this_thread::get_id() == thread.get_id()) return;
        idle.wait(lock, [&] { return running != id; });
    }

    size_t size() {
        std::lock_guard lock(mutex);
        return pending.size();
    }
};

// ------------------------------------------------------------ ModuleHarness

ModuleHarness::ModuleHarness(const std::string& so_path)
    : state_dir_("passerelle-state"), recorder_(std::make_unique<Recorder>()),
      timers_(std::make_unique<TimerThread>()) {
    library_ = ::dlopen(so_path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!library_) {
        const char* err = ::dlerror();
        throw std::runtime_error("cannot load " + so_path + ": " + (err ? err : "unknown error"));
    }
    auto entry = reinterpret_cast<pl_module_entry_fn>(::dlsym(library_, PL_ENTRY_SYMBOL));
    if (!entry) {
        ::dlclose(library_);
        throw std::runtime_error(so_path + " has no " PL_ENTRY_SYMBOL " entry point");
    }
    descriptor_ = entry();
    if (!descriptor_ || descriptor_->abi_major != PL_ABI_MAJOR ||
        descriptor_->struct_size < sizeof(pl_module_descriptor)) {
        std::string found = descriptor_ ? std::to_string(descriptor_->abi_major) : std::string("none");
        ::dlclose(library_);
        throw std::runtime_error(so_path + ": ABI " + found + " (struct " +
                                 std::to_string(descriptor_ ? descriptor_->struct_size : 0) + " bytes), host needs ABI " +
                                 std::to_string(PL_ABI_MAJOR) + " (struct " +
                                 std::to_string(sizeof(pl_module_descriptor)) + " bytes)");
    }
    recorder_->module_name = descriptor_->name ? descriptor_->name : "";

    state_dir_text_ = state_dir_.path().string();
    host_.struct_size = sizeof(pl_host_api);
    host_.host_ctx = this;
    // The ABI passes one context; it is the harness, which knows both halves.
    host_.publish = [](void* ctx, const pl_event* e) {
        return Recorder::publish(static_cast<ModuleHarness*>(ctx)->recorder_.get(), e);
    };
    host_.log = [](void* ctx, int32_t level, pl_str m) {
        Recorder::log(static_cast<ModuleHarness*>(ctx)->recorder_.get(), level, m);
    };
    host_.set_health = [](void* ctx, pl_str s, pl_str d, pl_str i) {
        Recorder::set_health(static_cast<ModuleHarness*>(ctx)->recorder_.get(), s, d, i);
    };
    host_.count = [](void* ctx, pl_str name, int64_t delta) {
        Recorder::count(static_cast<ModuleHarness*>(ctx)->recorder_.get(), name, delta);
    };
    host_.timer_start = [](void* ctx, int64_t delay_ms, pl_timer_fn fn, void* timer_ctx) -> uint64_t {
        return static_cast<ModuleHarness*>(ctx)->timers_->start(delay_ms, fn, timer_ctx);
    };
    host_.timer_cancel = [](void* ctx, uint64_t id) { static_cast<ModuleHarness*>(ctx)->timers_->cancel(id); };
    host_.state_dir = state_dir_text_.c_str();
}

ModuleHarness::~ModuleHarness() {
    destroy();
    timers_.reset(); // no timer callback may run into an unloaded library
    if (library_) ::dlclose(library_);
}

const pl_key_decl* ModuleHarness::find_key(std::string_view name) const {
    for (size_t i = 0; i < descriptor_->keys_count; ++i)
        if (name == descriptor_->keys[i].name) return &descriptor_->keys[i];
    return nullptr;
}

const pl_action_decl* ModuleHarness::find_action(std::string_view name) const {
    for (size_t i = 0; i < descriptor_->actions_count; ++i)
        if (name == descriptor_->actions[i].name) return &descriptor_->actions[i];
    return nullptr;
}

CreateResult ModuleHarness::create(std::string_view config_json, const CreateOptions& options) {
    CreateResult out;
    if (instance_) {
        out.error_message = "the harness already has an instance";
        return out;
    }
    std::string config(config_json);
    if (options.normalize) {
        auto normalized =
            normalize_config(config_json, descriptor_->keys, descriptor_->keys_count, out.error_key, out.error_message);
        if (!normalized) {
            out.status = PL_ERR_INVALID;
            return out;
        }
        config = std::move(*normalized);
    }
    {
        std::lock_guard lock(recorder_->mutex);
        recorder_->instance_name = options.instance_name;
    }
    char key_buf[256] = {0};
    char message_buf[1024] = {0};
    pl_create_args args{};
    args.struct_size = sizeof(pl_create_args);
    args.name = to_pl(options.instance_name);
    args.config_json = to_pl(config);
    args.host = &host_;
    args.error_key = key_buf;
    args.error_key_capacity = sizeof key_buf;
    args.error_message = message_buf;
    args.error_message_capacity = sizeof message_buf;
    pl_instance* inst = nullptr;
    out.status = descriptor_->create(&args, &inst);
    if (out.status == PL_OK && !inst) {
        out.status = PL_ERR_INTERNAL;
        out.error_message = "create returned PL_OK without an instance";
        return out;
    }
    if (out.status != PL_OK) {
        out.error_key = key_buf;
        out.error_message = message_buf;
        return out;
    }
    instance_ = inst;
    return out;
}

int32_t ModuleHarness::start() {
    if (!instance_) return PL_ERR_INVALID;
    int32_t status = descriptor_->start(instance_);
    started_ = (status == PL_OK);
    return status;
}

void ModuleHarness::stop() {
    if (!instance_ || !started_) return;
    descriptor_->stop(instance_);
    started_ = false;
}

void ModuleHarness::destroy() {
    if (!instance_) return;
    stop();
    descriptor_->destroy(instance_);
    instance_ = nullptr;
}

namespace {

// One invocation's answer. Shared between the waiting test and the completion
// callback, which may come late (after a timeout) or from any thread.
struct Answer {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
    int32_t status = PL_ERR_TIMEOUT;
    std::string result;
};

void on_completion(void* ctx, int32_t status, pl_str result) {
    // ctx is a heap copy of a shared_ptr: it keeps the Answer alive until here.
    std::unique_ptr<std::shared_ptr<Answer>> holder(static_cast<std::shared_ptr<Answer>*>(ctx));
    Answer& a = **holder;
    std::lock_guard lock(a.mutex);
    if (a.done) return; // exactly once by contract; be defensive anyway
    a.done = true;
    a.status = status;
    a.result.assign(from_pl(result));
    a.cv.notify_all();
}

} // namespace

InvokeResult ModuleHarness::invoke(std::string_view action, std::string_view params_json,
                                   const std::optional<Event>& event, std::chrono::milliseconds timeout) {
    InvokeResult out;
    if (!instance_) {
        out.status = PL_ERR_INVALID;
        out.result = "no instance";
        return out;
    }
    auto answer = std::make_shared<Answer>();
    std::optional<EventView> view;
    if (event) view.emplace(*event);
    pl_invoke_args args{};
    args.struct_size = sizeof(pl_invoke_args);
    args.action = to_pl(action);
    args.params_json = to_pl(params_json.empty() ? std::string_view("{}") : params_json);
    args.event = view ? view->get() : nullptr;
    args.done = &on_completion;
    args.done_ctx = new std::shared_ptr<Answer>(answer);
    descriptor_->invoke(instance_, &args);

    std::unique_lock lock(answer->mutex);
    if (!answer->cv.wait_for(lock, timeout, [&] { return answer->done; })) {
        out.status = PL_ERR_TIMEOUT;
        out.result = "no answer within " + std::to_string(timeout.count()) + " ms";
        return out;
    }
    out.status = answer->status;
    out.result = answer->result;
    return out;
}

std::vector<InvokeResult> ModuleHarness::deliver_burst(const std::vector<Event>& events,
                                                       std::chrono::milliseconds timeout) {
    std::vector<InvokeResult> out(events.size());
    if (!instance_) {
        for (auto& r : out) r = {PL_ERR_INVALID, "no instance"};
        return out;
    }
    std::vector<std::shared_ptr<Answer>> answers;
    for (size_t i = 0; i < events.size(); ++i) {
        auto answer = std::make_shared<Answer>();
        answers.push_back(answer);
        EventView view(events[i]);
        pl_invoke_args args{};
        args.struct_size = sizeof(pl_invoke_args);
        args.action = to_pl("deliver");
        args.params_json = to_pl("{}");
        args.event = view.get();
        args.done = &on_completion;
        args.done_ctx = new std::shared_ptr<Answer>(answer);
        args.more_follows = i + 1 < events.size() ? 1 : 0;
        descriptor_->invoke(instance_, &args);
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (size_t i = 0; i < answers.size(); ++i) {
        std::unique_lock lock(answers[i]->mutex);
        if (!answers[i]->cv.wait_until(lock, deadline, [&] { return answers[i]->done; })) {
            out[i] = {PL_ERR_TIMEOUT, "no answer within " + std::to_string(timeout.count()) + " ms"};
            continue;
        }
        out[i] = {answers[i]->status, answers[i]->result};
    }
    return out;
}

std::vector<Event> ModuleHarness::events() const {
    std::lock_guard lock(recorder_->mutex);
    return recorder_->events;
}

size_t ModuleHarness::event_count() const {
    std::lock_guard lock(recorder_->mutex);
    return recorder_->events.size();
}

void ModuleHarness::clear_events() {
    std::lock_guard lock(recorder_->mutex);
    recorder_->events.clear();
    recorder_->published = 0;
}

bool ModuleHarness::wait_for_events(size_t n, std::chrono::milliseconds timeout) {
    return recorder_->wait(timeout, [&] { return recorder_->published >= n; });
}

std::vector<LogLine> ModuleHarness::logs() const {
    std::lock_guard lock(recorder_->mutex);
    return recorder_->logs;
}

bool ModuleHarness::wait_for_log(std::string_view substring, std::chrono::milliseconds timeout) {
    return recorder_->wait(timeout, [&] {
        for (const auto& line : recorder_->logs)
            if (line.message.find(substring) != std::string::npos) return true;
        return false;
    });
}

Health ModuleHarness::health() const {
    std::lock_guard lock(recorder_->mutex);
    return recorder_->health.empty() ? Health{} : recorder_->health.back();
}

std::vector<Health> ModuleHarness::health_history() const {
    std::lock_guard lock(recorder_->mutex);
    return recorder_->health;
}

bool ModuleHarness::wait_for_health(std::string_view state, std::chrono::milliseconds timeout) {
    return recorder_->wait(timeout,
                           [&] { return !recorder_->health.empty() && recorder_->health.back().state == state; });
}

int64_t ModuleHarness::counter(std::string_view name) const {
    std::lock_guard lock(recorder_->mutex);
    auto it = recorder_->counters.find(std::string(name));
    return it == recorder_->counters.end() ? 0 : it->second;
}

std::map<std::string, int64_t> ModuleHarness::counters() const {
    std::lock_guard lock(recorder_->mutex);
    return recorder_->counters;
}

size_t ModuleHarness::pending_timers() const { return timers_->size(); }

} // namespace passerelle::testing
