// Reads the real AMI captures of ../shared/fixtures/asterisk/.
#pragma once

#include "ami_parser.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace passerelle::asterisk::testing {

inline std::string fixture_dir(const std::string& version) {
    return std::string(PASSERELLE_SHARED_DIR) + "/fixtures/asterisk/ami-" + version;
}

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline std::string server_capture(const std::string& version, const std::string& name) {
    return read_file(fixture_dir(version) + "/" + name + ".server.txt");
}

inline std::vector<AmiPacket> parse_all(std::string_view bytes) {
    std::vector<AmiPacket> out;
    AmiParser parser;
    parser.feed(bytes, [&](AmiPacket&& p) { out.push_back(std::move(p)); });
    return out;
}

} // namespace passerelle::asterisk::testing
