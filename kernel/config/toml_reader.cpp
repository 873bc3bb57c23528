#include "config/toml_reader.hpp"

#include "config/suggest.hpp"

#include <passerelle/duration.hpp>

#include <system_error>

namespace passerelle::kernel::config_detail {

namespace {
bool bare_key(std::string_view k) {
    if (k.empty()) return false;
    for (char c : k)
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    return true;
}
} // namespace

std::string join_path(std::string_view parent, std::string_view key) {
    std::string out(parent);
    if (!out.empty()) out += '.';
    if (bare_key(key)) out += key;
    else out += quote_text(key);
    return out;
}

std::string type_name(const toml::node& n) {
    switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "a list";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a decimal number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
    }
}

std::string quote_text(std::string_view s) {
    constexpr size_t max = 60;
    std::string out = "\"";
    size_t n = 0;
    for (char c : s) {
        if (++n > max) {
            out += "...";
            break;
        }
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            static const char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[(c >> 4) & 0xF];
            out += hex[c & 0xF];
        } else {
            out += c;
        }
    }
    out += '"';
    return out;
}

std::string got(const toml::node& n) {
    if (const auto* s = n.as_string()) return "got " + quote_text(s->get());
    return "got " + type_name(n);
}

const std::vector<std::string>& log_levels() {
    static const std::vector<std::string> levels{"trace", "debug", "info", "warn", "error"};
    return levels;
}

bool is_log_level(std::string_view s) {
    for (const auto& l : log_levels())
        if (l == s) return true;
    return false;
}

Reader::Reader(std::string file, std::vector<ConfigIssue>& issues)
    : file_(std::move(file)), issues_(issues), env_(process_env()) {
    std::error_code ec;
    auto abs = std::filesystem::absolute(std::filesystem::path(file_), ec);
    dir_ = ec ? std::filesystem::path(file_).parent_path() : abs.parent_path();
}

SourcePos Reader::pos(const toml::node& n) const {
    const auto& src = n.source();
    return SourcePos{file_, static_cast<int>(src.begin.line), static_cast<int>(src.begin.column)};
}

SourcePos Reader::pos(const toml::key& k) const {
    const auto& src = k.source();
    return SourcePos{file_, static_cast<int>(src.begin.line), static_cast<int>(src.begin.column)};
}

void Reader::error(SourcePos p, std::string key_path, std::string message) {
    issues_.push_back(ConfigIssue{std::move(p), std::move(key_path), std::move(message)});
}

void Reader::reject_unknown_keys(const toml::table& t, std::string_view path, const std::vector<std::string>& allowed) {
    for (auto&& [k, v] : t) {
        bool known = false;
        for (const auto& a : allowed) known = known || a == k.str();
        if (!known) error(pos(k), join_path(path, k.str()), "unknown key" + did_you_mean(k.str(), allowed));
    }
}

std::string Reader::resolve_path(std::string_view p) const {
    std::filesystem::path path{std::string(p)};
    if (path.is_absolute() || p.empty()) return path.lexically_normal().string();
    return (dir_ / path).lexically_normal().string();
}

std::optional<Text> Reader::string_value(const toml::node& n, std::string_view path, bool secret) {
    const auto* s = n.as_string();
    if (!s) {
        error(pos(n), std::string(path), "expected a string, " + got(n));
        return std::nullopt;
    }
    std::string err;
    auto exp = expand_env(s->get(), env_, err);
    if (!exp) {
        error(pos(n), std::string(path), err);
        return std::nullopt;
    }
    if (exp->substituted && !is_valid_utf8(exp->text)) {
        error(pos(n), std::string(path), "the environment gives a value that is not valid UTF-8");
        return std::nullopt;
    }
    Text t;
    t.value = std::move(exp->text);
    t.shown = secret ? std::string() : s->get();
    t.substituted = exp->substituted;
    t.pieces = std::move(exp->pieces);
    return t;
}

std::optional<int64_t> Reader::duration_value(const toml::node& n, std::string_view path) {
    static const std::string expected = "expected a duration such as \"5s\"";
    if (const auto* s = n.as_string()) {
        if (auto ms = parse_duration_ms(s->get())) return *ms;
        error(pos(n), std::string(path), expected + ", " + got(n));
        return std::nullopt;
    }
    // A bare number is seconds, as parse_duration_ms reads "5".
    double seconds;
    if (const auto* i = n.as_integer()) seconds = static_cast<double>(i->get());
    else if (const auto* f = n.as_floating_point()) seconds = f->get();
    else {
        error(pos(n), std::string(path), expected + ", " + got(n));
        return std::nullopt;
    }
    if (!(seconds >= 0) || seconds > 9.2e12) {
        std::string shown = n.as_integer() ? std::to_string(n.as_integer()->get()) : std::to_string(seconds);
        error(pos(n), std::string(path), expected + " or a number of seconds >= 0, got " + shown);
        return std::nullopt;
    }
    return static_cast<int64_t>(seconds * 1000 + 0.5);
}

} // namespace passerelle::kernel::config_detail
