// LogWriter on its own: lines, rotation and retention, fsync policy,
// attachments and their cleanup, and the error paths (disk full, not a directory).
#include "log_writer.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <stdlib.h>
#include <unistd.h>

namespace fs = std::filesystem;
using filelog::FsyncPolicy;
using filelog::LogWriter;
using filelog::LogWriterOptions;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "filelog-writer-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<std::string> read_lines(const fs::path& p) {
    std::vector<std::string> lines;
    std::ifstream in(p);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// "line-007-xxxxxxxx": fixed width, so sizes are easy to reason about.
std::string numbered(int i, size_t width = 30) {
    char head[16];
    std::snprintf(head, sizeof head, "line-%03d-", i);
    std::string s = head;
    s.resize(width - 1, 'x'); // + '\n' = width bytes on disk
    return s;
}

} // namespace

TEST_CASE("fsync policy names", "[filelog][writer]") {
    CHECK(filelog::parse_fsync_policy("never") == FsyncPolicy::never);
    CHECK(filelog::parse_fsync_policy("always") == FsyncPolicy::always);
    CHECK(filelog::parse_fsync_policy("batch") == FsyncPolicy::batch);
    CHECK_FALSE(filelog::parse_fsync_policy("Always").has_value());
    CHECK_FALSE(filelog::parse_fsync_policy("").has_value());
    CHECK_FALSE(filelog::parse_fsync_policy("interval").has_value());
}

TEST_CASE("extensions from mime types", "[filelog][writer]") {
    CHECK(filelog::extension_for_mime("image/jpeg") == "jpg");
    CHECK(filelog::extension_for_mime("IMAGE/JPEG") == "jpg");
    CHECK(filelog::extension_for_mime("image/jpeg; charset=binary") == "jpg");
    CHECK(filelog::extension_for_mime("image/png") == "png");
    CHECK(filelog::extension_for_mime("audio/x-wav") == "wav");
    CHECK(filelog::extension_for_mime("") == "bin");
    CHECK(filelog::extension_for_mime("application/x-unknown") == "bin");
    CHECK(filelog::extension_for_mime("../../etc/passwd") == "bin");
}

TEST_CASE("lines are appended, one per call, and survive a reopen", "[filelog][writer]") {
    TempDir dir;
    const fs::path log = dir.path / "sub" / "events.jsonl"; // the directory is created
    {
        LogWriter w({log, 0, 5, FsyncPolicy::never});
        w.append_line("{\"a\":1}");
        w.append_line("{\"b\":2}");
        CHECK(w.size() == 16);
    }
    {
        LogWriter w({log, 0, 5, FsyncPolicy::never});
        w.append_line("{\"c\":3}");
        CHECK(w.size() == 24); // counts what was already there
    }
    CHECK(read_lines(log) == std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "{\"c\":3}"});
}

TEST_CASE("a line cut short by a crash is ended before the next one", "[filelog][writer]") {
    TempDir dir;
    const fs::path log = dir.path / "events.jsonl";
    { std::ofstream(log) << "{\"complete\":1}\n{\"cut\":"; }
    LogWriter w({log, 0, 5, FsyncPolicy::never});
    w.append_line("{\"next\":2}");
    w.close();
    CHECK(read_file(log) == "{\"complete\":1}\n{\"cut\":\n{\"next\":2}\n");
}

