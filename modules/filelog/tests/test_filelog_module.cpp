// filelog.so loaded like the daemon loads it (through the module harness):
// the declaration, config errors, events delivered and read back as JSON,
// attachments, rotation through the config, and a full disk.
#include "module_harness.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using nlohmann::json;
using passerelle::Event;
using passerelle::State;
using passerelle::testing::ModuleHarness;
using passerelle::testing::module_path;
using passerelle::testing::TempDir;

namespace {

std::vector<json> read_json_lines(const fs::path& p) {
    std::vector<json> out;
    std::ifstream in(p);
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line)); // throws on a bad line
    return out;
}

std::string config_for(const fs::path& log, const std::string& extra = "") {
    json c = json::object();
    c["path"] = log.string();
    if (!extra.empty()) c.update(json::parse(extra));
    return c.dump();
}

Event sample_event(uint64_t id, std::string type = "motion") {
    Event e;
    e.id = id;
    e.time_ns = 1'700'000'000'123'000'000LL + static_cast<int64_t>(id);
    e.received_ns = e.time_ns + 5'000'000;
    e.source = "cam_garage";
    e.module = "hikvision";
    e.type = std::move(type);
    e.code = "VMD";
    e.channel = 2;
    e.state = State::start;
    e.attrs = {{"region", "1"}, {"target", "human"}};
    return e;
}

} // namespace

TEST_CASE("filelog declares itself", "[filelog][module]") {
    ModuleHarness h(module_path("filelog"));
    const auto& d = h.descriptor();
    CHECK(std::string(d.name) == "filelog");
    CHECK(d.max_inflight == 256);
    REQUIRE(h.find_key("path"));
    CHECK((h.find_key("path")->flags & PL_KEY_REQUIRED) != 0);
    REQUIRE(h.find_key("max_size"));
    CHECK(h.find_key("max_size")->type == PL_KEY_SIZE);
    CHECK(std::string(h.find_key("max_size")->default_value) == "10MiB");
    REQUIRE(h.find_key("keep"));
    CHECK(std::string(h.find_key("keep")->default_value) == "5");
    REQUIRE(h.find_key("fsync"));
    CHECK(std::string(h.find_key("fsync")->default_value) == "batch");
    CHECK(h.find_action("deliver"));
}

TEST_CASE("filelog refuses bad configs with the key at fault", "[filelog][module]") {
    TempDir dir;
    const std::string log = (dir / "e.jsonl").string();
    struct Case {
        std::string config;
        std::string key;
    };
    const std::vector<Case> cases = {
        {"{}", "path"},
        {json{{"path", ""}}.dump(), "path"},
        {json{{"path", log}, {"fsync", "sometimes"}}.dump(), "fsync"},
        {json{{"path", log}, {"keep", -1}}.dump(), "keep"},
        {json{{"path", log}, {"keep", "many"}}.dump(), "keep"},
        {json{{"path", log}, {"max_size", "huge"}}.dump(), "max_size"},
    };
    for (const auto& c : cases) {
        ModuleHarness h(module_path("filelog"));
        auto created = h.create(c.config);
        INFO(c.config << " -> " << created.error_key << ": " << created.error_message);
        CHECK(created.status == PL_ERR_INVALID);
        CHECK(created.error_key == c.key);
        CHECK_FALSE(created.error_message.empty());
    }
}

