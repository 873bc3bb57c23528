// Deterministic cost of the Dahua module's per-part hot path, for callgrind:
// frames a stream, feeds it in 16 KiB reads through CgiStreamParser and maps
// every part into Events as CgiSession::Impl::on_data / handle_items do, inside
// dahua_measure() so that `--toggle-collect=dahua_measure` counts only that.
// Streams:
//   bench     the daemon benchmark's parts (dahua_loadgen's event_part: VideoMotion
//             Start, index = seq % 4, data {SendNs, Seq}), 5000 of them, a heartbeat
//             every 1000 parts; every part is one event;
//   fixtures  every capture in ../shared/fixtures/dahua-http/, each one stream
//             (a fresh parser, finish() at its end), repeated 100 times.
//   valgrind --tool=callgrind --toggle-collect=dahua_measure --callgrind-out-file=/tmp/dh-cg.out
//            build/bench/dahua_instr_bench bench
// then instructions per part = Ir / parts (printed). The bench also counts the
// calls to operator new made inside dahua_measure (printed per part). Usable
// without valgrind too. A third argument `dump` prints every event (to compare
// two builds' output; not for measuring).
#include "cgi_stream_parser.hpp"
#include "event_mapping.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>
#include <sstream>
#include <string>
#include <vector>

using namespace passerelle::dahua;

namespace {

// Counting allocator: only while `counting` is set (inside dahua_measure).
bool counting = false;
bool dump = false;
std::size_t allocations = 0;

struct Totals {
    std::size_t parts = 0, heartbeats = 0, errors = 0, events = 0, attrs = 0;
};

std::string bench_part(long long seq) {
    // As dahua_loadgen's event_part, with a fixed send time (the text length then never varies).
    char body[256];
    int n = std::snprintf(body, sizeof body,
                          "Code=VideoMotion;action=Start;index=%d;data={\n   \"SendNs\" : %lld,\n   \"Seq\" : %lld\n}\n",
                          int(seq % 4), 1'700'000'000'000'000'000LL + seq * 200'000, seq);
    char head[128];
    int h = std::snprintf(head, sizeof head, "--myboundary\r\nContent-Type: text/plain\r\nContent-Length:%d\r\n\r\n", n);
    return std::string(head, h) + std::string(body, n) + "\r\n\r\n";
}

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

} // namespace

void* operator new(std::size_t n) {
    if (counting) ++allocations;
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

// C linkage: a plain symbol for --toggle-collect=dahua_measure (which then counts its callees too).
extern "C" __attribute__((noinline)) void dahua_measure(const std::vector<std::string>& streams, int iterations,
                                                        Totals& t) {
    std::vector<CgiStreamItem> items;        // one per session, as CgiSession::Impl::items
    std::vector<passerelle::Event> events;   // and CgiSession::Impl::events
    auto handle_items = [&] {
        for (auto& item : items) {
            switch (item.kind) {
            case CgiStreamItem::Kind::heartbeat: ++t.heartbeats; break;
            case CgiStreamItem::Kind::error:
                ++t.errors;
                if (dump) std::printf("error %s (%s)\n", std::string(to_string(item.error)).c_str(), item.detail.c_str());
                break;
            case CgiStreamItem::Kind::part: {
                ++t.parts;
                map_part_body(item.part.body, events); // as CgiSession::Impl::handle_items
                t.events += events.size();
                for (auto& e : events) {
                    t.attrs += e.attrs.size();
                    if (!dump) continue;
                    std::printf("%s %s %s ch=%d %s t=%lld\n", e.module.c_str(), e.type.c_str(), e.code.c_str(),
                                int(e.channel), std::string(passerelle::to_string(e.state)).c_str(),
                                static_cast<long long>(e.time_ns));
                    for (const auto& [k, v] : e.attrs) std::printf("  %s=%s\n", k.c_str(), v.c_str());
                }
                events.clear();
                break;
            }
            }
        }
        items.clear();
    };
    for (int it = 0; it < iterations; ++it) {
        for (const auto& wire : streams) {
            CgiStreamParser parser;
            for (std::size_t i = 0; i < wire.size(); i += 16384) {
                items.clear();
                parser.feed(std::string_view(wire).substr(i, 16384), items);
                handle_items();
            }
            parser.finish(items);
            handle_items();
        }
    }
}

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s bench|fixtures [iterations [dump]]\n", argv[0]);
        return 2;
    }
    const bool bench = std::strcmp(argv[1], "bench") == 0;
    const int iterations = argc > 2 ? std::atoi(argv[2]) : bench ? 1 : 100;
    dump = argc > 3 && std::strcmp(argv[3], "dump") == 0;
    std::vector<std::string> streams;
    if (bench) {
        std::string wire;
        for (int i = 0; i < 5000; ++i) {
            if (i % 1000 == 0)
                wire += "\r\n--myboundary\r\nContent-Type: text/plain\r\nContent-Length:9\r\n\r\nHeartbeat";
            wire += bench_part(i);
        }
        streams.push_back(std::move(wire));
    } else {
        std::vector<std::filesystem::path> files;
        for (const auto& f : std::filesystem::directory_iterator(std::string(PASSERELLE_SHARED_DIR) +
                                                                 "/fixtures/dahua-http"))
            files.push_back(f.path());
        std::sort(files.begin(), files.end());
        for (const auto& f : files) streams.push_back(read_file(f));
    }
    Totals t;
    counting = true;
    dahua_measure(streams, iterations, t);
    counting = false;
    std::printf("stream %s x%d: %zu parts, %zu heartbeats, %zu errors, %zu events, %zu attrs; "
                "%zu operator new calls (%.2f per part)\n",
                argv[1], iterations, t.parts, t.heartbeats, t.errors, t.events, t.attrs, allocations,
                t.parts ? double(allocations) / double(t.parts) : 0.0);
    return 0;
}
