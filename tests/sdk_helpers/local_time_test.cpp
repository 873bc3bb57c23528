// passerelle::TimeZone (SDK helper, passerelle::util): TZif files, POSIX rules, fixed offsets, hostile input.
#include <passerelle/local_time.hpp>

#include <catch2/catch.hpp>

#include <ctime>
#include <fstream>
#include <iterator>

using passerelle::format_civil;
using passerelle::TimeZone;

namespace {
constexpr int64_t ns(int64_t seconds) { return seconds * 1'000'000'000; }
// 2024-07-01T12:00:00Z and 2024-01-15T12:00:00Z
constexpr int64_t summer = 1719835200;
constexpr int64_t winter = 1705320000;

std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
} // namespace

TEST_CASE("format_civil writes Jeedom's Y-m-d H:i:s") {
    CHECK(format_civil(0, 0) == "1970-01-01 00:00:00");
    CHECK(format_civil(summer, 7200) == "2024-07-01 14:00:00");
    CHECK(format_civil(-1, 0) == "1969-12-31 23:59:59");
    CHECK(format_civil(951782400, 0) == "2000-02-29 00:00:00"); // leap day
}

TEST_CASE("UTC and fixed offsets") {
    std::string err;
    auto utc = TimeZone::load("UTC", err);
    REQUIRE(utc);
    CHECK(utc->format(ns(summer) + 999'999'999) == "2024-07-01 12:00:00"); // truncated, not rounded
    auto india = TimeZone::load("+05:30", err);
    REQUIRE(india);
    CHECK(india->format(ns(summer)) == "2024-07-01 17:30:00");
    auto west = TimeZone::load("-0300", err);
    REQUIRE(west);
    CHECK(west->format(ns(summer)) == "2024-07-01 09:00:00");
    CHECK_FALSE(TimeZone::load("+25:00", err));
    CHECK_FALSE(TimeZone::load("+ab", err));
}

TEST_CASE("IANA zone from /usr/share/zoneinfo follows DST, past and future") {
    std::string err;
    auto paris = TimeZone::load("Europe/Paris", err);
    if (!paris) {
        WARN("no tzdata here: " << err);
        return;
    }
    CHECK(paris->format(ns(summer)) == "2024-07-01 14:00:00");
    CHECK(paris->format(ns(winter)) == "2024-01-15 13:00:00");
    // DST starts 2024-03-31 at 01:00Z.
    CHECK(paris->format(ns(1711846799)) == "2024-03-31 01:59:59");
    CHECK(paris->format(ns(1711846800)) == "2024-03-31 03:00:00");
    // Beyond the file's transitions the footer rule applies (2060-07-01T12:00Z).
    CHECK(paris->format(ns(2855908800)) == "2060-07-01 14:00:00");
    CHECK(paris->format(ns(2841825600)) == "2060-01-20 13:00:00");
}

TEST_CASE("POSIX rules, northern and southern hemisphere") {
    auto cet = TimeZone::from_posix("CET-1CEST,M3.5.0,M10.5.0/3");
    REQUIRE(cet);
    CHECK(cet->utc_offset(summer) == 7200);
    CHECK(cet->utc_offset(winter) == 3600);
    // 2024-10-27 01:00Z: back to winter time.
    CHECK(cet->utc_offset(1729990799) == 7200);
    CHECK(cet->utc_offset(1729990800) == 3600);
    auto sydney = TimeZone::from_posix("AEST-10AEDT,M10.1.0,M4.1.0/3");
    REQUIRE(sydney);
    CHECK(sydney->utc_offset(winter) == 11 * 3600); // January: summer down under
    CHECK(sydney->utc_offset(summer) == 10 * 3600);
    auto quoted = TimeZone::from_posix("<+0330>-3:30");
    REQUIRE(quoted);
    CHECK(quoted->utc_offset(summer) == 3 * 3600 + 1800);
    for (const char* bad : {"", "C", "CET", "CET-1CEST,M13.5.0,M10.5.0", "CET-1CEST,M3.5.0", "CET-1x", "<>1",
                            "CET-1CEST,M3.5.0,M10.5.0/3junk", "CET-999"})
        CHECK_FALSE(TimeZone::from_posix(bad));
}

TEST_CASE("names that are not zones, and hostile TZif bytes") {
    std::string err;
    CHECK_FALSE(TimeZone::load("../../etc/passwd", err));
    CHECK_FALSE(TimeZone::load("/etc/localtime", err));
    CHECK_FALSE(TimeZone::load("Mars/Olympus_Mons", err));
    CHECK(err.find("unknown time zone") != std::string::npos);
    CHECK_FALSE(TimeZone::from_tzif(""));
    CHECK_FALSE(TimeZone::from_tzif("TZif2"));
    CHECK_FALSE(TimeZone::from_tzif(std::string(10000, 'x')));
    const std::string real = file_bytes("/usr/share/zoneinfo/Europe/Paris");
    if (real.empty()) return;
    REQUIRE(TimeZone::from_tzif(real));
    // Every truncation is refused or parsed, never a crash or an out-of-bounds read.
    for (size_t n = 0; n < real.size(); n += 7) {
        auto tz = TimeZone::from_tzif(std::string_view(real).substr(0, n));
        if (tz) CHECK(tz->utc_offset(summer) >= -26 * 3600);
    }
    // Flipped bytes in the counts.
    std::string broken = real;
    broken[20 + 12] = '\xff';
    CHECK_FALSE(TimeZone::from_tzif(broken));
}

TEST_CASE("the default zone is the daemon's local one") {
    TimeZone local;
    const std::time_t t = summer;
    std::tm tm{};
    localtime_r(&t, &tm);
    CHECK(local.utc_offset(summer) == tm.tm_gmtoff);
}