TEST_CASE("delivered events come back as one JSON object per line", "[filelog][module]") {
    TempDir dir;
    const fs::path log = dir / "events.jsonl";
    ModuleHarness h(module_path("filelog"));
    REQUIRE(h.create(config_for(log, R"({"fsync": "always"})")).ok());
    REQUIRE(h.start() == PL_OK);
    CHECK(h.wait_for_health("ok", std::chrono::seconds(2)));

    Event tricky = sample_event(3, "doorbell");
    tricky.state = State::pulse;
    tricky.channel = 0;
    tricky.code = "_DoTalkAction_";
    tricky.attrs = {{"caller", "Porte \"avant\"\nline2\t\\"}, {"note", "\xC3\xA9t\xC3\xA9"}, {"ctl", std::string("a\x01z")}};

    const std::vector<Event> sent = {sample_event(1), sample_event(2, "line_crossing"), tricky};
    for (const auto& e : sent) {
        auto r = h.deliver(e);
        INFO(r.result);
        REQUIRE(r.status == PL_OK);
    }
    h.stop();

    auto lines = read_json_lines(log);
    REQUIRE(lines.size() == sent.size());
    for (size_t i = 0; i < sent.size(); ++i) {
        const Event& e = sent[i];
        const json& j = lines[i];
        CHECK(j["id"] == e.id);
        CHECK(j["source"] == e.source);
        CHECK(j["module"] == e.module);
        CHECK(j["type"] == e.type);
        CHECK(j["code"] == e.code);
        CHECK(j["channel"] == e.channel);
        CHECK(j["state"] == std::string(passerelle::to_string(e.state)));
        CHECK(j["time"].get<std::string>().starts_with("2023-11-14T22:13:20.123"));
        REQUIRE(j["attrs"].size() == e.attrs.size());
        for (const auto& [k, v] : e.attrs) CHECK(j["attrs"][k] == v);
        CHECK_FALSE(j.contains("attachment"));
    }
    CHECK(h.counter("events_written") == 3);
}

TEST_CASE("an attachment is saved as a file and its path is in the line", "[filelog][module]") {
    TempDir dir;
    const fs::path log = dir / "events.jsonl";
    ModuleHarness h(module_path("filelog"));
    REQUIRE(h.create(config_for(log)).ok());
    REQUIRE(h.start() == PL_OK);

    Event e = sample_event(77);
    e.attachment_mime = "image/jpeg";
    e.attachment = {0xFF, 0xD8, 0xFF, 0xE0, 'J', 'F', 'I', 'F', 0xFF, 0xD9};
    REQUIRE(h.deliver(e).status == PL_OK);
    h.stop();

    auto lines = read_json_lines(log);
    REQUIRE(lines.size() == 1);
    REQUIRE(lines[0].contains("attachment"));
    CHECK(lines[0]["attachment"]["mime"] == "image/jpeg");
    const fs::path saved = lines[0]["attachment"]["path"].get<std::string>();
    CHECK(saved == dir / "events.jsonl.attachments" / "77.jpg");
    std::ifstream in(saved, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(bytes == e.attachment);
    CHECK(h.counter("attachments_written") == 1);
}

TEST_CASE("a burst keeps the kernel's order, events with attachments in their place", "[filelog][module]") {
    // Plain events are written from the delivering thread's line text, those
    // with an attachment through a copy: the file must still read in order.
    TempDir dir;
    const fs::path log = dir / "events.jsonl";
    ModuleHarness h(module_path("filelog"));
    REQUIRE(h.create(config_for(log)).ok());
    REQUIRE(h.start() == PL_OK);
    std::vector<Event> burst;
    for (uint64_t id = 1; id <= 40; ++id) {
        Event e = sample_event(id);
        if (id % 7 == 3) {
            e.attachment_mime = "image/jpeg";
            e.attachment = {0xFF, 0xD8, static_cast<uint8_t>(id), 0xFF, 0xD9};
        }
        burst.push_back(e);
    }
    for (const auto& r : h.deliver_burst(burst)) {
        INFO(r.result);
        CHECK(r.status == PL_OK);
    }
    h.stop();
    auto lines = read_json_lines(log);
    REQUIRE(lines.size() == burst.size());
    for (size_t i = 0; i < burst.size(); ++i) {
        CHECK(lines[i]["id"] == burst[i].id);
        CHECK(lines[i].contains("attachment") == !burst[i].attachment.empty());
    }
    CHECK(h.counter("events_written") == 40);
    CHECK(h.counter("attachments_written") == 6);
}

TEST_CASE("rotation follows max_size and keep from the config", "[filelog][module]") {
    TempDir dir;
    const fs::path log = dir / "events.jsonl";
    ModuleHarness h(module_path("filelog"));
    REQUIRE(h.create(config_for(log, R"({"max_size": "1KB", "keep": 2, "fsync": "never"})")).ok());
    REQUIRE(h.start() == PL_OK);
    for (uint64_t id = 1; id <= 60; ++id) REQUIRE(h.deliver(sample_event(id)).status == PL_OK);
    h.stop();

    CHECK(fs::exists(log.string() + ".1"));
    CHECK(fs::exists(log.string() + ".2"));
    CHECK_FALSE(fs::exists(log.string() + ".3"));
    // Oldest to newest: ids strictly increasing and ending with the last one.
    std::vector<uint64_t> ids;
    for (const auto& file : {log.string() + ".2", log.string() + ".1", log.string()}) {
        CHECK(fs::file_size(file) <= 1000);
        for (const auto& j : read_json_lines(file)) ids.push_back(j["id"].get<uint64_t>());
    }
    REQUIRE(ids.size() > 2);
    for (size_t i = 1; i < ids.size(); ++i) CHECK(ids[i] == ids[i - 1] + 1);
    CHECK(ids.back() == 60);
}

TEST_CASE("fsync = batch syncs on a timer and closes cleanly", "[filelog][module]") {
    TempDir dir;
    const fs::path log = dir / "events.jsonl";
    ModuleHarness h(module_path("filelog"));
    REQUIRE(h.create(config_for(log)).ok()); // default policy: batch
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.deliver(sample_event(1)).status == PL_OK);
    REQUIRE(h.deliver(sample_event(2)).status == PL_OK);
    CHECK(h.pending_timers() == 1); // one sync scheduled for both lines
    h.stop();
    CHECK(h.pending_timers() == 0); // stop cancels it
    CHECK(read_json_lines(log).size() == 2);
}

