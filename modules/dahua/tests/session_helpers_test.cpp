// Pure helpers of the dahua module: CGI key=value replies, backoff, the
// missed-rings watermark.
#include "backoff.hpp"
#include "cgi_replies.hpp"
#include "missed_rings.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>

using namespace passerelle::dahua;
using std::chrono::milliseconds;

TEST_CASE("system info: model and serial, CRLF or LF") {
    auto i = parse_system_info("deviceType=VTO2000A\r\nhardwareVersion=1.00\r\nserialNumber=ABC123\r\n");
    CHECK(i.model == "VTO2000A");
    CHECK(i.serial == "ABC123");
    auto j = parse_system_info("updateSerial=IPC-X\nserialNumber=Z\n");
    CHECK(j.model == "IPC-X");
    CHECK(parse_system_info("").model.empty());
    CHECK(parse_system_info("garbage without equals\n=\n\n").serial.empty());
}

TEST_CASE("channel titles are 1-based; junk lines ignored") {
    auto t = parse_channel_titles("table.ChannelTitle[0].Name=Front door\r\ntable.ChannelTitle[1].Name=Garage\r\n"
                                  "table.ChannelTitle[x].Name=bad\r\ntable.ChannelTitle[2].Other=1\r\n"
                                  "table.ChannelTitle[99999999999].Name=overflow\r\n");
    REQUIRE(t.size() == 2);
    CHECK(t[1] == "Front door");
    CHECK(t[2] == "Garage");
}

TEST_CASE("call log records") {
    auto r = parse_call_log("found=3\r\nrecords[0].CreateTime=1630272364\r\nrecords[0].EndState=Missed\r\n"
                            "records[0].PeerNumber=9901\r\nrecords[0].RecNo=1\r\n"
                            "records[1].EndState=Missed\r\n" // no time: dropped
                            "records[2].CreateTime=1630272400\r\nrecords[2].EndState=Received\r\n");
    REQUIRE(r.size() == 2);
    CHECK(r[0].create_time == 1630272364);
    CHECK(r[0].end_state == "Missed");
    CHECK(r[0].peer == "9901");
    CHECK(r[1].end_state == "Received");
    CHECK(parse_call_log("records[0].CreateTime=-5\r\n").empty());
    // Seconds that would overflow int64 nanoseconds are garbage, not a time.
    CHECK(parse_call_log("records[0].CreateTime=99999999999999999\r\n").empty());
}

TEST_CASE("kv lines are capped") {
    std::string big;
    for (int i = 0; i < 10000; ++i) { // appends: "k" + to_string(i) trips GCC 12's -Wrestrict false positive
        big += 'k';
        big += std::to_string(i);
        big += "=v\n";
    }
    CHECK(parse_kv_lines(big, 100).size() == 100);
    CHECK(is_ok_reply("OK\r\n"));
    CHECK(is_ok_reply(" ok "));
    CHECK_FALSE(is_ok_reply("Error\r\nBad Request!\r\n"));
}

TEST_CASE("backoff: full jitter under a doubling ceiling, first within 2 s, capped") {
    std::mt19937_64 rng(42);
    Backoff b(milliseconds(2000), milliseconds(60000));
    auto first = b.next(rng);
    CHECK(first <= milliseconds(2000));
    CHECK(first >= milliseconds(100));
    for (int i = 0; i < 50; ++i) CHECK(b.next(rng) <= milliseconds(60000));
    CHECK(b.ceiling_ms() == 60000);
    b.reset();
    CHECK(b.ceiling_ms() == 2000);
    // Slow auth backoff: the floor keeps it slow.
    Backoff auth(milliseconds(60000), milliseconds(600000), milliseconds(30000));
    for (int i = 0; i < 20; ++i) CHECK(auth.next(rng) >= milliseconds(30000));
    CHECK(auth.ceiling_ms() == 600000);
}

TEST_CASE("missed rings: first connection sets the watermark, later ones replay once, restart does not replay") {
    auto dir = std::filesystem::temp_directory_path() / ("dahua-rings-" + std::to_string(std::random_device{}()));
    auto file = dir / "missed_rings";
    std::vector<CallRecord> log{{100, "Missed", "1", "1"}, {200, "Received", "1", "2"}};
    {
        MissedRings m(file);
        m.load();
        CHECK(m.select(log, 1000).empty());
        CHECK(m.watermark() == 200);
        log.push_back({300, "Missed", "9901", "3"});
        log.push_back({250, "Missed", "9902", "4"});
        log.push_back({260, "Received", "9902", "5"});
        auto replay = m.select(log, 1000);
        REQUIRE(replay.size() == 2);
        CHECK(replay[0].create_time == 250); // oldest first
        CHECK(replay[1].create_time == 300);
        CHECK(m.select(log, 1000).empty());
        m.seen_live(400);
        log.push_back({400, "Missed", "9903", "6"}); // seen live: not replayed
        CHECK(m.select(log, 1000).empty());
    }
    {
        MissedRings again(file); // a restart
        again.load();
        CHECK(again.watermark() == 400);
        CHECK(again.select(log, 1000).empty());
    }
    {
        std::ofstream(file) << "garbage";
        MissedRings broken(file);
        broken.load();
        CHECK_FALSE(broken.watermark());
        CHECK(broken.select({}, 1234).empty());
        CHECK(broken.watermark() == 1234);
    }
    std::filesystem::remove_all(dir);
}
