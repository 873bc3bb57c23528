// The webhook module loaded as the daemon loads it (module harness), sending
// to an in-process HTTP(S) server on 127.0.0.1 that records every request.
#include "test_server.hpp"
#include "../../../tests/support/module_harness.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>

using namespace std::chrono_literals;
using passerelle::testing::ModuleHarness;
using passerelle::testing::module_path;
using test::Peer;
using test::ServerRequest;
using test::TestServer;

namespace {

passerelle::Event doorbell(uint64_t id) {
    passerelle::Event e;
    e.id = id;
    e.time_ns = 1'700'000'000'000'000'000 + static_cast<int64_t>(id) * 1'000'000;
    e.received_ns = e.time_ns;
    e.source = "vto";
    e.module = "dahua";
    e.type = "doorbell";
    e.code = "_DoTalkAction_";
    e.channel = 1;
    e.attrs["caller"] = "porte d'entrée";
    return e;
}

// Records requests; answers each with what `answer` says (default 200).
struct Recorder {
    std::mutex mutex;
    std::vector<ServerRequest> requests;
    std::function<std::string(const ServerRequest&)> answer = [](const ServerRequest&) {
        return test::response(200, "OK", {}, "{}");
    };
    test::Handler handler() {
        return [this](const ServerRequest& r, Peer& peer) {
            std::string reply;
            {
                std::lock_guard lock(mutex);
                requests.push_back(r);
                reply = answer(r);
            }
            return peer.write(reply);
        };
    }
    std::vector<ServerRequest> seen() {
        std::lock_guard lock(mutex);
        return requests;
    }
};

std::string config(const std::string& url, const std::string& extra = "") {
    return R"({"url": ")" + url + "\"" + extra + "}";
}

bool logs_contain(const ModuleHarness& h, std::string_view text) {
    for (const auto& l : h.logs())
        if (l.message.find(text) != std::string::npos) return true;
    return false;
}

struct Certs {
    std::string dir;
    test::TlsFiles files;
};

const Certs& certs() {
    static Certs c = [] {
        Certs out;
        out.dir = std::string(PASSERELLE_BINARY_DIR) + "/tests/webhook_tls";
        std::filesystem::create_directories(out.dir);
        out.files = {out.dir + "/cert.pem", out.dir + "/key.pem"};
        std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
                          " -subj /CN=localhost -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1'"
                          " -keyout '" + out.files.key + "' -out '" + out.files.cert + "' >/dev/null 2>&1";
        REQUIRE(std::system(cmd.c_str()) == 0);
        return out;
    }();
    return c;
}

} // namespace

TEST_CASE("webhook: declares a deliver action and max_inflight 1") {
    ModuleHarness h(module_path("webhook"));
    CHECK(std::string(h.descriptor().name) == "webhook");
    CHECK(h.descriptor().max_inflight == 1);
    REQUIRE(h.find_action("deliver"));
    REQUIRE(h.find_key("password"));
    CHECK((h.find_key("password")->flags & PL_KEY_SECRET));
    CHECK((h.find_key("token")->flags & PL_KEY_SECRET));
}

