// A thin RAII layer over the SQLite C API: errors become OutboxError with
// SQLite's own message, statements are finalized on every path.
#pragma once

#include "delivery/outbox.hpp"

#include <sqlite3.h>

#include <string>
#include <string_view>

namespace passerelle::kernel::sqlite {

class Db {
public:
    Db() = default;
    // flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, or SQLITE_OPEN_READONLY.
    Db(const std::string& path, int flags);
    ~Db();
    Db(Db&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
    Db& operator=(Db&& other) noexcept;
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;

    sqlite3* get() const { return db_; }
    explicit operator bool() const { return db_ != nullptr; }
    void exec(const char* sql);            // throws OutboxError
    std::string errmsg() const { return db_ ? sqlite3_errmsg(db_) : "no database"; }

private:
    sqlite3* db_ = nullptr;
};

class Stmt {
public:
    Stmt(const Db& db, const char* sql); // throws OutboxError
    ~Stmt() { sqlite3_finalize(stmt_); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;

    sqlite3_stmt* get() const { return stmt_; }
    void bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
    void bind(int i, std::string_view v) { sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC); }
    void bind_blob(int i, const void* data, size_t size) {
        if (size) sqlite3_bind_blob64(stmt_, i, data, size, SQLITE_STATIC);
        else sqlite3_bind_null(stmt_, i);
    }
    // SQLITE_ROW -> true, SQLITE_DONE -> false, else throws (and resets).
    bool step();
    void reset() { sqlite3_reset(stmt_); sqlite3_clear_bindings(stmt_); }
    int64_t col_int(int i) const { return sqlite3_column_int64(stmt_, i); }
    std::string_view col_text(int i) const {
        auto p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, i));
        return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, i))) : std::string_view{};
    }

private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

} // namespace passerelle::kernel::sqlite
