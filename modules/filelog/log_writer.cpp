#include "log_writer.hpp"

#include <cerrno>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace filelog {

namespace {

// The exception every failure becomes: "<what> <file>: <errno text>".
[[noreturn]] void fail(int err, const std::string& what, const fs::path& file) {
    throw std::system_error(err, std::generic_category(), what + " " + file.string());
}

[[noreturn]] void fail(const std::error_code& ec, const std::string& what, const fs::path& file) {
    throw std::system_error(ec, what + " " + file.string());
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// Writes all of `data` to `fd`, retrying short writes. Returns 0 or an errno.
int write_fully(int fd, const char* data, size_t size) {
    while (size > 0) {
        ssize_t n = ::write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        data += n;
        size -= static_cast<size_t>(n);
    }
    return 0;
}

} // namespace

std::optional<FsyncPolicy> parse_fsync_policy(std::string_view text) {
    if (text == "never") return FsyncPolicy::never;
    if (text == "always") return FsyncPolicy::always;
    if (text == "batch") return FsyncPolicy::batch;
    return std::nullopt;
}

std::string extension_for_mime(std::string_view mime) {
    // "image/jpeg; charset=..." -> "image/jpeg"
    if (auto semi = mime.find(';'); semi != std::string_view::npos) mime = mime.substr(0, semi);
    while (!mime.empty() && mime.back() == ' ') mime.remove_suffix(1);
    const std::string m = lower(mime);
    struct Entry {
        const char* mime;
        const char* ext;
    };
    static constexpr Entry table[] = {
        {"image/jpeg", "jpg"},      {"image/jpg", "jpg"},       {"image/png", "png"},
        {"image/gif", "gif"},       {"image/bmp", "bmp"},       {"image/webp", "webp"},
        {"video/mp4", "mp4"},       {"video/x-matroska", "mkv"}, {"audio/wav", "wav"},
        {"audio/x-wav", "wav"},     {"audio/wave", "wav"},      {"audio/mpeg", "mp3"},
        {"application/json", "json"}, {"application/xml", "xml"}, {"text/xml", "xml"},
        {"text/plain", "txt"},
    };
    for (const auto& e : table)
        if (m == e.mime) return e.ext;
    return "bin";
}

LogWriter::LogWriter(LogWriterOptions options) : options_(std::move(options)) {
    // Absolute, so the attachment paths written into the lines mean the same
    // thing to whoever reads the log, wherever they run from.
    options_.path = fs::absolute(options_.path);
    if (options_.keep < 0) options_.keep = 0;
    attachments_dir_ = options_.path.parent_path() / (options_.path.filename().string() + ".attachments");
}

LogWriter::~LogWriter() {
    try {
        close();
    } catch (...) {
        // Nothing to report to from a destructor; the module logs sync errors itself.
    }
}

fs::path LogWriter::rotated_path(int n) const { return fs::path(options_.path.string() + "." + std::to_string(n)); }

void LogWriter::open() {
    if (fd_ >= 0) return;
    std::error_code ec;
    fs::create_directories(options_.path.parent_path(), ec);
    if (ec) fail(ec, "cannot create the directory of", options_.path);

    // O_APPEND: every write lands at the end even if someone else appends too.
    // O_RDWR (not O_WRONLY) only to peek at the last byte below.
    int fd = ::open(options_.path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) fail(errno, "cannot open", options_.path);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        int err = errno;
        ::close(fd);
        fail(err, "cannot stat", options_.path);
    }
    fd_ = fd;
    size_ = static_cast<uint64_t>(st.st_size);

    // A crash may have cut the last line short: end it, so that the next line
    // starts on a line of its own and stays readable.
    char last = '\n';
    if (size_ > 0 && ::pread(fd_, &last, 1, static_cast<off_t>(size_ - 1)) == 1 && last != '\n') write_all("\n");
}

void LogWriter::write_all(std::string_view data) {
    if (int err = write_fully(fd_, data.data(), data.size())) {
        // Take back what part of it went in (best effort), so a retry does not
        // leave a broken line in the middle of the file.
        if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
            // The file keeps a partial line; open() repairs that on the next start.
        }
        fail(err, "cannot write to", options_.path);
    }
    size_ += data.size();
    dirty_ = true;
}

void LogWriter::append_line(std::string_view line) {
    open();
    const uint64_t needed = line.size() + 1;
    // Rotate before a line would cross max_size. A line bigger than max_size on
    // its own still goes (alone) into a fresh file: lines are never split.
    if (options_.max_size > 0 && size_ > 0 && size_ + needed > options_.max_size) rotate();

    // One write() for line + newline: concurrent readers never see half a line
    // followed by another writer's data.
    std::string buffer;
    buffer.reserve(needed);
    buffer.append(line);
    buffer.push_back('\n');
    write_all(buffer);
    if (options_.fsync == FsyncPolicy::always) sync();
}