TEST_CASE("rotation by size keeps `keep` files, newest first", "[filelog][writer]") {
    TempDir dir;
    const fs::path log = dir.path / "events.jsonl";
    const int keep = GENERATE(1, 3);
    // 30-byte lines, 100-byte files: three lines per file.
    LogWriter w({log, 100, keep, FsyncPolicy::never});
    const int total = 20;
    for (int i = 1; i <= total; ++i) w.append_line(numbered(i));
    w.close();

    CHECK(fs::exists(log));
    for (int n = 1; n <= keep; ++n) CHECK(fs::exists(w.rotated_path(n)));
    CHECK_FALSE(fs::exists(w.rotated_path(keep + 1)));

    // Read from oldest to newest: the lines are the last ones written, in
    // order, none split, and every file within max_size.
    std::vector<std::string> seen;
    for (int n = keep; n >= 1; --n) {
        CHECK(fs::file_size(w.rotated_path(n)) <= 100);
        for (auto& l : read_lines(w.rotated_path(n))) seen.push_back(l);
    }
    CHECK(fs::file_size(log) <= 100);
    for (auto& l : read_lines(log)) seen.push_back(l);
    REQUIRE(!seen.empty());
    const int first = total - static_cast<int>(seen.size()) + 1;
    for (size_t i = 0; i < seen.size(); ++i) CHECK(seen[i] == numbered(first + static_cast<int>(i)));
    // The current file plus `keep` full files of three lines each.
    CHECK(seen.size() == static_cast<size_t>(3 * keep + (total % 3 == 0 ? 3 : total % 3)));
    CHECK(w.rotations() == static_cast<uint64_t>((total - 1) / 3));
}

TEST_CASE("keep = 0 keeps only the current file", "[filelog][writer]") {
    TempDir dir;
    const fs::path log = dir.path / "events.jsonl";
    LogWriter w({log, 100, 0, FsyncPolicy::never});
    for (int i = 1; i <= 10; ++i) w.append_line(numbered(i));
    w.close();
    CHECK_FALSE(fs::exists(w.rotated_path(1)));
    CHECK(read_lines(log) == std::vector<std::string>{numbered(10)});
}

TEST_CASE("files left by a larger keep are removed at the next rotation", "[filelog][writer]") {
    TempDir dir;
    const fs::path log = dir.path / "events.jsonl";
    {
        LogWriter w({log, 100, 4, FsyncPolicy::never});
        for (int i = 1; i <= 20; ++i) w.append_line(numbered(i));
    }
    REQUIRE(fs::exists(log.string() + ".4"));
    LogWriter w({log, 100, 2, FsyncPolicy::never});
    for (int i = 21; i <= 24; ++i) w.append_line(numbered(i));
    CHECK(fs::exists(w.rotated_path(2)));
    CHECK_FALSE(fs::exists(w.rotated_path(3)));
    CHECK_FALSE(fs::exists(w.rotated_path(4)));
}

TEST_CASE("a line longer than max_size goes alone into a fresh file", "[filelog][writer]") {
    TempDir dir;
    const fs::path log = dir.path / "events.jsonl";
    LogWriter w({log, 50, 3, FsyncPolicy::never});
    w.append_line("small");
    const std::string huge(500, 'h');
    w.append_line(huge);
    w.append_line("after");
    w.close();
    CHECK(read_lines(w.rotated_path(2)) == std::vector<std::string>{"small"});
    CHECK(read_lines(w.rotated_path(1)) == std::vector<std::string>{huge});
    CHECK(read_lines(log) == std::vector<std::string>{"after"});
}

TEST_CASE("max_size = 0 never rotates", "[filelog][writer]") {
    TempDir dir;
    const fs::path log = dir.path / "events.jsonl";
    LogWriter w({log, 0, 3, FsyncPolicy::never});
    for (int i = 1; i <= 200; ++i) w.append_line(numbered(i));
    CHECK(w.rotations() == 0);
    CHECK_FALSE(fs::exists(w.rotated_path(1)));
    CHECK(w.size() == 200 * 30);
}

TEST_CASE("fsync policy decides what is left to sync", "[filelog][writer]") {
    TempDir dir;
    SECTION("always: every line is synced before append returns") {
        LogWriter w({dir.path / "a.jsonl", 0, 1, FsyncPolicy::always});
        w.append_line("x");
        CHECK_FALSE(w.dirty());
        CHECK_FALSE(w.sync()); // nothing left
    }
    SECTION("batch: lines wait for the caller's periodic sync") {
        LogWriter w({dir.path / "b.jsonl", 0, 1, FsyncPolicy::batch});
        CHECK_FALSE(w.sync()); // not even open
        w.append_line("x");
        w.append_line("y");
        CHECK(w.dirty());
        CHECK(w.sync());
        CHECK_FALSE(w.dirty());
        CHECK_FALSE(w.sync());
    }
    SECTION("never: nothing is synced by the writer, sync() still works on demand") {
        LogWriter w({dir.path / "n.jsonl", 0, 1, FsyncPolicy::never});
        w.append_line("x");
        CHECK(w.dirty());
        CHECK(w.sync());
    }
}

