// Durations and sizes as operators write them: "250ms", "5s", "2m", "1h", "7d";
// "512", "64KB", "10MiB". Shared by the kernel (config) and modules (params).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace passerelle {

namespace detail {
inline bool parse_number_unit(std::string_view text, double& number, std::string_view& unit) {
    size_t i = 0;
    while (i < text.size() && text[i] == ' ') ++i;
    size_t start = i;
    bool digits = false, dot = false;
    for (; i < text.size(); ++i) {
        char c = text[i];
        if (c >= '0' && c <= '9') digits = true;
        else if (c == '.' && !dot) dot = true;
        else break;
    }
    if (!digits) return false;
    number = 0;
    double scale = 0;
    for (size_t j = start; j < i; ++j) {
        if (text[j] == '.') { scale = 1; continue; }
        if (scale > 0) { scale /= 10; number += (text[j] - '0') * scale; }
        else number = number * 10 + (text[j] - '0');
    }
    while (i < text.size() && text[i] == ' ') ++i;
    unit = text.substr(i);
    while (!unit.empty() && unit.back() == ' ') unit.remove_suffix(1);
    return true;
}
} // namespace detail

// Returns milliseconds, or nullopt when the text is not a duration. A bare
// number is seconds (what people mean by `heartbeat = "5"`).
inline std::optional<int64_t> parse_duration_ms(std::string_view text) {
    double n = 0;
    std::string_view unit;
    if (!detail::parse_number_unit(text, n, unit)) return std::nullopt;
    double ms;
    if (unit == "ms") ms = n;
    else if (unit.empty() || unit == "s") ms = n * 1000;
    else if (unit == "m" || unit == "min") ms = n * 60000;
    else if (unit == "h") ms = n * 3600000;
    else if (unit == "d") ms = n * 86400000;
    else return std::nullopt;
    if (ms > 9.2e15) return std::nullopt;
    return static_cast<int64_t>(ms + 0.5);
}

// Returns bytes, or nullopt. KB/MB/GB are powers of 1000, KiB/MiB/GiB of 1024.
inline std::optional<int64_t> parse_size_bytes(std::string_view text) {
    double n = 0;
    std::string_view unit;
    if (!detail::parse_number_unit(text, n, unit)) return std::nullopt;
    double mult;
    if (unit.empty() || unit == "B") mult = 1;
    else if (unit == "KB" || unit == "kB" || unit == "K" || unit == "k") mult = 1e3;
    else if (unit == "MB" || unit == "M") mult = 1e6;
    else if (unit == "GB" || unit == "G") mult = 1e9;
    else if (unit == "KiB") mult = 1024.0;
    else if (unit == "MiB") mult = 1024.0 * 1024;
    else if (unit == "GiB") mult = 1024.0 * 1024 * 1024;
    else return std::nullopt;
    double bytes = n * mult;
    if (bytes > 9.2e18) return std::nullopt;
    return static_cast<int64_t>(bytes + 0.5);
}

} // namespace passerelle
