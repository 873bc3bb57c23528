// dahua_cgi_dump [--repeat N] [--chunk N] [--quiet] [--no-map] [--max-part N] [--max-header N] [file...]   (stdin when no file)
// Feeds the concatenated input (repeated N times) to the CGI stream parser in chunks
// of N bytes, maps every part, prints one line per item (JSON for events) and a
// summary with the parser throughput on stderr. Used by the simulator self-test
// and to measure speed.
#include "cgi_stream_parser.hpp"
#include "event_mapping.hpp"

#include <passerelle/event_json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

using namespace passerelle::dahua;

int main(int argc, char** argv) {
    std::size_t repeat = 1, chunk = 4096;
    bool quiet = false, map = true;
    std::string input;
    bool any_file = false;
    CgiStreamParser::Options opt;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--repeat" && i + 1 < argc) {
            repeat = std::strtoull(argv[++i], nullptr, 10);
        } else if (a == "--chunk" && i + 1 < argc) {
            chunk = std::max<std::size_t>(1, std::strtoull(argv[++i], nullptr, 10));
        } else if (a == "--max-part" && i + 1 < argc) {
            opt.max_part_size = std::strtoull(argv[++i], nullptr, 10);
        } else if (a == "--max-header" && i + 1 < argc) {
            opt.max_header_size = std::strtoull(argv[++i], nullptr, 10);
        } else if (a == "--no-map") {
            map = false;
        } else if (a == "--quiet") {
            quiet = true;
        } else {
            std::ifstream in(a, std::ios::binary);
            if (!in) {
                std::cerr << "cannot open " << a << "\n";
                return 2;
            }
            input.append(std::istreambuf_iterator<char>(in), {});
            any_file = true;
        }
    }
    if (!any_file) input.assign(std::istreambuf_iterator<char>(std::cin), {});
    std::string data;
    data.reserve(input.size() * repeat);
    for (std::size_t i = 0; i < repeat; ++i) data += input;

    CgiStreamParser parser(opt);
    std::vector<CgiStreamItem> items;
    std::size_t events = 0;
    std::string line;
    auto t0 = std::chrono::steady_clock::now();
    double parse_s = 0;
    for (std::size_t off = 0; off < data.size() || off == 0; off += chunk) {
        items.clear();
        auto a = std::chrono::steady_clock::now();
        parser.feed(std::string_view(data).substr(off, chunk), items);
        if (off + chunk >= data.size()) parser.finish(items);
        parse_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
        for (const auto& it : items) {
            if (it.kind == CgiStreamItem::Kind::heartbeat) {
                if (!quiet) std::cout << "heartbeat\n";
            } else if (it.kind == CgiStreamItem::Kind::error) {
                if (!quiet) std::cout << "error " << to_string(it.error) << " " << it.detail << "\n";
            } else if (map) {
                for (const auto& e : map_part_body(it.part.body)) {
                    ++events;
                    if (!quiet) {
                        line.clear();
                        passerelle::append_event_json(line, e);
                        std::cout << "event " << line << "\n";
                    }
                }
            }
        }
        if (data.empty()) break;
    }
    double total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto& s = parser.stats();
    double mb = static_cast<double>(data.size()) / 1e6;
    std::fprintf(stderr,
                 "bytes=%zu parts=%llu heartbeats=%llu errors=%llu events=%zu parser=%.1f MB/s "
                 "parser+mapping=%.1f MB/s\n",
                 data.size(), static_cast<unsigned long long>(s.parts), static_cast<unsigned long long>(s.heartbeats),
                 static_cast<unsigned long long>(s.errors), events, parse_s > 0 ? mb / parse_s : 0.0,
                 total_s > 0 ? mb / total_s : 0.0);
    return 0;
}
