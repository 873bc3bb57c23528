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
//      on this module's executor thread: no locks needed in here (except
//      around take_event_now, the one door opened to the host's thread);
//   5. one PL_DEFINE_MODULE line exporting the C entry point.
// The file work itself lives in log_writer.* (no SDK in there, tested alone).
#include "log_writer.hpp"

#include <passerelle/event_json.hpp>
#include <passerelle/module.hpp>

#include <memory>
#include <mutex>
#include <span>
#include <system_error>
#include <vector>

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

    // The kernel may hand us this many events at once; they are written in
    // order (every handler runs serially on our executor), together (flush()).
    static constexpr uint32_t max_inflight = 256;

    // And they come in bursts already (the kernel hands over what a source
    // published in one wake-up at once), so this thread does not linger for
    // more: that would only add a wake-up per burst. [daemon] coalesce, when
    // set, applies instead.
    static constexpr std::chrono::microseconds default_coalesce{0};

    // --- 3. Config ------------------------------------------------------------
    // A ConfigError thrown here is reported at the key's file:line:column.
    explicit FileLog(const passerelle::Init& init) : Instance(init), writer_(options_from(init.config)) {}

    // --- 4. Lifecycle and calls ---------------------------------------------
    void on_start() override {
        stopped_ = false;
        {
            std::lock_guard lock(taken_mutex_);
            taken_closed_ = false;
        }
        // Open now to report a bad path at once; a failure is not fatal (the
        // disk may be mounted later): each delivery tries again.
        try {
            writer_.open();
            set_health("ok", writing_to_);
        } catch (const std::exception& e) {
            set_health("error", e.what());
        }
    }

    void on_stop() override {
        {
            std::lock_guard lock(taken_mutex_);
            taken_closed_ = true; // from now on events come as Calls
        }
        flush_taken(); // what was handed to us before the stop is written and answered
        flush();
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
        if (call.event) return write(*call.event, call.reply);
        call.reply.fail(PL_ERR_INVALID, "deliver needs an event");
    }

    // The SDK calls this on the host's delivering thread, with the host's own
    // event (see Glue::take_event_now): its JSON line goes at once into a text
    // shared with our executor, which writes a burst of them with one write(2)
    // and answers them. Per event, no Call, no task, no line string: each was
    // memory our thread freed and the next event found cold (callgrind, 1,000
    // camera streams into this sink: the hand-over and this thread's work went
    // from ~7,000 to ~5,800 instructions per event, and the cache lines the
    // hand-over writes cold from ~9 to ~4). An event
    // this cannot format (attachment, unsorted attributes) is copied and
    // written in its place among the lines, so the order stays the kernel's.
    bool take_event_now(const pl_event& event, const passerelle::Reply& reply, bool more_follows) {
        std::lock_guard lock(taken_mutex_);
        if (taken_closed_) return false; // stopped: the Call way, as before
        Taken t{reply, 0, nullptr};
        if (event.attachment_size == 0 && passerelle::append_event_json(taken_text_, event)) {
            taken_text_.push_back('\n');
        } else {
            t.event = std::make_unique<passerelle::Event>(passerelle::from_pl(event));
        }
        t.end = taken_text_.size();
        taken_.push_back(std::move(t));
        // The kernel says when another event follows at once: one task per
        // burst (bounded, so a long burst is written as it goes).
        if (!taken_posted_ && (!more_follows || taken_.size() >= kTakenBurst)) {
            taken_posted_ = true;
            executor().post([this] { flush_taken(); }); // runs before destroy(), posted behind it
        }
        return true;
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

    // Events handed over together (the kernel sends up to max_inflight at once)
    // are written together: the line is queued here and a flush, posted behind
    // the deliveries already waiting on our executor, writes them all with one
    // write(2) and only then answers each. An answer always means "in the file".
    void write(passerelle::Event& event, const passerelle::Reply& reply) {
        std::filesystem::path attachment;
        if (!event.attachment.empty()) {
            try {
                attachment = writer_.save_attachment(event.id ? std::to_string(event.id) : "event",
                                                     event.attachment_mime, event.attachment);
            } catch (const std::system_error& e) {
                // Disk full, permission denied...: the outbox keeps the event
                // and delivers it again later.
                host().count("write_errors");
                set_health("error", e.what());
                return reply.retry(e.what());
            }
            // append_event_json writes the "attachment" object only when a path is set.
            event.attachment_path = attachment.string();
        }
        std::string line;
        passerelle::append_event_json(line, event);
        queue_line(std::move(line), std::move(attachment), reply);
    }

    void queue_line(std::string line, std::filesystem::path attachment, const passerelle::Reply& reply) {
        if (queued_ == lines_.size()) lines_.emplace_back();
        lines_[queued_++] = std::move(line);
        waiting_.push_back(Waiting{reply, std::move(attachment)});
        if (!flush_posted_) {
            flush_posted_ = true;
            executor().post([this] { flush(); }); // runs before destroy(), which is posted behind it
        }
    }

    void flush() {
        flush_posted_ = false;
        if (queued_ == 0) return;
        size_t written = 0;
        std::string error;
        try {
            writer_.append_lines(std::span<const std::string>(lines_.data(), queued_), written);
        } catch (const std::system_error& e) {
            error = e.what();
        }
        size_t attachments = 0;
        for (size_t i = 0; i < written; ++i)
            if (!waiting_[i].attachment.empty()) ++attachments;
        settle(written, attachments, error);
        for (size_t i = 0; i < waiting_.size(); ++i) {
            Waiting& w = waiting_[i];
            if (i < written) {
                w.reply.ok();
                continue;
            }
            // Not written: no orphan snapshot for a line not written.
            if (!w.attachment.empty()) {
                std::error_code ignored;
                std::filesystem::remove(w.attachment, ignored);
            }
            w.reply.retry(error);
        }
        waiting_.clear();
        queued_ = 0;
        if (lines_.size() > 64) lines_.resize(64); // a burst's lines do not stay allocated
    }

    // Writes what take_event_now took, in order: runs of lines with one
    // write(2) each, an event it copied through write() in its place.
    void flush_taken() {
        {
            std::lock_guard lock(taken_mutex_);
            taken_posted_ = false;
            taken_text_.swap(writing_text_); // both keep their capacity: no allocation per burst
            taken_.swap(writing_);
        }
        size_t i = 0, from = 0; // the first entry not written yet, where its line starts
        while (i < writing_.size()) {
            if (writing_[i].event) {
                write(*writing_[i].event, writing_[i].reply);
                flush();
                ++i;
                continue;
            }
            writing_ends_.clear();
            size_t j = i;
            for (; j < writing_.size() && !writing_[j].event; ++j) writing_ends_.push_back(writing_[j].end - from);
            size_t written = 0;
            std::string error;
            try {
                writer_.append_text(std::string_view(writing_text_).substr(from, writing_[j - 1].end - from),
                                    writing_ends_, written);
            } catch (const std::system_error& e) {
                error = e.what();
            }
            settle(written, 0, error);
            for (size_t k = i; k < j; ++k) {
                if (k - i < written) writing_[k].reply.ok();
                else writing_[k].reply.retry(error);
            }
            from = writing_[j - 1].end;
            i = j;
        }
        writing_.clear();
        writing_text_.clear();
        if (writing_text_.capacity() > 256 * 1024) std::string().swap(writing_text_); // after a backlog
    }

    // Bookkeeping of a write, before its answers: whoever sees an answer sees
    // the counters and the sync scheduled.
    void settle(size_t written, size_t attachments, const std::string& error) {
        if (written) host().count("events_written", static_cast<int64_t>(written));
        if (attachments) host().count("attachments_written", static_cast<int64_t>(attachments));
        if (error.empty()) {
            set_health("ok", writing_to_);
        } else {
            host().count("write_errors");
            set_health("error", error);
        }
        if (written) schedule_sync();
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

    struct Waiting {
        passerelle::Reply reply;
        std::filesystem::path attachment; // saved for this line; removed if the line is not written
    };

    filelog::LogWriter writer_;
    const std::string writing_to_ = "writing to " + writer_.options().path.string();
    std::vector<std::string> lines_; // lines_[0, queued_) wait for flush(); reused, not freed
    size_t queued_ = 0;
    std::vector<Waiting> waiting_; // one per queued line, same order
    bool flush_posted_ = false;

    // What take_event_now took on the host's thread, under taken_mutex_.
    struct Taken {
        passerelle::Reply reply;
        size_t end = 0;                           // where its line ends in the text (one past '\n')
        std::unique_ptr<passerelle::Event> event; // set when copied instead: written by write()
    };
    static constexpr size_t kTakenBurst = 256;
    std::mutex taken_mutex_;
    std::string taken_text_;
    std::vector<Taken> taken_;
    bool taken_posted_ = false;
    bool taken_closed_ = true; // until on_start, and from on_stop
    // The executor's side, swapped with the two above by flush_taken().
    std::string writing_text_;
    std::vector<Taken> writing_;
    std::vector<size_t> writing_ends_;

    bool sync_pending_ = false;
    bool stopped_ = false;
    std::string health_state_, health_detail_;
};

} // namespace

// --- 5. The one exported symbol (passerelle_module_v1) ----------------------
PL_DEFINE_MODULE(FileLog)
