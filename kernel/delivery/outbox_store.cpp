#include "delivery/delivery_engine.hpp"

#include <passerelle/thread_name.hpp>
#include "delivery/job_codec.hpp"
#include "delivery/outbox.hpp"
#include "delivery/sqlite_db.hpp"

#include <passerelle/abi.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace passerelle::kernel {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT, -- the order a sink takes its rows in
  sink TEXT NOT NULL,
  enqueued_ms INTEGER NOT NULL,         -- push time, ms since the Unix epoch
  bytes INTEGER NOT NULL,               -- what the bounds count (job JSON + attachment)
  job TEXT NOT NULL,                    -- the Job as JSON (job_codec)
  attachment BLOB                       -- the event's attachment bytes, NULL when none
);
CREATE INDEX IF NOT EXISTS outbox_by_sink ON outbox(sink, id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
)sql";

// How long acknowledgements may wait for a commit of new rows to ride with.
constexpr std::chrono::milliseconds kDeleteLinger{100};

std::string database_path_for(const std::string& state_dir) { return (fs::path(state_dir) / "outbox.sqlite").string(); }

std::string not_writable_message(const std::string& state_dir, const std::string& reason) {
    return "state_dir " + state_dir + " is not writable (" + reason +
           "): events are kept in memory only and will be lost on restart";
}

std::vector<OutboxBacklog> list_backlogs(const sqlite::Db& db) {
    std::vector<OutboxBacklog> out;
    sqlite::Stmt st(db, "SELECT sink, COUNT(*), SUM(bytes), MIN(enqueued_ms) FROM outbox GROUP BY sink ORDER BY sink");
    while (st.step()) {
        OutboxBacklog b;
        b.sink = std::string(st.col_text(0));
        b.events = static_cast<uint64_t>(st.col_int(1));
        b.bytes = static_cast<uint64_t>(st.col_int(2));
        b.oldest_ms = st.col_int(3);
        out.push_back(std::move(b));
    }
    return out;
}

uint64_t drop_backlog(const sqlite::Db& db, std::string_view sink) {
    sqlite::Stmt st(db, "DELETE FROM outbox WHERE sink = ?1");
    st.bind(1, sink);
    st.step();
    return static_cast<uint64_t>(sqlite3_changes(db.get()));
}

std::vector<OutboxBacklog> only_orphans(std::vector<OutboxBacklog> all,
                                        const std::set<std::string, std::less<>>& configured) {
    std::vector<OutboxBacklog> out;
    for (auto& b : all)
        if (!configured.count(b.sink)) out.push_back(std::move(b));
    return out;
}

sqlite::Db open_existing(const std::string& state_dir, bool writable) {
    std::string path = database_path_for(state_dir);
    std::error_code ec;
    if (!fs::exists(path, ec)) throw OutboxError("no outbox at " + path);
    return sqlite::Db(path, writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY);
}

} // namespace

// The durable queue's state shared with the writer thread (which may still
// hold pushed jobs of a queue being closed).
struct SinkChannel {
    std::string name;
    std::unique_ptr<DeliveryEngine> engine;
    std::atomic<uint64_t> pending{0}; // pushed, not committed yet
    std::atomic<int64_t> pending_since_ms{0};
};

struct OutboxStore::Core {
    OutboxOptions opt;
    std::string db_path;
    sqlite::Db db; // the writer's connection; only the writer thread uses it after open()
    std::unique_ptr<sqlite::Stmt> insert_stmt;
    std::unique_ptr<sqlite::Stmt> delete_stmt;
    std::unique_ptr<sqlite::Stmt> delete_prefix_stmt;

    struct PendingInsert {
        std::shared_ptr<SinkChannel> channel;
        QueuedJob q;
        std::string json;
    };

    mutable std::mutex m;
    std::condition_variable work_cv;
    std::condition_variable flushed_cv;
    std::deque<PendingInsert> inserts;
    uint64_t pending_bytes = 0;
    std::vector<int64_t> deletes;
    std::map<std::string, int64_t> prefix_deletes; // sink -> every row up to this id is removed
    uint64_t flush_requested = 0;
    uint64_t flush_done = 0;
    bool stopping = false;
    uint64_t overflow_burst = 0;
    std::set<std::string, std::less<>> open_sinks;
    std::string error; // why not durable
    std::atomic<bool> durable{false};
    std::atomic<uint64_t> commits{0};
    std::thread writer;

    void log(int level, const std::string& text) const {
        if (opt.log) opt.log(level, text);
    }

