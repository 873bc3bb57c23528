// Small helpers the benches that drive the real daemon share: wall time, a
// process's CPU and peak memory from /proc, the numbered attrs the bench_flood
// source puts in each event, and percentiles. Header-only, Linux only.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

inline int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// A field of /proc/PID/status in KiB ("VmHWM:" = peak RSS), 0 when unknown.
inline long status_kib(pid_t pid, const char* field) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind(field, 0) == 0) return std::strtol(line.c_str() + std::strlen(field), nullptr, 10);
    return 0;
}

// CPU seconds (user + system) of a process.
inline double cpu_seconds(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string s((std::istreambuf_iterator<char>(f)), {});
    auto p = s.rfind(')');
    if (p == std::string::npos) return 0;
    std::istringstream in(s.substr(p + 2));
    std::string tok;
    unsigned long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && in >> tok; ++i) {
        if (i == 14) utime = std::stoul(tok);
        if (i == 15) stime = std::stoul(tok);
    }
    return static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
}

// The number in `"name":"123"` of an event's JSON (attrs are strings).
inline std::optional<int64_t> attr_number(std::string_view body, std::string_view name) {
    std::string needle(1, '"'); // built by appends: "\"" + name trips a GCC 12 -Wrestrict false positive
    needle += name;
    needle += "\":\"";
    auto p = body.find(needle);
    if (p == std::string_view::npos) return std::nullopt;
    p += needle.size();
    int64_t v = 0;
    bool any = false;
    while (p < body.size() && body[p] >= '0' && body[p] <= '9') {
        v = v * 10 + (body[p++] - '0');
        any = true;
    }
    return any ? std::optional<int64_t>(v) : std::nullopt;
}

// The q-quantile of sorted nanosecond values, in milliseconds (0 when empty).
inline double percentile_ms(const std::vector<int64_t>& sorted_ns, double q) {
    if (sorted_ns.empty()) return 0;
    size_t i = std::min(sorted_ns.size() - 1, static_cast<size_t>(q * (sorted_ns.size() - 1) + 0.5));
    return sorted_ns[i] / 1e6;
}

} // namespace bench
