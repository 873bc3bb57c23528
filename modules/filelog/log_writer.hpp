// LogWriter: appends lines to a file, rotates it by size and syncs it to disk
// according to a policy. It knows nothing about events or the SDK (the module
// turns events into lines), so it is tested on its own with plain strings.
//
// Layout on disk, for path = /var/log/passerelle/events.jsonl and keep = 3:
//   events.jsonl                  the file being written
//   events.jsonl.1 ... .3         older files, .1 the most recent
//   events.jsonl.attachments/     snapshots saved by save_attachment()
//
// Errors (disk full, permission denied, ...) throw std::system_error whose
// what() names the file and the errno text. A failed append leaves the file as
// it was (a half-written line is cut off), so the same line can be retried.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace filelog {

// When written data is forced to disk with fsync().
enum class FsyncPolicy {
    never,  // leave it to the operating system (fastest; a crash may lose recent lines)
    always, // after every line (slowest; nothing acknowledged is ever lost)
    batch,  // at most once per interval, driven by the caller calling sync() (the default)
};

std::optional<FsyncPolicy> parse_fsync_policy(std::string_view text);

// "image/jpeg" -> "jpg"; unknown or empty -> "bin". Parameters and case are ignored.
std::string extension_for_mime(std::string_view mime);

struct LogWriterOptions {
    std::filesystem::path path;
    uint64_t max_size = 10 * 1024 * 1024; // rotate before a line would grow the file past this; 0 = never
    int keep = 5;                         // rotated files kept (path.1 ... path.keep); 0 = none
    FsyncPolicy fsync = FsyncPolicy::batch;
};

class LogWriter {
public:
    // Opens nothing yet: the file is opened (and its directory created) by the
    // first write or by open(), so a missing disk is an error to retry, not a crash.
    explicit LogWriter(LogWriterOptions options);
    ~LogWriter(); // syncs (unless policy never) and closes
    LogWriter(const LogWriter&) = delete;
    LogWriter& operator=(const LogWriter&) = delete;

    // Opens the file for appending if it is not open yet. Throws std::system_error.
    void open();

    // Appends `line` and a newline, rotating first when needed. With
    // FsyncPolicy::always the line is on disk when this returns.
    void append_line(std::string_view line);

    // Appends every line of `lines` (each without its newline) with one
    // write(2) per file: a rotation splits the batch, as append_line would one
    // line at a time. `written` says how many lines are in the file, also when
    // this throws std::system_error (the lines after them are not: a failed
    // write is cut off). With FsyncPolicy::always they are on disk on return.
    void append_lines(std::span<const std::string> lines, size_t& written);

    // The same for lines already joined: `text` holds whole lines, each with
    // its newline, and ends[i] is where line i ends (one past its newline).
    // Written from `text` itself when no rotation splits it: no copy.
    void append_text(std::string_view text, std::span<const size_t> ends, size_t& written);

    // Saves an attachment as <path>.attachments/<name>.<extension_for_mime(mime)>
    // and returns the full path of the file written. `name` must be a plain file
    // name (no '/'); when taken, "-2", "-3"... is appended.
    std::filesystem::path save_attachment(std::string_view name, std::string_view mime,
                                          std::span<const uint8_t> data);

    // Forces what was written since the last sync to disk. Returns false when
    // there was nothing to sync. Throws std::system_error.
    bool sync();
    bool dirty() const { return dirty_; }

    // Closes the file (after a sync unless the policy is never). Next write reopens.
    void close();

    const LogWriterOptions& options() const { return options_; }
    const std::filesystem::path& attachments_dir() const { return attachments_dir_; }
    std::filesystem::path rotated_path(int n) const; // path.n
    uint64_t size() const { return size_; }          // of the current file
    uint64_t rotations() const { return rotations_; }

private:
    void rotate();
    void drop_attachments_older_than(const std::filesystem::path& dropped_log);
    void write_all(std::string_view data);

    LogWriterOptions options_;
    std::filesystem::path attachments_dir_;
    int fd_ = -1;
    uint64_t size_ = 0;
    bool dirty_ = false;
    uint64_t rotations_ = 0;
    std::string batch_; // append_lines' buffer, reused
};

} // namespace filelog
