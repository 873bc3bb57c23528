// Authentication the way Dahua firmware does it (a fresh nonce per request) and
// HTTPS (verify_tls, ca_file), through dahua.so against dahua_sim.py.
#include "module_test_support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <thread>

using namespace std::chrono_literals;
using namespace dahua_test;
using nlohmann::json;
using passerelle::testing::ModuleHarness;
using passerelle::testing::module_path;

namespace {

// Per path: every 401 is followed by an answered request, so no request needed
// more than one extra round trip. `open` = requests still in flight (a stream is
// logged when it ends). A wrong digest ("bad") never happens.
void check_one_401_per_request(const SimProcess& sim, const std::string& path, size_t open = 0) {
    INFO(path);
    size_t challenged = count_status(sim, path, 401);
    size_t answered = count_status(sim, path, 200);
    CHECK(answered >= 1);
    CHECK(challenged <= answered + open);
    for (auto& r : sim.requests_to(path)) CHECK(r.value("auth", "") != "bad");
}

size_t reused_nonces(const SimProcess& sim) {
    size_t n = 0;
    for (auto& r : sim.requests()) n += r.value("auth", "") == "nonce_reused";
    return n;
}

} // namespace

TEST_CASE("a fresh nonce per request (Dahua): the stream and the device info keep working") {
    // Each stream lasts 1.5 s, so the stream and magicBox/ChannelTitle are
    // requested again and again, each time with the nonce the last request used.
    SimProcess sim({"--nonce-once", "--stream-duration", "1.5", "--events", "VideoMotion:Start:0"});
    ModuleHarness h(module_path("dahua"));
    REQUIRE(h.create(config(sim, {{"reconnect_max", "1s"}})).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(wait_until([&] { return count_status(sim, "/cgi-bin/magicBox.cgi", 200) >= 3 &&
                                    count_status(sim, "/cgi-bin/configManager.cgi", 200) >= 3; }, 25s));
    REQUIRE(h.wait_for_events(2, 10s)); // one per stream
    for (auto& e : h.events()) CHECK(e.type == "motion");
    CHECK(wait_until([&] { return h.health().info_json.find("IPC-HDW5231R-ZE") != std::string::npos; }, 5s));
    CHECK(health_reports(h, "auth_failed") == 0);
    CHECK(h.counter("auth_failures") == 0);
    CHECK(health_reports(h, "connected") >= 3);
    // The simulator did refuse reused nonces, and the module answered each new one.
    CHECK(reused_nonces(sim) >= 3);
    check_one_401_per_request(sim, "/cgi-bin/magicBox.cgi");
    check_one_401_per_request(sim, "/cgi-bin/configManager.cgi");
    check_one_401_per_request(sim, "/cgi-bin/eventManager.cgi", 1);
}

TEST_CASE("a fresh nonce per request (Dahua): actions succeed with one challenge each") {
    SimProcess sim({"--nonce-once"});
    ModuleHarness h(module_path("dahua"));
    REQUIRE(h.create(config(sim)).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.wait_for_health("connected", 10s));
    // Let the connect-time requests finish: the actions then run one at a time.
    REQUIRE(wait_until([&] { return count_status(sim, "/cgi-bin/configManager.cgi", 200) >= 1; }, 10s));
    size_t reused_before = reused_nonces(sim);

    auto snap = h.invoke("snapshot", R"({"channel": 1})");
    REQUIRE(snap.ok());
    CHECK(json::parse(snap.result)["size"].get<size_t>() > 4);
    REQUIRE(h.invoke("open_door", R"({"channel": 1})").ok());
    REQUIRE(h.invoke("set_motion_detection", R"({"channel": 2, "enabled": true})").ok());
    REQUIRE(h.invoke("disarm", R"({"channel": 1})").ok());
    REQUIRE(h.invoke("arm", R"({"channel": 1})").ok());

    CHECK(reused_nonces(sim) >= reused_before + 5); // each action met a used-up nonce...
    check_one_401_per_request(sim, "/cgi-bin/snapshot.cgi"); // ...and needed one more round trip only
    check_one_401_per_request(sim, "/cgi-bin/accessControl.cgi");
    check_one_401_per_request(sim, "/cgi-bin/configManager.cgi");
    CHECK(health_reports(h, "auth_failed") == 0);
    CHECK(h.counter("auth_failures") == 0);
    CHECK(h.health().state == "connected");
}

namespace {

struct TlsFiles {
    std::string cert, key;
};

// A self-signed certificate for 127.0.0.1, made at test time with the openssl CLI.
const TlsFiles& tls_files() {
    static TlsFiles f = [] {
        std::string dir = std::string(PASSERELLE_BINARY_DIR) + "/tests/dahua_tls";
        std::filesystem::create_directories(dir);
        TlsFiles out{dir + "/cert.pem", dir + "/key.pem"};
        std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
                          " -subj /CN=localhost -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1'"
                          " -keyout '" + out.key + "' -out '" + out.cert + "' >/dev/null 2>&1";
        REQUIRE(std::system(cmd.c_str()) == 0);
        return out;
    }();
    return f;
}

size_t handshakes_failed(const SimProcess& sim) {
    size_t n = 0;
    for (auto& r : sim.requests()) n += r.value("tls", "") == "handshake_failed";
    return n;
}

} // namespace

TEST_CASE("https: ca_file trusts the device, the default refuses it, verify_tls=false connects, never mixed") {
    const auto& tls = tls_files();
    std::vector<std::string> args{"--tls-cert", tls.cert, "--tls-key", tls.key, "--events", "VideoMotion:Start:0"};
    SimProcess trusted(args), strict(args), insecure(args);
    REQUIRE(trusted.url().rfind("https://", 0) == 0);

    // All three harnesses load the same dahua.so: one io thread, so the module's
    // shared HttpClient map (keyed on the TLS settings) is what keeps them apart.
    ModuleHarness a(module_path("dahua"));
    REQUIRE(a.create(config(trusted, {{"ca_file", tls.cert}}), {.instance_name = "trusted"}).ok());
    REQUIRE(a.start() == PL_OK);
    REQUIRE(a.wait_for_health("connected", 10s));
    REQUIRE(a.wait_for_events(1, 10s));
    CHECK(a.events()[0].type == "motion");

    // Same process, default verify_tls = true and no ca_file: must not borrow a's trust.
    ModuleHarness b(module_path("dahua"));
    REQUIRE(b.create(config(strict), {.instance_name = "strict"}).ok());
    REQUIRE(b.start() == PL_OK);
    REQUIRE(wait_until([&] { return !b.health().state.empty() && handshakes_failed(strict) >= 1; }, 10s));

    // verify_tls = false connects (with a warning), and must not lend that to b either.
    ModuleHarness c(module_path("dahua"));
    REQUIRE(c.create(config(insecure, {{"verify_tls", false}}), {.instance_name = "insecure"}).ok());
    REQUIRE(c.start() == PL_OK);
    REQUIRE(c.wait_for_health("connected", 10s));
    REQUIRE(c.wait_for_events(1, 10s));
    bool warned = false;
    for (auto& l : c.logs()) warned |= l.level == PL_LOG_WARN && l.message.find("verify_tls = false") != std::string::npos;
    CHECK(warned);

    std::this_thread::sleep_for(3s); // b keeps retrying meanwhile (backoff: first retry within 2 s)
    CHECK(handshakes_failed(strict) >= 2);
    CHECK(health_reports(b, "connected") == 0);
    CHECK(b.event_count() == 0);
    CHECK(strict.requests_to("/cgi-bin/eventManager.cgi").empty()); // no HTTP request got through
    auto detail = b.health().detail;
    INFO(detail);
    CHECK((detail.find("certificate") != std::string::npos || detail.find("TLS") != std::string::npos ||
           detail.find("tls") != std::string::npos));
    CHECK(health_reports(a, "connected") >= 1);
    CHECK(a.health().state == "connected");
}