TEST_CASE("attachments are saved beside the log", "[filelog][writer]") {
    TempDir dir;
    const fs::path log = dir.path / "events.jsonl";
    LogWriter w({log, 0, 1, FsyncPolicy::always});
    const std::vector<uint8_t> jpeg{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00, 0xFF, 0xD9};

    fs::path first = w.save_attachment("42", "image/jpeg", jpeg);
    CHECK(first == w.attachments_dir() / "42.jpg");
    CHECK(w.attachments_dir() == dir.path / "events.jsonl.attachments");
    CHECK(read_file(first) == std::string(jpeg.begin(), jpeg.end()));

    // The same name again never overwrites: a line may already point to the first.
    fs::path second = w.save_attachment("42", "image/jpeg", jpeg);
    CHECK(second == w.attachments_dir() / "42-2.jpg");
    CHECK(fs::exists(first));

    CHECK(w.save_attachment("43", "", {}).filename() == "43.bin"); // empty is allowed

    CHECK_THROWS_AS(w.save_attachment("../escape", "image/jpeg", jpeg), std::invalid_argument);
    CHECK_THROWS_AS(w.save_attachment("..", "image/jpeg", jpeg), std::invalid_argument);
    CHECK_THROWS_AS(w.save_attachment("", "image/jpeg", jpeg), std::invalid_argument);
    CHECK_FALSE(fs::exists(dir.path / "escape.jpg"));
}

TEST_CASE("attachments go when the last log that could name them is deleted", "[filelog][writer]") {
    TempDir dir;
    const fs::path log = dir.path / "events.jsonl";
    LogWriter w({log, 100, 1, FsyncPolicy::never});
    const std::vector<uint8_t> bytes{1, 2, 3};

    fs::path old_snapshot = w.save_attachment("1", "image/jpeg", bytes);
    w.append_line(numbered(1));
    // File timestamps are coarse (a few ms): state the order explicitly rather than sleep.
    fs::last_write_time(old_snapshot, fs::last_write_time(log) - std::chrono::hours(1));
    w.append_line(numbered(2));
    w.append_line(numbered(3));
    w.append_line(numbered(4)); // rotation 1: the file with line 1 becomes .1
    REQUIRE(fs::exists(old_snapshot));

    fs::path new_snapshot = w.save_attachment("5", "image/jpeg", bytes);
    w.append_line(numbered(5));
    w.append_line(numbered(6));
    w.append_line(numbered(7)); // rotation 2: the file with line 1 is deleted
    CHECK_FALSE(fs::exists(w.rotated_path(2)));
    CHECK_FALSE(fs::exists(old_snapshot));
    CHECK(fs::exists(new_snapshot)); // line 5 is still in .1
}

TEST_CASE("a full disk is an error naming the file, and the writer keeps working after", "[filelog][writer]") {
    if (!fs::exists("/dev/full")) {
        WARN("no /dev/full here");
        return;
    }
    LogWriter w({"/dev/full", 0, 1, FsyncPolicy::never});
    try {
        w.append_line("{\"x\":1}");
        FAIL("writing to /dev/full should fail");
    } catch (const std::system_error& e) {
        CHECK(e.code() == std::errc::no_space_on_device);
        CHECK(std::string(e.what()).find("/dev/full") != std::string::npos);
    }
    // Still usable (the next attempt fails the same way, it does not crash or hang).
    CHECK_THROWS_AS(w.append_line("{\"x\":2}"), std::system_error);
}

