// Small helpers shared by the Dahua tests: read a fixture, feed a parser in
// different chunkings.
#pragma once

#include "cgi_stream_parser.hpp"

#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace dahua_test {

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline std::string http_fixture(const std::string& name) {
    return read_file(std::string(PASSERELLE_SHARED_DIR) + "/fixtures/dahua-http/" + name);
}
inline std::string dhip_fixture(const std::string& name) {
    return read_file(std::string(PASSERELLE_SHARED_DIR) + "/fixtures/dahua-dhip/" + name);
}

enum class Chunking { whole, byte_by_byte, random };

// Feeds `data` in the given chunking (random: seeded sizes 1..97), then finish().
inline std::vector<passerelle::dahua::CgiStreamItem> parse_all(const std::string& data, Chunking how,
                                                                unsigned seed = 1,
                                                                passerelle::dahua::CgiStreamParser::Options opt = {},
                                                                bool finish = true) {
    passerelle::dahua::CgiStreamParser p(opt);
    std::vector<passerelle::dahua::CgiStreamItem> out;
    std::string_view v(data);
    if (how == Chunking::whole) {
        p.feed(v, out);
    } else if (how == Chunking::byte_by_byte) {
        for (std::size_t i = 0; i < v.size(); ++i) p.feed(v.substr(i, 1), out);
    } else {
        std::mt19937 rng(seed);
        std::uniform_int_distribution<std::size_t> size(1, 97);
        for (std::size_t i = 0; i < v.size();) {
            std::size_t n = std::min(size(rng), v.size() - i);
            p.feed(v.substr(i, n), out);
            i += n;
        }
    }
    if (finish) p.finish(out);
    return out;
}

} // namespace dahua_test
