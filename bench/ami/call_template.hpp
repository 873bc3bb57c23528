// A captured call (its events, banner and login left out) as a template whose
// uniqueids and linkedids are slots, so every replay renders a new call with
// fresh ids and otherwise the capture's bytes. Shared by bench_ami (in-process
// parser figure) and ami_loadgen (the busy PBX that feeds a real daemon).
#pragma once

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace ami_bench {

struct Template {
    std::vector<std::string> text;
    std::vector<int> slot; // slot[i] follows text[i]
    int slots = 0;
    uint64_t events = 0;   // "Event:" packets in one rendering
};

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline Template load(const std::string& path) {
    std::string all = read_file(path);
    // Skip the banner and the login packets: start at the first call event.
    size_t start = all.find("Event: Newchannel");
    size_t end = all.find("Response: Goodbye");
    if (start == std::string::npos) return {};
    std::string body = all.substr(start, end == std::string::npos ? std::string::npos : end - start);
    Template t;
    for (size_t p = 0; (p = body.find("Event: ", p)) != std::string::npos; ++p)
        if (p == 0 || body[p - 1] == '\n') ++t.events;
    std::map<std::string, int> ids;
    std::regex re(R"(((?:Dest)?(?:Uniqueid|Linkedid): )(\d+\.\d+))", std::regex::icase);
    size_t last = 0;
    for (auto it = std::sregex_iterator(body.begin(), body.end(), re); it != std::sregex_iterator(); ++it) {
        auto& m = *it;
        size_t value_pos = m.position(2);
        t.text.push_back(body.substr(last, value_pos - last));
        auto [pos, added] = ids.emplace(m.str(2), t.slots);
        if (added) ++t.slots;
        t.slot.push_back(pos->second);
        last = value_pos + m.length(2);
    }
    t.text.push_back(body.substr(last));
    return t;
}

// Appends call number `call` of this template to out.
inline void render(const Template& t, uint64_t call, std::string& out) {
    char id[32];
    for (size_t i = 0; i < t.slot.size(); ++i) {
        out += t.text[i];
        int n = std::snprintf(id, sizeof id, "%llu.%d", static_cast<unsigned long long>(1700000000 + call), t.slot[i]);
        out.append(id, n);
    }
    out += t.text.back();
}

} // namespace ami_bench
