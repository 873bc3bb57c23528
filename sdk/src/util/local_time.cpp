#include <passerelle/local_time.hpp>

#include <passerelle/civil_time.hpp>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iterator>
#include <sstream>

namespace passerelle {

namespace {

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned month_days(int64_t y, unsigned m) {
    static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

int64_t be(std::string_view b, size_t at, size_t width) {
    uint64_t v = 0;
    for (size_t i = 0; i < width; ++i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
    if (width == 4) return static_cast<int32_t>(static_cast<uint32_t>(v));
    return static_cast<int64_t>(v);
}

} // namespace

struct TimeZone::Rule {
    int32_t std_offset = 0; // seconds east of UTC
    bool has_dst = false;
    int32_t dst_offset = 0;
    struct Date {
        char kind = 'M'; // 'M' month.week.day, 'J' julian 1..365 without Feb 29, 'n' 0..365
        int month = 0, week = 0, day = 0, number = 0;
        int32_t time = 7200; // seconds after local midnight (may be negative or > 24 h)
    } start, end;

    // UTC seconds of the transition `d` in `year`, the local clock showing `offset`.
    static int64_t at(const Date& d, int64_t year, int32_t offset) {
        int64_t day;
        if (d.kind == 'M') {
            const int64_t first = days_from_civil(year, static_cast<unsigned>(d.month), 1);
            const int wd_first = static_cast<int>(((first % 7) + 7 + 4) % 7); // 1970-01-01 was a Thursday
            int dom = 1 + (d.day - wd_first + 7) % 7 + (d.week - 1) * 7;
            while (dom > static_cast<int>(month_days(year, static_cast<unsigned>(d.month)))) dom -= 7;
            day = first + dom - 1;
        } else if (d.kind == 'J') {
            day = days_from_civil(year, 1, 1) + d.number - 1;
            if (is_leap(year) && d.number >= 60) ++day;
        } else {
            day = days_from_civil(year, 1, 1) + d.number;
        }
        return day * 86400 + d.time - offset;
    }

    int32_t offset_at(int64_t t) const {
        if (!has_dst) return std_offset;
        const int64_t y = civil_from_days(floor_div(t + std_offset, 86400)).year;
        const int64_t s = at(start, y, std_offset);
        const int64_t e = at(end, y, dst_offset);
        const bool dst = s < e ? (t >= s && t < e) : !(t >= e && t < s);
        return dst ? dst_offset : std_offset;
    }
};

namespace {

// The parsing of a POSIX TZ string, one piece at a time.
struct PosixParser {
    std::string_view s;
    size_t i = 0;

    bool name() {
        if (i < s.size() && s[i] == '<') {
            size_t close = s.find('>', i);
            if (close == std::string_view::npos || close == i + 1) return false;
            i = close + 1;
            return true;
        }
        size_t start = i;
        while (i < s.size() && ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z'))) ++i;
        return i - start >= 3;
    }
    bool number(int& out, int max_digits) {
        size_t start = i;
        out = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < static_cast<size_t>(max_digits)) out = out * 10 + (s[i++] - '0');
        return i > start;
    }
    // [+-]hh[:mm[:ss]] in seconds; hours up to 167 (TZif v3 times).
    bool hms(int32_t& out) {
        int sign = 1;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) sign = s[i++] == '-' ? -1 : 1;
        int h = 0, m = 0, sec = 0;
        if (!number(h, 3) || h > 167) return false;
        if (i < s.size() && s[i] == ':') {
            ++i;
            if (!number(m, 2) || m > 59) return false;
            if (i < s.size() && s[i] == ':') {
                ++i;
                if (!number(sec, 2) || sec > 59) return false;
            }
        }
        out = sign * (h * 3600 + m * 60 + sec);
        return true;
    }
    bool date(TimeZone::Rule::Date& d) {
        if (i >= s.size()) return false;
        if (s[i] == 'M') {
            ++i;
            d.kind = 'M';
            if (!number(d.month, 2) || d.month < 1 || d.month > 12 || i >= s.size() || s[i++] != '.') return false;
            if (!number(d.week, 1) || d.week < 1 || d.week > 5 || i >= s.size() || s[i++] != '.') return false;
            if (!number(d.day, 1) || d.day > 6) return false;
        } else if (s[i] == 'J') {
            ++i;
            d.kind = 'J';
            if (!number(d.number, 3) || d.number < 1 || d.number > 365) return false;
        } else {
            d.kind = 'n';
            if (!number(d.number, 3) || d.number > 365) return false;
        }
        d.time = 7200;
        if (i < s.size() && s[i] == '/') {
            ++i;
            if (!hms(d.time)) return false;
        }
        return true;
    }
};

} // namespace

std::optional<TimeZone> TimeZone::from_posix(std::string_view text) {
    PosixParser p{text};
    auto rule = std::make_shared<Rule>();
    int32_t west = 0;
    if (!p.name() || !p.hms(west)) return std::nullopt;
    rule->std_offset = -west;
    if (p.i < text.size()) {
        if (!p.name()) return std::nullopt;
        rule->has_dst = true;
        rule->dst_offset = rule->std_offset + 3600;
        if (p.i < text.size() && text[p.i] != ',') {
            if (!p.hms(west)) return std::nullopt;
            rule->dst_offset = -west;
        }
        // Without dates POSIX leaves them implementation-defined: use the US rule, as glibc does.
        rule->start = {'M', 3, 2, 0, 0, 7200};
        rule->end = {'M', 11, 1, 0, 0, 7200};
        if (p.i < text.size()) {
            if (text[p.i++] != ',' || !p.date(rule->start)) return std::nullopt;
            if (p.i >= text.size() || text[p.i++] != ',' || !p.date(rule->end)) return std::nullopt;
        }
    }
    if (p.i != text.size()) return std::nullopt;
    TimeZone tz;
    tz.kind_ = Kind::tzif;
    tz.initial_offset_ = rule->std_offset;
    tz.rule_ = std::move(rule);
    return tz;
}

std::optional<TimeZone> TimeZone::from_tzif(std::string_view b) {
    auto header = [&](size_t at, uint64_t counts[6]) {
        if (b.size() < at + 44 || b.substr(at, 4) != "TZif") return false;
        for (int k = 0; k < 6; ++k) counts[k] = static_cast<uint32_t>(be(b, at + 20 + 4 * k, 4));
        return true;
    };
    uint64_t c[6]; // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
    if (!header(0, c)) return std::nullopt;
    const char version = b[4];
    size_t at = 44;
    size_t tw = 4; // time width
    auto block = [&](size_t width) {
        return c[3] * width + c[3] + c[4] * 6 + c[5] + c[2] * (width + 4) + c[1] + c[0];
    };
    if (version >= '2') {
        const uint64_t skip = block(4);
        if (skip > b.size() - at) return std::nullopt;
        at += skip;
        if (!header(at, c)) return std::nullopt;
        at += 44;
        tw = 8;
    }
    if (c[4] == 0 || c[4] > 256 || c[3] > 100000 || c[5] > 100000 || c[2] > 100000 || c[0] > 256 || c[1] > 256)
        return std::nullopt;
    if (block(tw) > b.size() - at) return std::nullopt;
    TimeZone tz;
    tz.kind_ = Kind::tzif;
    const size_t times_at = at, idx_at = at + c[3] * tw, types_at = idx_at + c[3];
    std::vector<int32_t> type_offsets(c[4]);
    std::vector<bool> type_dst(c[4]);
    for (size_t k = 0; k < c[4]; ++k) {
        const int64_t off = be(b, types_at + 6 * k, 4);
        if (off < -26 * 3600 || off > 26 * 3600) return std::nullopt;
        type_offsets[k] = static_cast<int32_t>(off);
        type_dst[k] = b[types_at + 6 * k + 4] != 0;
    }
    for (size_t k = 0; k < c[3]; ++k) {
        const int64_t t = be(b, times_at + k * tw, tw);
        const auto idx = static_cast<unsigned char>(b[idx_at + k]);
        if (idx >= c[4]) return std::nullopt;
        if (!tz.transitions_.empty() && t <= tz.transitions_.back()) return std::nullopt;
        tz.transitions_.push_back(t);
        tz.offsets_.push_back(type_offsets[idx]);
    }
    // Before the first transition: the first standard-time type (RFC 8536 3.2).
    tz.initial_offset_ = type_offsets[0];
    for (size_t k = 0; k < c[4]; ++k)
        if (!type_dst[k]) {
            tz.initial_offset_ = type_offsets[k];
            break;
        }
    if (version >= '2') {
        const size_t footer_at = at + block(tw);
        if (footer_at < b.size() && b[footer_at] == '\n') {
            const size_t end = b.find('\n', footer_at + 1);
            if (end != std::string_view::npos && end > footer_at + 1) {
                if (auto posix = from_posix(b.substr(footer_at + 1, end - footer_at - 1))) tz.rule_ = posix->rule_;
            }
        }
    }
    return tz;
}

TimeZone TimeZone::fixed(int32_t offset) {
    TimeZone tz;
    tz.kind_ = Kind::fixed;
    tz.fixed_offset_ = offset;
    return tz;
}

std::optional<TimeZone> TimeZone::load(std::string_view name, std::string& error, std::string_view zoneinfo_dir) {
    if (name.empty() || name == "local") return TimeZone();
    if (name == "UTC" || name == "Z" || name == "Etc/UTC") return fixed(0);
    if (name[0] == '+' || name[0] == '-') {
        // "+02:00", "-0530", "+2"
        std::string digits;
        for (char ch : name.substr(1))
            if (ch != ':') digits.push_back(ch);
        bool ok = !digits.empty() && digits.size() <= 4 &&
                  std::all_of(digits.begin(), digits.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
        if (ok) {
            int h = 0, m = 0;
            if (digits.size() <= 2) h = std::stoi(digits);
            else {
                h = std::stoi(digits.substr(0, digits.size() - 2));
                m = std::stoi(digits.substr(digits.size() - 2));
            }
            if (h <= 14 && m <= 59) return fixed((name[0] == '-' ? -1 : 1) * (h * 3600 + m * 60));
        }
        error = "a fixed offset looks like \"+02:00\"";
        return std::nullopt;
    }
    const bool safe = name.find("..") == std::string_view::npos && name[0] != '/' &&
                      std::all_of(name.begin(), name.end(), [](char ch) {
                          return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                                 ch == '/' || ch == '_' || ch == '-' || ch == '+';
                      });
    if (!safe) {
        error = "is not a time zone name such as \"Europe/Paris\"";
        return std::nullopt;
    }
    std::ifstream in(std::string(zoneinfo_dir) + "/" + std::string(name), std::ios::binary);
    if (!in) {
        error = "unknown time zone \"" + std::string(name) + "\" (no such file in " + std::string(zoneinfo_dir) + ")";
        return std::nullopt;
    }
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (auto tz = from_tzif(bytes)) return tz;
    error = "time zone file for \"" + std::string(name) + "\" is not a valid TZif file";
    return std::nullopt;
}

int32_t TimeZone::utc_offset(int64_t t) const {
    switch (kind_) {
    case Kind::fixed: return fixed_offset_;
    case Kind::local: {
        const std::time_t tt = static_cast<std::time_t>(t);
        std::tm tm{};
        if (!localtime_r(&tt, &tm)) return 0;
        return static_cast<int32_t>(tm.tm_gmtoff);
    }
    case Kind::tzif: break;
    }
    if (transitions_.empty() || t < transitions_.front()) {
        if (transitions_.empty() && rule_) return rule_->offset_at(t);
        return initial_offset_;
    }
    if (t >= transitions_.back() && rule_) return rule_->offset_at(t);
    auto it = std::upper_bound(transitions_.begin(), transitions_.end(), t);
    return offsets_[static_cast<size_t>(it - transitions_.begin()) - 1];
}

std::string format_civil(int64_t utc_seconds, int32_t offset) {
    const int64_t local = utc_seconds + offset;
    const int64_t days = floor_div(local, 86400);
    const int64_t secs = local - days * 86400;
    const CivilDate date = civil_from_days(days);
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u %02d:%02d:%02d", static_cast<long long>(date.year), date.month, date.day,
                  static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
    return buf;
}

std::string TimeZone::format(int64_t time_ns) const {
    const int64_t secs = floor_div(time_ns, 1'000'000'000);
    return format_civil(secs, utc_offset(secs));
}

} // namespace passerelle
