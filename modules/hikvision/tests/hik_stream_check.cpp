// Reads an alertStream body (or a whole HTTP response) on stdin in small reads,
// runs it through the parser, decoder and state machine, and prints a JSON
// summary. Used by the simulator self-test (hik_sim_selftest.py).
#include "event_state.hpp"
#include "multipart.hpp"
#include "notification.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <map>

using namespace passerelle::hikvision;

int main(int argc, char** argv) {
    // argv: [declared boundary] [--hold-smart]
    std::string declared;
    EventStateOptions opt;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--hold-smart") opt.hold_smart_events = true;
        else declared = a;
    }
    MultipartParser parser(declared);
    EventState state(opt);
    std::vector<passerelle::Event> events;
    nlohmann::json summary = {{"parts", 0}, {"images", 0}, {"heartbeats", 0}, {"errors", nlohmann::json::array()}};
    std::map<std::string, int> by_code, by_state;
    int64_t now = 0;
    parser.set_handlers(
        [&](const PartView& p) {
            summary["parts"] = summary["parts"].get<int>() + 1;
            now += 1'000'000;
            if (p.is_binary()) {
                summary["images"] = summary["images"].get<int>() + 1;
                state.on_image(p.body, p.media_type, now, events);
                return;
            }
            auto d = decode_part(p);
            if (!d.error.empty()) summary["errors"].push_back("decode: " + d.error);
            if (d.notifications.empty()) state.on_other_part(now, events);
            for (const auto& n : d.notifications) {
                ++by_code[n.event.code];
                if (n.heartbeat) summary["heartbeats"] = summary["heartbeats"].get<int>() + 1;
                state.on_notification(n, now, events);
            }
        },
        [&](std::string_view e) { summary["errors"].push_back(std::string(e)); });
    char buf[1500];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) parser.feed(std::string_view(buf, n));
    parser.finish();
    state.flush(now, events);
    int attachments = 0;
    for (const auto& e : events) {
        ++by_state[std::string(passerelle::to_string(e.state)) + ":" + e.type];
        attachments += !e.attachment.empty();
    }
    summary["by_code"] = by_code;
    summary["events"] = by_state;
    summary["attachments"] = attachments;
    summary["orphan_images"] = state.orphan_images();
    std::cout << summary.dump() << "\n";
    return 0;
}