TEST_CASE("webhook: config errors name the key") {
    ModuleHarness h(module_path("webhook"));
    auto r = h.create(R"({"url": "http://127.0.0.1:1/", "auth": "bearer"})");
    CHECK_FALSE(r.ok());
    CHECK(r.error_key == "token");
    auto missing_ca = h.create(R"({"url": "https://127.0.0.1:1/", "ca_file": "/nonexistent/ca.pem"})");
    CHECK_FALSE(missing_ca.ok());
    CHECK(missing_ca.error_key == "ca_file");
}

TEST_CASE("webhook: POSTs each event as JSON on one keep-alive connection") {
    Recorder rec;
    TestServer server(rec.handler());
    ModuleHarness h(module_path("webhook"));
    REQUIRE(h.create(config(server.url("/hook/{source}?type={type}"))).ok());
    REQUIRE(h.start() == PL_OK);
    for (uint64_t id = 1; id <= 3; ++id) {
        auto r = h.deliver(doorbell(id));
        REQUIRE(r.status == PL_OK);
        CHECK(nlohmann::json::parse(r.result)["status"] == 200);
    }
    auto seen = rec.seen();
    REQUIRE(seen.size() == 3);
    for (size_t i = 0; i < seen.size(); ++i) {
        CHECK(seen[i].method == "POST");
        CHECK(seen[i].target == "/hook/vto?type=doorbell");
        CHECK(seen[i].header("content-type") == "application/json");
        auto j = nlohmann::json::parse(seen[i].body);
        CHECK(j["id"] == i + 1);
        CHECK(j["type"] == "doorbell");
        CHECK(j["attrs"]["caller"] == "porte d'entrée");
    }
    CHECK(server.connections() == 1);
    CHECK(h.health().state == "ok");
    CHECK(h.counter("sent") == 3);
}

TEST_CASE("webhook: GET with the event in the URL; route params override url, body, method") {
    Recorder rec;
    TestServer server(rec.handler());
    ModuleHarness h(module_path("webhook"));
    REQUIRE(h.create(config(server.url("/core/api/jeeApi.php?id=12&value={attrs.caller}"), R"(, "method": "GET")")).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.deliver(doorbell(1)).status == PL_OK);
    nlohmann::json params = {{"url", server.url("/other")}, {"body", "ring=1"}, {"method", "POST"}};
    REQUIRE(h.invoke("deliver", params.dump(), doorbell(2)).status == PL_OK);
    auto seen = rec.seen();
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].method == "GET");
    CHECK(seen[0].target == "/core/api/jeeApi.php?id=12&value=porte%20d%27entr%C3%A9e");
    CHECK(seen[0].body.empty());
    CHECK(seen[1].method == "POST");
    CHECK(seen[1].target == "/other");
    CHECK(seen[1].body == "ring=1");
}

TEST_CASE("webhook: a body template fills fields, {event} embeds the event") {
    Recorder rec;
    TestServer server(rec.handler());
    ModuleHarness h(module_path("webhook"));
    nlohmann::json cfg = {{"url", server.url("/n8n")},
                          {"body", R"({"text": "{type} from {attrs.caller}", "event": {event}})"},
                          {"headers", {{"X-Token", "abc"}}}};
    REQUIRE(h.create(cfg.dump()).ok());
    REQUIRE(h.start() == PL_OK);
    REQUIRE(h.deliver(doorbell(5)).status == PL_OK);
    auto seen = rec.seen();
    REQUIRE(seen.size() == 1);
    auto j = nlohmann::json::parse(seen[0].body);
    CHECK(j["text"] == "doorbell from porte d'entrée");
    CHECK(j["event"]["id"] == 5);
    CHECK(seen[0].header("x-token") == "abc");
}

TEST_CASE("webhook: error classes from the endpoint's answers") {
    Recorder rec;
    int next_status = 200;
    std::string extra_header;
    rec.answer = [&](const ServerRequest&) {
        std::vector<std::string> headers;
        if (!extra_header.empty()) headers.push_back(extra_header);
        return test::response(next_status, "X", headers, "");
    };
    TestServer server(rec.handler());
    ModuleHarness h(module_path("webhook"));
    REQUIRE(h.create(config(server.url("/hook"))).ok());
    REQUIRE(h.start() == PL_OK);
    auto deliver_with = [&](int status, std::string header = "") {
        {
            std::lock_guard lock(rec.mutex);
            next_status = status;
            extra_header = std::move(header);
        }
        return h.deliver(doorbell(1));
    };
    CHECK(deliver_with(500).status == PL_ERR_RETRY);
    CHECK(h.health().state == "retrying");
    CHECK(deliver_with(408).status == PL_ERR_RETRY);
    auto limited = deliver_with(429, "Retry-After: 3");
    CHECK(limited.status == PL_ERR_RETRY);
    CHECK(limited.result.find("retry_after_ms=3000") != std::string::npos);
    CHECK(deliver_with(503, "Retry-After: 1").result.find("retry_after_ms=1000") != std::string::npos);
    auto gone = deliver_with(404);
    CHECK(gone.status == PL_ERR_PERMANENT);
    CHECK(gone.result.find("404") != std::string::npos);
    CHECK(deliver_with(422).status == PL_ERR_PERMANENT);
    CHECK(logs_contain(h, "event 1 given up"));
    CHECK(deliver_with(401).status == PL_ERR_AUTH);
    CHECK(h.health().state == "auth_failed");
    CHECK(deliver_with(403).status == PL_ERR_AUTH);
    CHECK(deliver_with(204).status == PL_OK);
    CHECK(h.health().state == "ok");
}

