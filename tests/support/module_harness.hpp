// ModuleHarness: load a module .so the way the daemon does and drive it from a
// test, with a fake host that records everything the module does.
//
//   passerelle::testing::ModuleHarness h(passerelle::testing::module_path("demo"));
//   auto created = h.create(R"({"interval": "50ms"})");
//   REQUIRE(created.ok());                     // else created.error_key / error_message
//   REQUIRE(h.start() == PL_OK);
//   auto r = h.invoke("emit", R"({"type": "motion"})");
//   CHECK(r.status == PL_OK);                  // r.result: the JSON reply or the error text
//   REQUIRE(h.wait_for_events(1, std::chrono::seconds(2)));
//   CHECK(h.events()[0].type == "motion");
//
// What the fake host does (the parts of the kernel a module can observe):
//  - config: like the kernel, create() validates the JSON config against the
//    module's declared keys before handing it over: unknown keys and missing
//    required keys are refused, declared defaults are applied, durations
//    become integer milliseconds and sizes integer bytes. Pass
//    CreateOptions{.normalize = false} to hand the text over untouched.
//  - publish: the event is copied into a passerelle::Event; the host fills
//    id (1, 2, 3...), source (the instance name), module (the descriptor's
//    name), received_ns, and time_ns when the module left it 0.
//  - log, set_health, count: recorded, readable and waitable.
//  - timers: real one-shot timers on a thread of their own; timer_cancel keeps
//    the ABI's promise (when it returns the callback is not running and will
//    not run), unless called from inside that very callback.
//  - state_dir: a fresh temporary directory, removed with the harness.
//
// Everything is bounded: every wait takes a timeout. The harness stops and
// destroys the instance (if the test did not) before unloading the library.
// Set PASSERELLE_HARNESS_VERBOSE=1 to echo the module's log lines to stderr.
#pragma once

#include <passerelle/abi.h>
#include <passerelle/event.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace passerelle::testing {

using namespace std::chrono_literals;

// Where the build puts module <name>: PASSERELLE_BINARY_DIR/lib/passerelle/<name>.so.
// (PASSERELLE_BINARY_DIR is defined by passerelle_add_test.)
#ifdef PASSERELLE_BINARY_DIR
inline std::string module_path(std::string_view name) {
    return std::string(PASSERELLE_BINARY_DIR) + "/lib/passerelle/" + std::string(name) + ".so";
}
#endif

// A temporary directory removed (with its content) when the object dies.
class TempDir {
public:
    explicit TempDir(std::string_view prefix = "passerelle-test");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed),
// for a simulator or broker a test starts as a child process.
int free_loopback_port();

struct LogLine {
    int32_t level; // pl_log_level
    std::string message;
};

struct Health {
    std::string state; // "" until the module reports one
    std::string detail;
    std::string info_json;
};

struct CreateResult {
    int32_t status = PL_ERR_INTERNAL; // pl_status
    std::string error_key;            // the key at fault, when the module (or validation) says
    std::string error_message;
    bool ok() const { return status == PL_OK; }
};

struct CreateOptions {
    std::string instance_name = "test";
    // Validate and normalize the config against the declared keys as the kernel does.
    bool normalize = true;
};

struct InvokeResult {
    int32_t status = PL_ERR_TIMEOUT; // pl_status; PL_ERR_TIMEOUT when no answer came in time
    std::string result;              // the JSON reply on PL_OK, else the error message
    bool ok() const { return status == PL_OK; }
};

// Validates a JSON config text against declared keys and normalizes it the way
// the kernel hands it to a module. On error returns nullopt and sets key/message.
std::optional<std::string> normalize_config(std::string_view config_json, const pl_key_decl* keys, size_t keys_count,
                                            std::string& error_key, std::string& error_message);

class ModuleHarness {
public:
    // Loads the library and reads its descriptor. Throws std::runtime_error with
    // the dlerror() text when the file, the entry point or the ABI is wrong.
    explicit ModuleHarness(const std::string& so_path);
    ~ModuleHarness();
    ModuleHarness(const ModuleHarness&) = delete;
    ModuleHarness& operator=(const ModuleHarness&) = delete;

    const pl_module_descriptor& descriptor() const { return *descriptor_; }
    const pl_key_decl* find_key(std::string_view name) const;
    const pl_action_decl* find_action(std::string_view name) const;

    // Creates the one instance this harness drives.
    CreateResult create(std::string_view config_json, const CreateOptions& options = {});
    int32_t start();
    void stop();    // no-op unless started
    void destroy(); // stops first if needed; no-op without an instance
    bool has_instance() const { return instance_ != nullptr; }

    // Calls an action (a routed event is action "deliver" with an event) and
    // waits up to `timeout` for the module's answer.
    InvokeResult invoke(std::string_view action, std::string_view params_json = "{}",
                        const std::optional<Event>& event = std::nullopt,
                        std::chrono::milliseconds timeout = 5s);
    // Shorthand for invoke("deliver", "{}", event, timeout).
    InvokeResult deliver(const Event& event, std::chrono::milliseconds timeout = 5s) {
        return invoke("deliver", "{}", event, timeout);
    }
    // Delivers every event before waiting for any answer, all but the last
    // with more_follows set, as the kernel hands over a burst; one result per event.
    std::vector<InvokeResult> deliver_burst(const std::vector<Event>& events, std::chrono::milliseconds timeout = 5s);

    // --- what the module did (copies; safe while the module keeps running) ---
    std::vector<Event> events() const;
    size_t event_count() const;
    void clear_events();
    // True when at least n events have been published (in total since the last clear).
    bool wait_for_events(size_t n, std::chrono::milliseconds timeout);

    std::vector<LogLine> logs() const;
    bool wait_for_log(std::string_view substring, std::chrono::milliseconds timeout);

    Health health() const;                     // the latest report
    std::vector<Health> health_history() const; // every report, oldest first
    bool wait_for_health(std::string_view state, std::chrono::milliseconds timeout);

    int64_t counter(std::string_view name) const; // 0 when never counted
    std::map<std::string, int64_t> counters() const;

    size_t pending_timers() const;
    const std::filesystem::path& state_dir() const { return state_dir_.path(); }

private:
    struct Recorder;
    struct TimerThread;

    void* library_ = nullptr;
    const pl_module_descriptor* descriptor_ = nullptr;
    TempDir state_dir_;
    std::string state_dir_text_;
    std::unique_ptr<Recorder> recorder_;
    std::unique_ptr<TimerThread> timers_;
    pl_host_api host_{};
    pl_instance* instance_ = nullptr;
    bool started_ = false;
};

} // namespace passerelle::testing
