#include "config/secrets.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace passerelle::kernel {

EnvLookup process_env() {
    return [](const std::string& name) -> std::optional<std::string> {
        const char* v = std::getenv(name.c_str());
        if (!v) return std::nullopt;
        return std::string(v);
    };
}

namespace {
bool name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }
} // namespace

std::optional<Expansion> expand_env(std::string_view text, const EnvLookup& env, std::string& error) {
    Expansion out;
    out.text.reserve(text.size());
    size_t i = 0;
    while (i < text.size()) {
        char c = text[i];
        if (c != '$') {
            out.text += c;
            ++i;
            continue;
        }
        if (text.substr(i, 3) == "$${") { // escaped: a literal "${"
            out.text += "${";
            i += 3;
            continue;
        }
        if (i + 1 >= text.size() || text[i + 1] != '{') {
            out.text += c;
            ++i;
            continue;
        }
        size_t close = text.find('}', i + 2);
        if (close == std::string_view::npos) {
            error = "\"${\" without a closing \"}\" (write \"$${\" for a literal \"${\")";
            return std::nullopt;
        }
        std::string name(text.substr(i + 2, close - i - 2));
        bool ok = !name.empty() && name_start(name[0]);
        for (char n : name) ok = ok && name_char(n);
        if (!ok) {
            // The text between the braces is not a variable name; it could be
            // part of a secret, so it is not quoted back.
            error = "\"${...}\" must contain an environment variable name ([A-Za-z_][A-Za-z0-9_]*)";
            return std::nullopt;
        }
        auto value = env(name);
        if (!value) {
            error = "environment variable " + name + " is not set";
            return std::nullopt;
        }
        out.text += *value;
        out.substituted = true;
        if (!value->empty()) out.pieces.push_back(*value);
        i = close + 1;
    }
    return out;
}

std::optional<std::string> read_secret_file(const std::string& path, std::string& error) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        error = "cannot read \"" + path + "\": " + std::strerror(errno);
        return std::nullopt;
    }
    if (S_ISDIR(st.st_mode)) {
        error = "cannot read \"" + path + "\": it is a directory";
        return std::nullopt;
    }
    // A secret is a line or a small PEM; a huge file is a mistake.
    constexpr off_t max_size = 1 << 20;
    if (S_ISREG(st.st_mode) && st.st_size > max_size) {
        error = "cannot read \"" + path + "\": larger than 1 MiB";
        return std::nullopt;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = "cannot read \"" + path + "\": " + std::strerror(errno);
        return std::nullopt;
    }
    std::string content;
    char buf[4096];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        content.append(buf, static_cast<size_t>(in.gcount()));
        if (content.size() > static_cast<size_t>(max_size)) {
            error = "cannot read \"" + path + "\": larger than 1 MiB";
            return std::nullopt;
        }
    }
    if (in.bad()) {
        error = "cannot read \"" + path + "\": read error";
        return std::nullopt;
    }
    while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) content.pop_back();
    return content;
}


} // namespace passerelle::kernel