TEST_CASE("webhook: refused connection and timeout are retried") {
    uint16_t closed_port;
    {
        Recorder rec;
        TestServer gone(rec.handler());
        closed_port = gone.port();
    }
    ModuleHarness h(module_path("webhook"));
    REQUIRE(h.create(config("http://127.0.0.1:" + std::to_string(closed_port) + "/hook", R"(, "timeout": "300ms")")).ok());
    REQUIRE(h.start() == PL_OK);
    CHECK(h.deliver(doorbell(1)).status == PL_ERR_RETRY);

    TestServer slow([](const ServerRequest&, Peer& peer) {
        peer.pause(3s);
        return false;
    });
    ModuleHarness h2(module_path("webhook"));
    REQUIRE(h2.create(config(slow.url("/hook"), R"(, "timeout": "300ms")")).ok());
    REQUIRE(h2.start() == PL_OK);
    auto started = std::chrono::steady_clock::now();
    auto r = h2.deliver(doorbell(1));
    CHECK(r.status == PL_ERR_RETRY);
    CHECK(r.result.find("timeout") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - started < 2500ms);
}

TEST_CASE("webhook: basic, bearer and digest auth; secrets never in logs or replies") {
    Recorder rec;
    rec.answer = [](const ServerRequest& r) {
        auto auth = r.header("authorization");
        if (auth.rfind("Digest ", 0) == 0 || auth.rfind("Basic ", 0) == 0 || auth == "Bearer t0k3n-s3cr3t")
            return test::response(200, "OK", {}, "");
        if (r.target == "/digest")
            return test::response(401, "Unauthorized",
                                  {"WWW-Authenticate: Digest realm=\"hook\", qop=\"auth\", nonce=\"abc123\", algorithm=MD5"},
                                  "");
        return test::response(401, "Unauthorized", {}, "");
    };
    TestServer server(rec.handler());

    ModuleHarness basic(module_path("webhook"));
    REQUIRE(basic.create(config(server.url("/basic"), R"(, "auth": "basic", "user": "ha", "password": "pw-s3cr3t")")).ok());
    REQUIRE(basic.start() == PL_OK);
    CHECK(basic.deliver(doorbell(1)).status == PL_OK);
    CHECK(logs_contain(basic, "in clear")); // basic over http: warned once

    ModuleHarness bearer(module_path("webhook"));
    REQUIRE(bearer.create(config(server.url("/bearer"), R"(, "auth": "bearer", "token": "t0k3n-s3cr3t")")).ok());
    REQUIRE(bearer.start() == PL_OK);
    CHECK(bearer.deliver(doorbell(1)).status == PL_OK);

    ModuleHarness digest(module_path("webhook"));
    REQUIRE(digest.create(config(server.url("/digest"), R"(, "auth": "digest", "user": "ha", "password": "pw-s3cr3t")")).ok());
    REQUIRE(digest.start() == PL_OK);
    CHECK(digest.deliver(doorbell(1)).status == PL_OK);

    ModuleHarness wrong(module_path("webhook"));
    REQUIRE(wrong.create(config(server.url("/bearer"), R"(, "auth": "bearer", "token": "wrong-t0k3n")")).ok());
    REQUIRE(wrong.start() == PL_OK);
    auto refused = wrong.deliver(doorbell(1));
    CHECK(refused.status == PL_ERR_AUTH);

    auto seen = rec.seen();
    bool saw_digest = false;
    for (const auto& r : seen)
        if (r.header("authorization").rfind("Digest ", 0) == 0) saw_digest = true;
    CHECK(saw_digest);
    for (auto* h : {&basic, &bearer, &digest, &wrong}) {
        for (const auto& l : h->logs()) {
            CHECK(l.message.find("s3cr3t") == std::string::npos);
            CHECK(l.message.find("t0k3n") == std::string::npos);
        }
        CHECK(h->health().detail.find("s3cr3t") == std::string::npos);
    }
    CHECK(refused.result.find("t0k3n") == std::string::npos);
}