void LogWriter::append_lines(std::span<const std::string> lines, size_t& written) {
    written = 0;
    if (lines.empty()) return;
    open();
    while (written < lines.size()) {
        // Same rule as append_line: rotate before a line would cross max_size.
        if (options_.max_size > 0 && size_ > 0 && size_ + lines[written].size() + 1 > options_.max_size) rotate();
        // The run of lines that fits in this file (at least one: a line bigger
        // than max_size goes alone into a fresh file).
        batch_.clear();
        uint64_t projected = size_;
        size_t end = written;
        for (; end < lines.size(); ++end) {
            const uint64_t needed = lines[end].size() + 1;
            if (end > written && options_.max_size > 0 && projected + needed > options_.max_size) break;
            batch_.append(lines[end]);
            batch_.push_back('\n');
            projected += needed;
        }
        write_all(batch_);
        written = end;
    }
    // A batch of one thousand lines must not keep one thousand lines' worth of memory.
    if (batch_.capacity() > 256 * 1024) std::string().swap(batch_);
    if (options_.fsync == FsyncPolicy::always) sync();
}

void LogWriter::append_text(std::string_view text, std::span<const size_t> ends, size_t& written) {
    written = 0;
    if (ends.empty()) return;
    open();
    size_t from = 0; // where line `written` starts in text
    while (written < ends.size()) {
        // Same rules as append_lines: rotate before a line would cross
        // max_size, and at least one line goes into each file.
        if (options_.max_size > 0 && size_ > 0 && size_ + (ends[written] - from) > options_.max_size) rotate();
        size_t end = written + 1;
        if (options_.max_size == 0) end = ends.size();
        else
            while (end < ends.size() && size_ + (ends[end] - from) <= options_.max_size) ++end;
        write_all(text.substr(from, ends[end - 1] - from));
        from = ends[end - 1];
        written = end;
    }
    if (options_.fsync == FsyncPolicy::always) sync();
}

void LogWriter::rotate() {
    close();
    std::error_code ec;
    // The oldest file falls off the end, and the attachments its lines point to with it.
    const fs::path oldest = options_.keep > 0 ? rotated_path(options_.keep) : options_.path;
    if (fs::exists(oldest, ec)) {
        drop_attachments_older_than(oldest);
        if (!fs::remove(oldest, ec) && ec) fail(ec, "cannot remove", oldest);
    }
    // Files left over from an earlier, larger `keep`.
    for (int i = options_.keep + 1; fs::exists(rotated_path(i), ec); ++i) fs::remove(rotated_path(i), ec);
    // path.(n-1) -> path.n, ..., path -> path.1
    for (int i = options_.keep - 1; i >= 1; --i) {
        if (!fs::exists(rotated_path(i), ec)) continue;
        fs::rename(rotated_path(i), rotated_path(i + 1), ec);
        if (ec) fail(ec, "cannot rename", rotated_path(i));
    }
    if (options_.keep > 0 && fs::exists(options_.path, ec)) {
        fs::rename(options_.path, rotated_path(1), ec);
        if (ec) fail(ec, "cannot rename", options_.path);
    }
    ++rotations_;
    open();
}

// Every attachment is saved just before the line that names it, so the ones
// written before the dropped file's last change belong to it (or to older
// files). Strictly older: on a tie we keep the file, the next rotation takes it.
void LogWriter::drop_attachments_older_than(const fs::path& dropped_log) {
    std::error_code ec;
    const auto limit = fs::last_write_time(dropped_log, ec);
    if (ec) return;
    for (auto it = fs::directory_iterator(attachments_dir_, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
        std::error_code item_ec;
        if (!it->is_regular_file(item_ec)) continue;
        auto when = it->last_write_time(item_ec);
        if (!item_ec && when < limit) fs::remove(it->path(), item_ec);
    }
}

fs::path LogWriter::save_attachment(std::string_view name, std::string_view mime, std::span<const uint8_t> data) {
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos ||
        name.find('\0') != std::string_view::npos)
        throw std::invalid_argument("attachment name must be a plain file name");
    std::error_code ec;
    fs::create_directories(attachments_dir_, ec);
    if (ec) fail(ec, "cannot create", attachments_dir_);

    const std::string ext = extension_for_mime(mime);
    for (int n = 1; n <= 1000; ++n) {
        std::string file_name(name);
        if (n > 1) {
            file_name.push_back('-');
            file_name += std::to_string(n);
        }
        file_name.push_back('.');
        file_name += ext;
        const fs::path file = attachments_dir_ / file_name;
        // O_EXCL: never overwrite a snapshot another line already points to.
        int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) {
            if (errno == EEXIST) continue;
            fail(errno, "cannot create", file);
        }
        int err = write_fully(fd, reinterpret_cast<const char*>(data.data()), data.size());
        if (!err && options_.fsync == FsyncPolicy::always && ::fsync(fd) != 0) err = errno;
        if (::close(fd) != 0 && !err) err = errno;
        if (err) {
            ::unlink(file.c_str()); // no half snapshot left behind
            fail(err, "cannot write", file);
        }
        return file;
    }
    fail(EEXIST, "too many attachments named", attachments_dir_ / std::string(name));
}

bool LogWriter::sync() {
    if (fd_ < 0 || !dirty_) return false;
    if (::fsync(fd_) != 0) fail(errno, "cannot fsync", options_.path);
    dirty_ = false;
    return true;
}

void LogWriter::close() {
    if (fd_ < 0) return;
    int fd = fd_;
    fd_ = -1;
    int err = 0;
    if (dirty_ && options_.fsync != FsyncPolicy::never && ::fsync(fd) != 0) err = errno;
    dirty_ = false;
    if (::close(fd) != 0 && !err) err = errno;
    if (err) fail(err, "cannot close", options_.path);
}

} // namespace filelog
