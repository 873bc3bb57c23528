// Missed rings of a VTO doorbell: after a reconnect, the call log
// (recordFinder VideoTalkLog) is read and the rings missed while the stream
// was down are published once, with their real time. What was already handled
// is a watermark (device time, seconds) persisted in a small file under the
// instance's state_dir, so a daemon restart never replays them again.
//
// Rules (select()):
//  - no watermark yet (first connection ever): nothing is replayed, the
//    watermark becomes the newest record, or `now_s` for an empty log (history
//    before passerelle is not news);
//  - otherwise every record with EndState "Missed" newer than the watermark is
//    replayed, oldest first, and the watermark moves to the newest record;
//  - a ring seen live (a doorbell event) moves the watermark to its time, so it
//    is not replayed after the next reconnect.
#pragma once

#include "cgi_replies.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

namespace passerelle::dahua {

class MissedRings {
public:
    explicit MissedRings(std::filesystem::path file) : file_(std::move(file)) {}

    // Reads the watermark file (a missing or unreadable file means "none").
    void load();
    // The records to replay now; advances (and persists) the watermark.
    std::vector<CallRecord> select(const std::vector<CallRecord>& records, int64_t now_s);
    // A ring seen live at `device_time_s`.
    void seen_live(int64_t device_time_s);

    std::optional<int64_t> watermark() const { return watermark_; }

private:
    void save();

    std::filesystem::path file_;
    std::optional<int64_t> watermark_;
};

} // namespace passerelle::dahua
