// The durable per-sink outbox: one SQLite database <state_dir>/outbox.sqlite
// (WAL), one writer thread committing pushed jobs in groups, and per sink a
// delivery engine that takes committed jobs in order, a window at a time,
// retries with backoff and deletes acknowledged rows.
//
// Guarantees: at-least-once, in order per sink, across a daemon crash, kill -9
// and a restart. A job is handed to the sink only once its row is committed.
// With synchronous=NORMAL (the default) a committed row survives a process
// crash or kill -9 (the WAL is in the OS page cache); a power loss or kernel
// crash may lose the last commits since the previous WAL checkpoint, but never
// corrupts the database. `synchronous_full = true` makes each group commit
// fsync the WAL, so a committed row survives a power loss too.
#pragma once

#include "delivery/sink_queue.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace passerelle::kernel {

// level is a pl_log_level (0 trace .. 4 error).
using DeliveryLog = std::function<void(int level, std::string_view msg)>;

// Per-sink delivery policy.
struct QueueOptions {
    uint64_t max_events = 100000;              // backlog bound: beyond it the oldest are dropped
    uint64_t max_bytes = 256ull * 1024 * 1024; // backlog bound in bytes (JSON + attachments)
    std::chrono::milliseconds retry_base{500}; // first transient retry waits up to this (full jitter)
    std::chrono::milliseconds retry_max{5 * 60 * 1000};
    std::chrono::milliseconds auth_retry_base{60 * 1000}; // a sink failing authentication retries every 60 s,
    std::chrono::milliseconds auth_retry_max{10 * 60 * 1000}; // doubling up to 10 min
    DeliveryLog log;                           // empty = the store's log (or nothing)
};

struct OutboxOptions {
    std::string state_dir;                     // created if missing
    bool synchronous_full = false;             // see the header comment
    std::chrono::microseconds commit_linger{1000}; // gather jobs this long before a commit
    size_t max_batch = 8192;                   // jobs per transaction at most
    // The writer's own backlog (pushed, not yet committed). Only reached when
    // the disk is far slower than the producers; beyond it the oldest waiting
    // jobs are dropped (counted per sink, logged) so memory stays bounded.
    size_t writer_max_pending_events = 200000;
    uint64_t writer_max_pending_bytes = 512ull * 1024 * 1024;
    uint64_t max_page_count = 0;               // 0 = unlimited; caps the database file (PRAGMA max_page_count)
    DeliveryLog log;
};

// One sink's rows on disk, for `passerelle outbox list`.
struct OutboxBacklog {
    std::string sink;
    uint64_t events = 0;
    uint64_t bytes = 0;
    int64_t oldest_ms = 0; // when the oldest row was pushed, ms since the Unix epoch (UTC)
};

struct OutboxError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class OutboxStore {
public:
    // Never fails on an unwritable state_dir: the store then runs in memory only,
    // says so in error(), in the log and in every queue's stats (health
    // "degraded"), and events still flow (lost on restart).
    static std::unique_ptr<OutboxStore> open(OutboxOptions options);
    ~OutboxStore(); // commits what was pushed, stops the writer. Close the queues first.

    // Loads the sink's rows left by a previous run (delivered first, in order),
    // then takes new pushes. One open queue per sink name at a time
    // (throws OutboxError otherwise). The target must outlive the queue.
    std::unique_ptr<SinkQueue> open_queue(SinkTarget& target, QueueOptions options = {});

    bool durable() const;       // false when the database could not be opened or a commit failed
    std::string error() const;  // why not durable; "" when durable
    std::string database_path() const;

    // Blocks until every job pushed and every acknowledgement made before the
    // call is committed (or known to have failed). For tests and shutdown.
    void flush();

    // Administration (the database must be usable; throws OutboxError otherwise).
    std::vector<OutboxBacklog> list() const;
    uint64_t drop(std::string_view sink); // throws OutboxError if the sink's queue is open
    std::vector<OutboxBacklog> orphans(const std::set<std::string, std::less<>>& configured) const;

    uint64_t commits() const; // transactions committed so far (each is one WAL fsync with synchronous_full)

    struct Core;
private:
    explicit OutboxStore(std::shared_ptr<Core> core);
    std::shared_ptr<Core> core_;
};

// The same administration without a running store (the CLI, with the daemon
// stopped or running: SQLite WAL allows both). Throws OutboxError when the
// database is missing or unreadable.
std::vector<OutboxBacklog> outbox_list(const std::string& state_dir);
uint64_t outbox_drop(const std::string& state_dir, std::string_view sink);
std::vector<OutboxBacklog> outbox_orphans(const std::string& state_dir,
                                          const std::set<std::string, std::less<>>& configured);

// The daemon's warning for one orphan backlog.
std::string orphan_message(const OutboxBacklog& orphan);

// The in-memory queue with options (make_memory_sink_queue(target) uses the defaults).
std::unique_ptr<SinkQueue> make_memory_sink_queue(SinkTarget& target, QueueOptions options);

} // namespace passerelle::kernel
