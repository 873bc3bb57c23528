// Entry points: read the file, parse it with toml++, hand the tree to the
// section readers, collect every issue.
#include "config/config.hpp"

#include "config/toml_reader.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sys/stat.h>

namespace passerelle::kernel {

std::string ConfigIssue::format() const {
    std::string out;
    if (!pos.file.empty()) {
        out += pos.file;
        if (pos.line > 0) {
            out += ':' + std::to_string(pos.line);
            if (pos.column > 0) out += ':' + std::to_string(pos.column);
        }
        out += ": ";
    }
    if (!key_path.empty()) out += key_path + ": ";
    out += message;
    return out;
}

namespace {

using namespace config_detail;

// Reads the whole file; on failure adds an issue and returns nullopt.
std::optional<std::string> read_file(const std::string& path, std::vector<ConfigIssue>& issues) {
    auto fail = [&](const std::string& why) {
        issues.push_back(ConfigIssue{SourcePos{path, 0, 0}, "", "cannot read the config file: " + why});
        return std::nullopt;
    };
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return fail(std::strerror(errno));
    if (S_ISDIR(st.st_mode)) return fail("it is a directory");
    constexpr off_t max_size = 16 << 20; // a config file is a few KiB
    if (S_ISREG(st.st_mode) && st.st_size > max_size) return fail("larger than 16 MiB");
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(std::strerror(errno));
    std::string text;
    char buf[8192];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        text.append(buf, static_cast<size_t>(in.gcount()));
        if (text.size() > static_cast<size_t>(max_size)) return fail("larger than 16 MiB");
    }
    if (in.bad()) return fail("read error");
    return text;
}

// Parses TOML; on a syntax error adds the issue (toml++ stops at the first).
std::optional<toml::table> parse_toml(std::string_view text, const std::string& path, std::vector<ConfigIssue>& issues) {
    try {
        return toml::parse(text, path);
    } catch (const toml::parse_error& e) {
        std::string desc(e.description());
        SourcePos pos{path, static_cast<int>(e.source().begin.line), static_cast<int>(e.source().begin.column)};
        std::string key_path;
        std::string message;
        size_t redefine = desc.find("cannot redefine existing");
        if (redefine != std::string::npos) {
            // Duplicate tables ([instance.cam] twice) and keys: name them.
            size_t open = desc.find('\'', redefine), close = open == std::string::npos ? open : desc.find('\'', open + 1);
            if (close != std::string::npos) key_path = desc.substr(open + 1, close - open - 1);
            message = "defined twice (" + desc.substr(redefine) + ")";
        } else {
            if (!desc.empty()) desc[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(desc[0])));
            message = "TOML syntax error: " + desc;
        }
        issues.push_back(ConfigIssue{std::move(pos), std::move(key_path), std::move(message)});
        return std::nullopt;
    }
}

void sort_issues(std::vector<ConfigIssue>& issues) {
    std::stable_sort(issues.begin(), issues.end(), [](const ConfigIssue& a, const ConfigIssue& b) {
        if (a.pos.line != b.pos.line) return a.pos.line < b.pos.line;
        return a.pos.column < b.pos.column;
    });
}

void internal_error(std::vector<ConfigIssue>& issues, const std::string& path, const std::exception& e) {
    issues.push_back(ConfigIssue{SourcePos{path, 0, 0}, "", std::string("internal error while reading the config: ") + e.what()});
}

} // namespace

ConfigResult parse_config(std::string_view text, const std::string& path, const SchemaLookup& schemas) {
    ConfigResult result;
    try {
        auto root = parse_toml(text, path, result.issues);
        if (!root) return result;
        Reader reader(path, result.issues);
        reader.reject_unknown_keys(*root, "", {"daemon", "instance", "route"});
        Config config;
        config.path = path;
        read_daemon(reader, *root, config.daemon);
        read_instances(reader, *root, schemas, config.instances);
        read_routes(reader, *root, config.instances, schemas, config.routes);
        if (result.issues.empty()) result.config = std::move(config);
    } catch (const std::exception& e) {
        internal_error(result.issues, path, e);
        result.config.reset();
    }
    sort_issues(result.issues);
    return result;
}

ConfigResult load_config(const std::string& path, const SchemaLookup& schemas) {
    ConfigResult result;
    auto text = read_file(path, result.issues);
    if (!text) return result;
    return parse_config(*text, path, schemas);
}

DaemonConfig read_daemon_section(const std::string& path, std::vector<ConfigIssue>& issues) {
    DaemonConfig daemon;
    std::vector<ConfigIssue> found;
    try {
        Reader reader(path, found);
        daemon.state_dir = reader.resolve_path("state");
        if (auto text = read_file(path, found)) {
            if (auto root = parse_toml(*text, path, found)) read_daemon(reader, *root, daemon);
        }
    } catch (const std::exception& e) {
        internal_error(found, path, e);
    }
    sort_issues(found);
    issues.insert(issues.end(), found.begin(), found.end());
    return daemon;
}

} // namespace passerelle::kernel
