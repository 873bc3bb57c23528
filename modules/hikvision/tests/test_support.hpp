// Helpers shared by the hikvision tests: fixture loading, framing, chunked feeding.
#pragma once

#include "multipart.hpp"
#include "notification.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace hiktest {

inline std::string fixture_path(const std::string& name) {
    return std::string(PASSERELLE_SHARED_DIR) + "/fixtures/hikvision/" + name;
}

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline std::string fixture(const std::string& name) { return read_file(fixture_path(name)); }

// hiksink_samples_*.txt: one {"content": "..."} per line.
inline std::vector<std::string> load_samples(const std::string& name) {
    std::vector<std::string> out;
    std::ifstream in(fixture_path(name), std::ios::binary);
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) out.push_back(nlohmann::json::parse(line).at("content").get<std::string>());
    return out;
}

// Frames bodies the way Hikvision does: "--boundary", CRLF headers with
// "Content-Length: N", blank line, body, next boundary right after the body.
inline std::string frame(const std::vector<std::string>& bodies, const std::string& type = "application/xml; charset=\"UTF-8\"") {
    std::string s;
    for (const auto& b : bodies) {
        s += "--boundary\r\nContent-Type: " + type + "\r\nContent-Length: " + std::to_string(b.size()) + "\r\n\r\n";
        s += b;
    }
    return s;
}

struct Collected {
    std::vector<passerelle::hikvision::Part> parts;
    std::vector<std::string> errors;
};

// Feeds `stream` in chunks: chunk == 0 means random sizes 1..max_random (seeded), else fixed size.
inline Collected parse(const std::string& stream, size_t chunk = 0, unsigned seed = 1, std::string_view declared = {},
                       size_t max_random = 700, passerelle::hikvision::MultipartLimits limits = {}) {
    Collected c;
    passerelle::hikvision::MultipartParser p(declared, limits);
    p.set_handlers([&](const passerelle::hikvision::PartView& part) { c.parts.emplace_back(part); },
                   [&](std::string_view e) { c.errors.emplace_back(e); });
    std::mt19937 rng(seed);
    std::uniform_int_distribution<size_t> dist(1, max_random);
    size_t i = 0;
    while (i < stream.size()) {
        size_t n = chunk ? chunk : dist(rng);
        n = std::min(n, stream.size() - i);
        p.feed(std::string_view(stream).substr(i, n));
        i += n;
    }
    p.finish();
    return c;
}

// Parse everything whole (one feed call).
inline Collected parse_whole(const std::string& stream, std::string_view declared = {}) {
    return parse(stream, stream.size() ? stream.size() : 1, 1, declared);
}

// Removes the "# ..." annotation lines the fixture authors added around verbatim text.
inline std::string strip_comment_lines(const std::string& text) {
    std::string out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("#", 0) == 0) continue;
        out += line;
        out += '\n';
    }
    return out;
}

// Text before the "[... excerpt ends ...]" marker (the fixture was cut there).
inline std::string before_excerpt_end(const std::string& text) {
    auto p = text.find("[... excerpt ends ...]");
    return p == std::string::npos ? text : text.substr(0, p);
}

} // namespace hiktest
