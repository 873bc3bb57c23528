// Counts the syncs (fsync/fdatasync) SQLite really asks for, so the bench prints
// measured fsyncs per second instead of inferring them from the commit count.
//
// A VFS registered as the default that opens files through the real one and
// then swaps each file's method table for a copy whose xSync counts and calls
// the original. The file object stays the real VFS's own, so every other method
// works unchanged.
#include "sync_counter.hpp"

#include <sqlite3.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>

namespace bench {
namespace {

std::atomic<uint64_t> g_syncs{0};
sqlite3_vfs* g_real = nullptr;
sqlite3_vfs g_counting{};

std::mutex g_tables_mutex;
// Real method table -> its counting copy (one per locking style the real VFS uses).
std::map<const sqlite3_io_methods*, std::unique_ptr<sqlite3_io_methods>> g_tables;
std::map<const sqlite3_io_methods*, const sqlite3_io_methods*> g_original_of; // copy -> real

int counting_sync(sqlite3_file* file, int flags) {
    g_syncs.fetch_add(1, std::memory_order_relaxed);
    const sqlite3_io_methods* real;
    {
        std::lock_guard lock(g_tables_mutex);
        real = g_original_of.at(file->pMethods);
    }
    return real->xSync(file, flags);
}

int counting_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
    int rc = g_real->xOpen(g_real, name, file, flags, out_flags);
    if (rc != SQLITE_OK || !file->pMethods) return rc;
    std::lock_guard lock(g_tables_mutex);
    auto& copy = g_tables[file->pMethods];
    if (!copy) {
        copy = std::make_unique<sqlite3_io_methods>(*file->pMethods);
        copy->xSync = counting_sync;
        g_original_of[copy.get()] = file->pMethods;
    }
    file->pMethods = copy.get();
    return rc;
}

} // namespace

void install_sync_counter() {
    if (g_real) return;
    g_real = sqlite3_vfs_find(nullptr);
    g_counting = *g_real;
    g_counting.zName = "sync-counter";
    g_counting.pNext = nullptr;
    g_counting.xOpen = counting_open;
    sqlite3_vfs_register(&g_counting, 1);
}

uint64_t syncs() { return g_syncs.load(std::memory_order_relaxed); }

} // namespace bench
