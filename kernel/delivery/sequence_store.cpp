#include "delivery/sequence_store.hpp"

#include "delivery/sqlite_db.hpp"

#include <passerelle/abi.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <mutex>

namespace passerelle::kernel {

namespace {

uint64_t clock_floor() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

} // namespace

struct SequenceStore::Impl {
    DeliveryLog log;
    uint64_t block = 10000;
    sqlite::Db db;
    std::mutex m;
    uint64_t next = 1;
    uint64_t limit = 1; // ids below limit are reserved on disk
    bool durable = false;

    // Persists a new block end before any id of the block is used.
    void reserve() {
        uint64_t new_limit = next + block;
        if (durable) {
            try {
                sqlite::Stmt st(db, "INSERT INTO sequence(name, next) VALUES('event_id', ?1) "
                                    "ON CONFLICT(name) DO UPDATE SET next = excluded.next");
                st.bind(1, static_cast<int64_t>(new_limit));
                st.step();
            } catch (const OutboxError& e) {
                durable = false;
                if (log)
                    log(PL_LOG_ERROR, std::string("event id sequence cannot be saved (") + e.what() +
                                          "); ids now follow the clock only");
            }
        }
        limit = new_limit;
    }
};

SequenceStore::SequenceStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SequenceStore::~SequenceStore() = default;

std::unique_ptr<SequenceStore> SequenceStore::open(const std::string& state_dir, DeliveryLog log, uint64_t block) {
    auto impl = std::make_unique<Impl>();
    impl->log = std::move(log);
    impl->block = std::max<uint64_t>(block, 1);
    uint64_t stored = 0;
    try {
        std::error_code ec;
        std::filesystem::create_directories(state_dir, ec);
        if (ec) throw OutboxError(ec.message());
        impl->db = sqlite::Db((std::filesystem::path(state_dir) / "outbox.sqlite").string(),
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
        impl->db.exec("PRAGMA journal_mode=WAL");
        impl->db.exec("CREATE TABLE IF NOT EXISTS sequence (name TEXT PRIMARY KEY, next INTEGER NOT NULL)");
        sqlite::Stmt st(impl->db, "SELECT next FROM sequence WHERE name = 'event_id'");
        if (st.step()) stored = static_cast<uint64_t>(st.col_int(0));
        impl->durable = true;
    } catch (const std::exception& e) {
        impl->db = sqlite::Db();
        if (impl->log)
            impl->log(PL_LOG_ERROR, "state_dir " + state_dir + " is not writable (" + e.what() +
                                        "): event ids follow the clock only");
    }
    impl->next = std::max<uint64_t>({stored, clock_floor(), 1});
    impl->reserve();
    return std::unique_ptr<SequenceStore>(new SequenceStore(std::move(impl)));
}

uint64_t SequenceStore::next() {
    std::lock_guard lk(impl_->m);
    if (impl_->next >= impl_->limit) impl_->reserve();
    return impl_->next++;
}

bool SequenceStore::durable() const {
    std::lock_guard lk(impl_->m);
    return impl_->durable;
}

} // namespace passerelle::kernel