TEST_CASE("a full disk asks for a retry and reports health", "[filelog][module]") {
    if (!fs::exists("/dev/full")) {
        WARN("no /dev/full here");
        return;
    }
    ModuleHarness h(module_path("filelog"));
    REQUIRE(h.create(config_for("/dev/full", R"({"fsync": "never"})")).ok());
    REQUIRE(h.start() == PL_OK);
    auto r = h.deliver(sample_event(1));
    CHECK(r.status == PL_ERR_RETRY);
    CHECK(r.result.find("No space left on device") != std::string::npos);
    CHECK(h.health().state == "error");
    CHECK(h.counter("write_errors") == 1);
    CHECK(h.counter("events_written") == 0);
}

TEST_CASE("an impossible path: start reports it, deliveries ask for a retry", "[filelog][module]") {
    TempDir dir;
    { std::ofstream(dir / "plain-file") << "x"; }
    ModuleHarness h(module_path("filelog"));
    REQUIRE(h.create(config_for(dir / "plain-file" / "events.jsonl")).ok());
    REQUIRE(h.start() == PL_OK); // not fatal: the disk may come later
    CHECK(h.health().state == "error");
    CHECK(h.deliver(sample_event(1)).status == PL_ERR_RETRY);
}

TEST_CASE("deliver without an event, and unknown actions, are refused", "[filelog][module]") {
    TempDir dir;
    ModuleHarness h(module_path("filelog"));
    REQUIRE(h.create(config_for(dir / "e.jsonl")).ok());
    REQUIRE(h.start() == PL_OK);
    CHECK(h.invoke("deliver").status == PL_ERR_INVALID);
    CHECK(h.invoke("explode").status == PL_ERR_UNKNOWN_ACTION);
    CHECK(h.invoke("deliver", "not json", sample_event(1)).status == PL_ERR_INVALID);
}

TEST_CASE("stop then start again: writing resumes in the same file", "[filelog][module]") {
    TempDir dir;
    const fs::path log = dir / "events.jsonl";
    ModuleHarness h(module_path("filelog"));
    REQUIRE(h.create(config_for(log)).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.deliver(sample_event(1)).status == PL_OK);
    h.stop();
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.deliver(sample_event(2)).status == PL_OK);
    CHECK(h.pending_timers() == 1); // the batch sync is scheduled again after a restart
    h.destroy();
    auto lines = read_json_lines(log);
    REQUIRE(lines.size() == 2);
    CHECK(lines[1]["id"] == 2);
}
