#include "missed_rings.hpp"

#include <algorithm>
#include <fstream>
#include <system_error>

namespace passerelle::dahua {

void MissedRings::load() {
    watermark_.reset();
    std::ifstream in(file_);
    long long t = 0;
    if (in >> t && t > 0) watermark_ = t;
}

void MissedRings::save() {
    if (!watermark_ || file_.empty()) return;
    std::error_code ec;
    std::filesystem::create_directories(file_.parent_path(), ec);
    auto tmp = file_;
    tmp += ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        if (!out) return;
        out << *watermark_ << "\n";
        if (!out.flush()) return;
    }
    std::filesystem::rename(tmp, file_, ec); // atomic: never a half-written watermark
}

std::vector<CallRecord> MissedRings::select(const std::vector<CallRecord>& records, int64_t now_s) {
    std::vector<CallRecord> out;
    int64_t newest = 0;
    for (const auto& r : records) newest = std::max(newest, r.create_time);
    if (!watermark_) {
        watermark_ = newest > 0 ? newest : now_s;
        save();
        return out;
    }
    for (const auto& r : records)
        if (r.create_time > *watermark_ && r.end_state == "Missed") out.push_back(r);
    std::stable_sort(out.begin(), out.end(),
                     [](const CallRecord& a, const CallRecord& b) { return a.create_time < b.create_time; });
    if (newest > *watermark_) {
        watermark_ = newest;
        save();
    }
    return out;
}

void MissedRings::seen_live(int64_t device_time_s) {
    if (device_time_s <= 0 || (watermark_ && *watermark_ >= device_time_s)) return;
    watermark_ = device_time_s;
    save();
}

} // namespace passerelle::dahua