    void set_error(const std::string& text) {
        bool was_durable;
        {
            std::lock_guard lk(m);
            was_durable = durable.exchange(false);
            error = text;
        }
        if (was_durable) log(PL_LOG_ERROR, text);
    }

    void open_database() {
        std::error_code ec;
        fs::create_directories(opt.state_dir, ec);
        if (ec) throw OutboxError(ec.message());
        db = sqlite::Db(db_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
        {
            sqlite::Stmt wal(db, "PRAGMA journal_mode=WAL");
            if (!wal.step() || wal.col_text(0) != "wal")
                throw OutboxError("the file system does not support SQLite WAL mode");
        }
        db.exec(opt.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
        if (opt.max_page_count) {
            std::string pragma = "PRAGMA max_page_count=" + std::to_string(opt.max_page_count);
            db.exec(pragma.c_str());
        }
        db.exec("PRAGMA cache_size=-16384"); // 16 MiB: the hot pages of a flowing outbox stay cached
        db.exec(kSchema);
        // A real write: an existing database in a read-only directory opens fine
        // and only fails on the first commit.
        db.exec("INSERT OR REPLACE INTO meta(key, value) VALUES('opened_ms', CAST(strftime('%s','now') AS INTEGER) * 1000)");
        insert_stmt = std::make_unique<sqlite::Stmt>(
            db, "INSERT INTO outbox(sink, enqueued_ms, bytes, job, attachment) VALUES(?1, ?2, ?3, ?4, ?5)");
        delete_stmt = std::make_unique<sqlite::Stmt>(db, "DELETE FROM outbox WHERE id = ?1");
        delete_prefix_stmt = std::make_unique<sqlite::Stmt>(db, "DELETE FROM outbox WHERE sink = ?1 AND id <= ?2");
    }

    void enqueue_insert(const std::shared_ptr<SinkChannel>& channel, QueuedJob q, std::string json) {
        bool wake;
        uint64_t overflow_dropped = 0;
        {
            std::lock_guard lk(m);
            if (channel->pending.fetch_add(1) == 0) channel->pending_since_ms = q.enqueued_ms;
            pending_bytes += q.bytes;
            inserts.push_back(PendingInsert{channel, std::move(q), std::move(json)});
            // The disk cannot keep up: keep memory bounded, drop the oldest waiting jobs.
            while (inserts.size() > std::max<size_t>(opt.writer_max_pending_events, 1) ||
                   (pending_bytes > opt.writer_max_pending_bytes && inserts.size() > 1)) {
                auto& front = inserts.front();
                pending_bytes -= std::min(pending_bytes, front.q.bytes);
                front.channel->pending.fetch_sub(1);
                front.channel->engine->count_dropped(1);
                inserts.pop_front();
                ++overflow_dropped;
            }
            if (overflow_dropped && overflow_burst == 0)
                log(PL_LOG_ERROR, "outbox writer is falling behind (" + std::to_string(inserts.size()) +
                                      " events waiting for the disk at " + db_path +
                                      "): dropping the oldest waiting events");
            overflow_burst = overflow_dropped ? overflow_burst + overflow_dropped : 0;
            wake = inserts.size() == 1 || inserts.size() >= opt.max_batch;
        }
        if (wake) work_cv.notify_one();
    }

    // Acknowledgements do not wake the writer: they ride with the next commit of
    // new rows, or go on their own after kDeleteLinger when nothing else comes.
    // Under a steady flow that halves the writer's wake-ups and transactions.
    // A crash in that window only means the sink sees those events again
    // (at-least-once); nothing is lost.
    void enqueue_deletes(std::vector<int64_t> rows, SinkChannel* channel = nullptr, int64_t upto = 0) {
        bool wake;
        {
            std::lock_guard lk(m);
            if (deletes.empty()) deletes = std::move(rows);
            else deletes.insert(deletes.end(), rows.begin(), rows.end());
            if (channel && upto) {
                auto& v = prefix_deletes[channel->name];
                v = std::max(v, upto);
            }
            wake = deletes.size() >= opt.max_batch; // keep the pending list bounded
        }
        if (wake) work_cv.notify_one();
    }

    // Flushes, waiting at most `limit`. True when everything before the call was committed.
    bool flush_for(std::chrono::milliseconds limit) {
        std::unique_lock lk(m);
        uint64_t token = ++flush_requested;
        work_cv.notify_one();
        return flushed_cv.wait_for(lk, limit, [&] { return flush_done >= token; });
    }

    // One transaction: the acknowledgements, then the new rows. On failure
    // nothing is kept and the jobs go to delivery from memory.
    bool write_batch(std::vector<PendingInsert>& batch, std::vector<int64_t>& dels,
                     const std::map<std::string, int64_t>& prefixes) {
        if (!db) return false;
        std::vector<int64_t> rowids;
        rowids.reserve(batch.size());
        try {
            db.exec("BEGIN IMMEDIATE");
            for (const auto& [sink, upto] : prefixes) {
                delete_prefix_stmt->bind(1, std::string_view(sink));
                delete_prefix_stmt->bind(2, upto);
                delete_prefix_stmt->step();
                delete_prefix_stmt->reset();
            }
            for (int64_t id : dels) {
                delete_stmt->bind(1, id);
                delete_stmt->step();
                delete_stmt->reset();
            }
            for (auto& p : batch) {
                const Job& job = *p.q.job;
                insert_stmt->bind(1, std::string_view(p.channel->name));
                insert_stmt->bind(2, p.q.enqueued_ms);
                insert_stmt->bind(3, static_cast<int64_t>(p.q.bytes));
                insert_stmt->bind(4, std::string_view(p.json));
                insert_stmt->bind_blob(5, job.event ? job.event->attachment.data() : nullptr,
                                       job.event ? job.event->attachment.size() : 0);
                insert_stmt->step();
                insert_stmt->reset();
                rowids.push_back(sqlite3_last_insert_rowid(db.get()));
            }
            db.exec("COMMIT");
        } catch (const OutboxError& e) {
            insert_stmt->reset();
            delete_stmt->reset();
            delete_prefix_stmt->reset();
            if (!sqlite3_get_autocommit(db.get())) sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
            set_error("outbox commit to " + db_path + " failed (" + e.what() +
                      "): events are kept in memory only and will be lost on restart");
            return false;
        }
        commits.fetch_add(1, std::memory_order_relaxed);
        for (size_t i = 0; i < batch.size(); ++i) batch[i].q.rowid = rowids[i];
        if (!durable.load()) {
            {
                std::lock_guard lk(m);
                error.clear();
                durable = true;
            }
            log(PL_LOG_INFO, "outbox " + db_path + " is writable again; new events are durable");
        }
        return true;
    }

    void writer_loop() {
        std::unique_lock lk(m);
        for (;;) {
            auto urgent = [&] {
                return stopping || !inserts.empty() || deletes.size() >= opt.max_batch || flush_requested != flush_done;
            };
            if (deletes.empty() && prefix_deletes.empty()) work_cv.wait(lk, urgent);
            else work_cv.wait_for(lk, kDeleteLinger, urgent);
            // Group commit: let a few more jobs arrive so one commit covers them all.
            if (!inserts.empty() && !stopping && inserts.size() < opt.max_batch && opt.commit_linger.count() > 0)
                work_cv.wait_for(lk, opt.commit_linger, [&] { return stopping || inserts.size() >= opt.max_batch; });
            const uint64_t token = flush_requested;
            std::vector<PendingInsert> batch;
            size_t n = std::min(inserts.size(), std::max<size_t>(opt.max_batch, 1));
            batch.reserve(n);
            for (size_t i = 0; i < n; ++i) {
                pending_bytes -= std::min(pending_bytes, inserts.front().q.bytes);
                batch.push_back(std::move(inserts.front()));
                inserts.pop_front();
            }
            std::vector<int64_t> dels = std::move(deletes);
            deletes.clear();
            auto prefixes = std::move(prefix_deletes);
            prefix_deletes.clear();
            const bool took_all = inserts.empty();
            lk.unlock();

            if (!batch.empty() || !dels.empty() || !prefixes.empty()) {
                if (!write_batch(batch, dels, prefixes) && db) {
                    // Keep the acknowledgements for the next try (else the rows
                    // would be delivered again after a restart).
                    std::lock_guard relock(m);
                    if (deletes.size() + dels.size() < 10'000'000) deletes.insert(deletes.begin(), dels.begin(), dels.end());
                    for (auto& [sink, upto] : prefixes) prefix_deletes[sink] = std::max(prefix_deletes[sink], upto);
                }
                hand_over(batch);
            }

            lk.lock();
            if (took_all) {
                flush_done = std::max(flush_done, token);
                flushed_cv.notify_all();
            }
            if (stopping && inserts.empty() && ((deletes.empty() && prefix_deletes.empty()) || !durable.load())) {
                flush_done = flush_requested;
                flushed_cv.notify_all();
                return;
            }
        }
    }

    // Committed (or, on failure, memory-only) jobs go to their sink's engine, in order.
    static void hand_over(std::vector<PendingInsert>& batch) {
        size_t i = 0;
        while (i < batch.size()) {
            auto channel = batch[i].channel;
            std::vector<QueuedJob> run;
            for (; i < batch.size() && batch[i].channel == channel; ++i) run.push_back(std::move(batch[i].q));
            const uint64_t n = run.size();
            channel->engine->append(std::move(run));
            channel->pending.fetch_sub(n); // after the append: stats count a job twice briefly, never zero times
        }
    }
};

namespace {

class DurableQueue final : public SinkQueue {
public:
    DurableQueue(std::shared_ptr<OutboxStore::Core> core, std::shared_ptr<SinkChannel> channel)
        : core_(std::move(core)), channel_(std::move(channel)) {}
    ~DurableQueue() override { close(std::chrono::milliseconds(0)); }

    void push(Job job) override {
        QueuedJob q;
        q.enqueued_ms = now_ms_since_epoch();
        q.job = std::make_shared<const Job>(std::move(job));
        std::string json = encode_job_json(*q.job);
        q.bytes = job_bytes(json.size(), *q.job);
        core_->enqueue_insert(channel_, std::move(q), std::move(json));
    }

    SinkStats stats() const override {
        SinkStats s = channel_->engine->stats();
        uint64_t pending = channel_->pending.load();
        if (pending) {
            if (s.depth == 0)
                s.oldest_age_ms = std::max<int64_t>(0, now_ms_since_epoch() - channel_->pending_since_ms.load());
            s.depth += pending;
            s.uncommitted = pending;
        }
        if (!core_->durable.load()) {
            std::string err;
            {
                std::lock_guard lk(core_->m);
                err = core_->error;
            }
            if (s.health == "ok") s.health = "degraded";
            s.last_error = s.last_error.empty() ? err : err + "; " + s.last_error;
        }
        return s;
    }

    void close(std::chrono::milliseconds grace) override {
        if (closed_) return;
        closed_ = true;
        auto deadline = std::chrono::steady_clock::now() + grace;
        core_->flush_for(grace); // pushed jobs reach the disk (the writer commits them anyway)
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        channel_->engine->close(std::max(left, std::chrono::milliseconds(0)));
        std::lock_guard lk(core_->m);
        core_->open_sinks.erase(channel_->name);
    }

private:
    std::shared_ptr<OutboxStore::Core> core_;
    std::shared_ptr<SinkChannel> channel_;
    bool closed_ = false;
};

} // namespace

OutboxStore::OutboxStore(std::shared_ptr<Core> core) : core_(std::move(core)) {}

std::unique_ptr<OutboxStore> OutboxStore::open(OutboxOptions options) {
    auto core = std::make_shared<Core>();
    core->opt = std::move(options);
    core->db_path = database_path_for(core->opt.state_dir);
    try {
        if (core->opt.state_dir.empty()) throw OutboxError("no state_dir configured");
        core->open_database();
        core->durable = true;
    } catch (const std::exception& e) {
        core->insert_stmt.reset();
        core->delete_stmt.reset();
        core->delete_prefix_stmt.reset();
        core->db = sqlite::Db();
        core->error = not_writable_message(core->opt.state_dir, e.what());
        core->log(PL_LOG_ERROR, core->error);
    }
    Core* raw = core.get();
    core->writer = std::thread([raw] { raw->writer_loop(); });
    set_thread_name(core->writer, "outbox");
    return std::unique_ptr<OutboxStore>(new OutboxStore(std::move(core)));
}

OutboxStore::~OutboxStore() {
    {
        std::lock_guard lk(core_->m);
        core_->stopping = true;
    }
    core_->work_cv.notify_all();
    if (core_->writer.joinable()) core_->writer.join();
    core_->insert_stmt.reset();
    core_->delete_stmt.reset();
    core_->delete_prefix_stmt.reset();
    core_->db = sqlite::Db();
}

std::unique_ptr<SinkQueue> OutboxStore::open_queue(SinkTarget& target, QueueOptions options) {
    const std::string name = target.sink_name();
    {
        std::lock_guard lk(core_->m);
        if (!core_->open_sinks.insert(name).second) throw OutboxError("the outbox queue for '" + name + "' is already open");
    }
    if (!options.log) options.log = core_->opt.log;
    auto channel = std::make_shared<SinkChannel>();
    channel->name = name;
    std::weak_ptr<Core> weak = core_;
    channel->engine = std::make_unique<DeliveryEngine>(target, options, [weak, channel = channel.get()](
                                                                             std::vector<int64_t> rows, int64_t upto) {
        if (auto core = weak.lock()) core->enqueue_deletes(std::move(rows), upto ? channel : nullptr, upto);
    });

    if (core_->durable.load()) {
        // Acknowledgements of a previous queue for this sink land first, then
        // what is left is loaded and delivered before anything new.
        core_->flush_for(std::chrono::milliseconds(30000));
        uint64_t loaded = 0;
        std::vector<int64_t> unreadable;
        try {
            sqlite::Db reader(core_->db_path, SQLITE_OPEN_READONLY);
            sqlite::Stmt st(reader, "SELECT id, enqueued_ms, bytes, job, attachment FROM outbox WHERE sink = ?1 ORDER BY id");
            st.bind(1, std::string_view(name));
            std::vector<QueuedJob> chunk;
            while (st.step()) {
                std::string error;
                auto job = decode_job(st.col_text(3), sqlite3_column_blob(st.get(), 4),
                                      static_cast<size_t>(sqlite3_column_bytes(st.get(), 4)), error);
                if (!job) {
                    core_->log(PL_LOG_ERROR, "outbox for '" + name + "': row " + std::to_string(st.col_int(0)) +
                                                 " is unreadable (" + error + "); deleting it");
                    unreadable.push_back(st.col_int(0));
                    continue;
                }
                QueuedJob q;
                q.job = std::move(job);
                q.rowid = st.col_int(0);
                q.enqueued_ms = st.col_int(1);
                q.bytes = static_cast<uint64_t>(st.col_int(2));
                chunk.push_back(std::move(q));
                ++loaded;
                if (chunk.size() == 1024) channel->engine->append(std::exchange(chunk, {}));
            }
            channel->engine->append(std::move(chunk));
        } catch (const OutboxError& e) {
            core_->log(PL_LOG_ERROR, "outbox for '" + name + "': cannot read the rows left by the previous run: " +
                                         e.what());
        }
        if (!unreadable.empty()) core_->enqueue_deletes(std::move(unreadable));
        if (loaded)
            core_->log(PL_LOG_INFO, "outbox for '" + name + "': " + std::to_string(loaded) +
                                        " events left by the previous run are delivered first");
    }
    return std::make_unique<DurableQueue>(core_, std::move(channel));
}

bool OutboxStore::durable() const { return core_->durable.load(); }

std::string OutboxStore::error() const {
    std::lock_guard lk(core_->m);
    return core_->error;
}

std::string OutboxStore::database_path() const { return core_->db_path; }

void OutboxStore::flush() { core_->flush_for(std::chrono::hours(24)); }

uint64_t OutboxStore::commits() const { return core_->commits.load(); }

std::vector<OutboxBacklog> OutboxStore::list() const {
    core_->flush_for(std::chrono::milliseconds(30000));
    return outbox_list(core_->opt.state_dir);
}

uint64_t OutboxStore::drop(std::string_view sink) {
    {
        std::lock_guard lk(core_->m);
        if (core_->open_sinks.count(sink))
            throw OutboxError("the outbox for '" + std::string(sink) + "' is in use by a running instance");
    }
    core_->flush_for(std::chrono::milliseconds(30000));
    return outbox_drop(core_->opt.state_dir, sink);
}

std::vector<OutboxBacklog> OutboxStore::orphans(const std::set<std::string, std::less<>>& configured) const {
    return only_orphans(list(), configured);
}

std::vector<OutboxBacklog> outbox_list(const std::string& state_dir) {
    return list_backlogs(open_existing(state_dir, false));
}

uint64_t outbox_drop(const std::string& state_dir, std::string_view sink) {
    return drop_backlog(open_existing(state_dir, true), sink);
}

std::vector<OutboxBacklog> outbox_orphans(const std::string& state_dir,
                                          const std::set<std::string, std::less<>>& configured) {
    return only_orphans(outbox_list(state_dir), configured);
}

std::string orphan_message(const OutboxBacklog& o) {
    return "outbox for '" + o.sink + "' holds " + std::to_string(o.events) + " events but no instance '" + o.sink +
           "' is configured; drop it with `passerelle outbox drop " + o.sink + "`";
}

} // namespace passerelle::kernel