TEST_CASE("a path that cannot be created is an error at open, not a crash", "[filelog][writer]") {
    TempDir dir;
    const fs::path not_a_dir = dir.path / "file";
    { std::ofstream(not_a_dir) << "x"; }
    LogWriter w({not_a_dir / "events.jsonl", 0, 1, FsyncPolicy::batch});
    CHECK_THROWS_AS(w.open(), std::system_error);
    CHECK_THROWS_AS(w.append_line("x"), std::system_error);
    CHECK_THROWS_AS(w.save_attachment("1", "image/jpeg", std::vector<uint8_t>{1}), std::system_error);
}

TEST_CASE("a read-only directory is an error (when not root)", "[filelog][writer]") {
    if (::geteuid() == 0) {
        WARN("running as root: permissions are not enforced, case covered by the not-a-directory test");
        return;
    }
    TempDir dir;
    const fs::path ro = dir.path / "ro";
    fs::create_directory(ro);
    fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
    LogWriter w({ro / "events.jsonl", 0, 1, FsyncPolicy::batch});
    try {
        w.append_line("x");
        FAIL("expected permission denied");
    } catch (const std::system_error& e) {
        CHECK(e.code() == std::errc::permission_denied);
    }
    fs::permissions(ro, fs::perms::owner_all);
}

TEST_CASE("a batch of lines lands like the same lines one by one, rotations included", "[filelog][writer][batch]") {
    TempDir dir;
    // 30-byte lines, 100-byte files: a batch of 10 is split over four files.
    LogWriter one({dir.path / "one.jsonl", 100, 5, FsyncPolicy::never});
    LogWriter batch({dir.path / "batch.jsonl", 100, 5, FsyncPolicy::never});
    LogWriter joined({dir.path / "joined.jsonl", 100, 5, FsyncPolicy::never});
    std::vector<std::string> lines;
    for (int i = 1; i <= 10; ++i) lines.push_back(numbered(i));
    lines.insert(lines.begin() + 4, std::string(150, 'h')); // longer than max_size: alone in its file
    for (const auto& l : lines) one.append_line(l);
    size_t written = 0;
    batch.append_lines(lines, written);
    CHECK(written == lines.size());
    std::string text;
    std::vector<size_t> ends;
    for (const auto& l : lines) {
        text += l + "\n";
        ends.push_back(text.size());
    }
    written = 0;
    joined.append_text(text, ends, written);
    CHECK(written == lines.size());
    one.close();
    batch.close();
    joined.close();
    CHECK(batch.rotations() == one.rotations());
    CHECK(joined.rotations() == one.rotations());
    CHECK(read_file(dir.path / "batch.jsonl") == read_file(dir.path / "one.jsonl"));
    CHECK(read_file(dir.path / "joined.jsonl") == read_file(dir.path / "one.jsonl"));
    for (int n = 1; n <= 5; ++n) {
        const fs::path b = dir.path / ("batch.jsonl." + std::to_string(n));
        const fs::path j = dir.path / ("joined.jsonl." + std::to_string(n));
        const fs::path o = dir.path / ("one.jsonl." + std::to_string(n));
        CHECK(fs::exists(b) == fs::exists(o));
        CHECK(fs::exists(j) == fs::exists(o));
        if (fs::exists(o)) CHECK(read_file(b) == read_file(o));
        if (fs::exists(o)) CHECK(read_file(j) == read_file(o));
    }

    size_t none = 7;
    batch.append_lines({}, none);
    CHECK(none == 0);
}

TEST_CASE("a failed batch says how many lines went in", "[filelog][writer][batch]") {
    if (!fs::exists("/dev/full")) {
        WARN("no /dev/full here");
        return;
    }
    LogWriter w({"/dev/full", 0, 1, FsyncPolicy::never});
    std::vector<std::string> lines{"{\"a\":1}", "{\"b\":2}"};
    size_t written = 99;
    CHECK_THROWS_AS(w.append_lines(lines, written), std::system_error);
    CHECK(written == 0);
    const std::string text = "{\"a\":1}\n{\"b\":2}\n";
    const size_t ends[] = {8, 16};
    written = 99;
    CHECK_THROWS_AS(w.append_text(text, ends, written), std::system_error);
    CHECK(written == 0);
}
