// Wall-clock time in a peer's time zone, for the APIs that want a local
// "YYYY-MM-DD HH:MM:SS" without a zone (Jeedom's `cmd::event` datetime,
// eeDomus' `value_date`). A replay after an outage must carry the event's own
// time, so the zone must be right for past dates too (DST).
//
// Link passerelle::util. Pure but for load() (reads a zoneinfo file) and the
// daemon-local zone (localtime_r).
//
// Zones: "" = the daemon's own local zone (localtime_r), "UTC", a fixed
// offset "+02:00" / "-0530", or an IANA name read from /usr/share/zoneinfo
// (TZif v2+: transitions, then the POSIX rule of the footer for later dates).
// No process-global TZ is touched, so several zones can live in one daemon.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace passerelle {

class TimeZone {
public:
    // The daemon's local zone.
    TimeZone() = default;

    // nullopt and `error` set when the name is unknown or the file unreadable.
    static std::optional<TimeZone> load(std::string_view name, std::string& error,
                                        std::string_view zoneinfo_dir = "/usr/share/zoneinfo");
    // Pure: a TZif file's bytes. nullopt when malformed.
    static std::optional<TimeZone> from_tzif(std::string_view bytes);
    // Pure: a POSIX TZ rule such as "CET-1CEST,M3.5.0,M10.5.0/3". nullopt when malformed.
    static std::optional<TimeZone> from_posix(std::string_view rule);
    static TimeZone fixed(int32_t utc_offset_seconds);

    // Seconds east of UTC at that UTC instant.
    int32_t utc_offset(int64_t utc_seconds) const;
    // "YYYY-MM-DD HH:MM:SS" in this zone (seconds truncated toward the past).
    std::string format(int64_t time_ns) const;

    struct Rule; // a POSIX TZ rule (public for the .cpp helpers)

private:
    enum class Kind { local, fixed, tzif };
    Kind kind_ = Kind::local;
    int32_t fixed_offset_ = 0;
    std::vector<int64_t> transitions_;   // UTC seconds, ascending
    std::vector<int32_t> offsets_;       // offset after each transition
    int32_t initial_offset_ = 0;         // before the first transition
    std::shared_ptr<const Rule> rule_;   // after the last transition, if any
};

// "YYYY-MM-DD HH:MM:SS" of UTC seconds shifted by `offset` seconds. Pure.
std::string format_civil(int64_t utc_seconds, int32_t offset);

} // namespace passerelle
