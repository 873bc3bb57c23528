// filelog: a sink that appends every event routed to it to a file, one JSON
// object per line, with its attachment (a snapshot) saved beside the log.
//
// This is the template module: copy this folder to start your own. What a
// module is made of, in reading order:
//   1. a class deriving from passerelle::Instance;
//   2. its declaration as data: `info`, `keys` (config), `actions`, and
//      optionally `max_inflight` -- the kernel validates configs against it and
//      prints it as the module's reference, so it is the documentation too;
//   3. a constructor reading the (already validated) config;
//   4. on_start / on_stop / on_action, which the SDK always runs one at a time
//      on this module's executor thread: no locks needed in here;
//   5. one PL_DEFINE_MODULE line exporting the C entry point.
// The file work itself lives in log_writer.* (no SDK in there, tested alone).
#include "log_writer.hpp"

#include <passerelle/event_json.hpp>
#include <passerelle/module.hpp>

#include <system_error>

namespace {

using passerelle::key;

class FileLog final : public passerelle::Instance {
public:
    // --- 2. The declaration -------------------------------------------------
    static constexpr passerelle::ModuleInfo info{"filelog", "1.0.0",
                                                 "Appends events to a file as JSON lines, with rotation"};

    // Defaults are text, parsed by the kernel with the key's type. Sizes and
    // durations reach the constructor as integers (bytes, milliseconds).
    static constexpr pl_key_decl keys[] = {
        key("path", PL_KEY_PATH, nullptr, "File the events are appended to, one JSON object per line",
            PL_KEY_REQUIRED),
        key("max_size", PL_KEY_SIZE, "10MiB", "Rotate the file before it grows past this size (0 = never rotate)"),
        key("keep", PL_KEY_INT, "5", "How many rotated files (path.1 ... path.N) to keep; older ones are deleted"),
        key("fsync", PL_KEY_STRING, "batch",
            "When lines are forced to disk: never, always (after each line) or batch (at most once a second)"),
    };

    // A sink receives routed events as the action "deliver" (with call.event set).
    static constexpr pl_action_decl actions[] = {
        {"deliver", "(the routed event)", "Appends the event as one JSON line, saving its attachment beside the log"},
    };

    // The kernel may hand us this many events at once; we still write them one
    // by one, in order, because every handler runs serially on our executor.
    static constexpr uint32_t max_inflight = 256;

    // --- 3. Config ------------------------------------------------------------
    // A ConfigError thrown here is reported at the key's file:line:column.
    explicit FileLog(const passerelle::Init& init) : Instance(init), writer_(options_from(init.config)) {}

    // --- 4. Lifecycle and calls ---------------------------------------------
    void on_start() override {
        stopped_ = false;
        // Open now to report a bad path at once; a failure is not fatal (the
        // disk may be mounted later): each delivery tries again.
        try {
            writer_.open();
            set_health("ok", "writing to " + writer_.options().path.string());
        } catch (const std::exception& e) {
            set_health("error", e.what());
        }
    }

    void on_stop() override {
        stopped_ = true;
        timers().cancel_all(); // the pending batch sync: close() below syncs anyway
        sync_pending_ = false;
        try {
            writer_.close(); // syncs first unless fsync = "never"
        } catch (const std::exception& e) {
            host().error(e.what());
        }
    }

    void on_action(passerelle::Call& call) override {
        if (call.action != "deliver") return Instance::on_action(call); // replies PL_ERR_UNKNOWN_ACTION
        if (!call.event) return call.reply.fail(PL_ERR_INVALID, "deliver needs an event");
        write(*call.event, call.reply);
    }

private:
    static filelog::LogWriterOptions options_from(const passerelle::Fields& config) {
        filelog::LogWriterOptions o;
        o.path = config.string("path");
        if (o.path.empty()) throw passerelle::ConfigError("path", "must not be empty");
        const int64_t max_size = config.size("max_size");
        if (max_size < 0) throw passerelle::ConfigError("max_size", "must not be negative");
        o.max_size = static_cast<uint64_t>(max_size);
        const int64_t keep = config.integer("keep");
        if (keep < 0 || keep > 1000) throw passerelle::ConfigError("keep", "must be between 0 and 1000");
        o.keep = static_cast<int>(keep);
        auto policy = filelog::parse_fsync_policy(config.string("fsync"));
        if (!policy) throw passerelle::ConfigError("fsync", "must be \"never\", \"always\" or \"batch\"");
        o.fsync = *policy;
        return o;
    }

    void write(passerelle::Event& event, const passerelle::Reply& reply) {
        std::filesystem::path attachment;
        try {
            if (!event.attachment.empty()) {
                attachment = writer_.save_attachment(event.id ? std::to_string(event.id) : "event",
                                                     event.attachment_mime, event.attachment);
                // append_event_json writes the "attachment" object only when a path is set.
                event.attachment_path = attachment.string();
            }
            line_.clear();
            passerelle::append_event_json(line_, event);
            writer_.append_line(line_);
        } catch (const std::system_error& e) {
            // Disk full, permission denied...: the outbox keeps the event and
            // delivers it again later. No orphan snapshot for a line not written.
            if (!attachment.empty()) {
                std::error_code ignored;
                std::filesystem::remove(attachment, ignored);
            }
            host().count("write_errors");
            set_health("error", e.what());
            return reply.retry(e.what());
        }
        host().count("events_written");
        if (!attachment.empty()) host().count("attachments_written");
        set_health("ok", "writing to " + writer_.options().path.string());
        schedule_sync();
        reply.ok();
    }

    // fsync = "batch": at most one sync per second, only after something was written.
    void schedule_sync() {
        if (writer_.options().fsync != filelog::FsyncPolicy::batch || sync_pending_) return;
        sync_pending_ = true;
        timers().after(std::chrono::seconds(1), [this] {
            sync_pending_ = false;
            if (stopped_) return; // on_stop already closed (and synced) the file
            try {
                writer_.sync();
            } catch (const std::exception& e) {
                set_health("error", e.what());
            }
        });
    }

    // Reports health only when it changes: the host keeps the last state.
    void set_health(const std::string& state, const std::string& detail) {
        if (state == health_state_ && detail == health_detail_) return;
        health_state_ = state;
        health_detail_ = detail;
        if (state == "error") host().error(detail);
        host().health(state, detail);
    }

    filelog::LogWriter writer_;
    std::string line_; // reused: one allocation for the life of the instance
    bool sync_pending_ = false;
    bool stopped_ = false;
    std::string health_state_, health_detail_;
};

} // namespace

// --- 5. The one exported symbol (passerelle_module_v1) ----------------------
PL_DEFINE_MODULE(FileLog)