TEST_CASE("webhook: the URL query (a Jeedom apikey) never reaches logs, health or replies") {
    Recorder rec;
    rec.answer = [](const ServerRequest&) { return test::response(500, "Boom", {}, ""); };
    TestServer server(rec.handler());
    ModuleHarness h(module_path("webhook"));
    REQUIRE(h.create(config(server.url("/core/api/jeeApi.php?apikey=K3Y-s3cr3t&type=event"), R"(, "method": "GET")")).ok());
    REQUIRE(h.start() == PL_OK);
    auto r = h.deliver(doorbell(1));
    CHECK(r.status == PL_ERR_RETRY);
    CHECK(r.result.find("K3Y") == std::string::npos);
    CHECK(h.health().detail.find("K3Y") == std::string::npos);
    for (const auto& l : h.logs()) CHECK(l.message.find("K3Y") == std::string::npos);
}

TEST_CASE("webhook: TLS with a self-signed certificate needs ca_file (or verify_tls = false, with a warning)") {
    const Certs& c = certs();
    Recorder rec;
    TestServer server(rec.handler(), &c.files);
    const std::string url = server.url("/secure", true);

    ModuleHarness untrusted(module_path("webhook"));
    REQUIRE(untrusted.create(config(url)).ok());
    REQUIRE(untrusted.start() == PL_OK);
    auto r = untrusted.deliver(doorbell(1));
    CHECK(r.status == PL_ERR_AUTH); // a configuration problem: the sink pauses, events are kept
    CHECK(r.result.find("ca_file") != std::string::npos);

    ModuleHarness pinned(module_path("webhook"));
    auto created = pinned.create(config(url, R"(, "ca_file": ")" + c.files.cert + "\""));
    INFO(created.error_key << ": " << created.error_message);
    REQUIRE(created.ok());
    REQUIRE(pinned.start() == PL_OK);
    CHECK(pinned.deliver(doorbell(1)).status == PL_OK);

    ModuleHarness insecure(module_path("webhook"));
    REQUIRE(insecure.create(config(url, R"(, "verify_tls": false)")).ok());
    REQUIRE(insecure.start() == PL_OK);
    CHECK(insecure.deliver(doorbell(1)).status == PL_OK);
    CHECK(insecure.wait_for_log("verify_tls", 1s));
    CHECK(rec.seen().size() == 2);
}

TEST_CASE("webhook: stop with a request in flight, then start again") {
    TestServer slow([](const ServerRequest&, Peer& peer) {
        peer.pause(2s);
        return false;
    });
    ModuleHarness h(module_path("webhook"));
    REQUIRE(h.create(config(slow.url("/hook"))).ok());
    REQUIRE(h.start() == PL_OK);
    auto in_flight = std::async(std::launch::async, [&] { return h.deliver(doorbell(1), 3s); });
    REQUIRE(slow.wait_until([&] { return slow.requests() >= 1; }, 2s));
    h.stop();
    auto r = in_flight.get();
    CHECK(r.status == PL_ERR_RETRY); // unanswered: the outbox will deliver it again
    // The outbox may hand over a backlog before start: retried, not an auth failure.
    auto early = h.deliver(doorbell(2));
    CHECK(early.status == PL_ERR_RETRY);
    CHECK(early.result.find("not started") != std::string::npos);
    REQUIRE(h.start() == PL_OK);
    CHECK(h.health().state == "ok");
}
