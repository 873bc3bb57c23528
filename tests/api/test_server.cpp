// The control API over real HTTP on 127.0.0.1: auth, endpoints, actions, limits.
#include "server_fixture.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <memory>

using namespace passerelle::kernel;
using namespace test_api;
using nlohmann::json;

TEST_CASE("the server reports the real port when port 0 was asked") {
    Fixture f;
    CHECK(f.server->local_endpoint().rfind("127.0.0.1:", 0) == 0);
    CHECK(f.port != 0);
}

TEST_CASE("healthz answers without a token") {
    Fixture f;
    TestClient c(f.port);
    auto r = c.request("GET", "/healthz");
    CHECK(r.status == 200);
    CHECK(r.header("content-type") == "application/json");
    CHECK(json::parse(r.body) == json{{"status", "ok"}});
}

TEST_CASE("endpoints other than healthz need the token") {
    Fixture f;
    TestClient c(f.port);
    SECTION("no token") {
        auto r = c.request("GET", "/metrics");
        CHECK(r.status == 401);
        CHECK(r.header("www-authenticate").rfind("Bearer", 0) == 0);
        CHECK(json::parse(r.body).contains("error"));
    }
    SECTION("wrong bearer token") { CHECK(c.request("GET", "/metrics", bearer("s3cret-tokem")).status == 401); }
    SECTION("wrong query token") { CHECK(c.request("GET", "/api/v1/instances?token=nope").status == 401); }
    SECTION("a token prefix is not the token") { CHECK(c.request("GET", "/metrics", bearer("s3cret")).status == 401); }
    SECTION("another scheme") {
        CHECK(c.request("GET", "/metrics", {{"Authorization", std::string("Basic ") + kToken}}).status == 401);
    }
    SECTION("unknown paths do not reveal themselves without a token") {
        CHECK(c.request("GET", "/nope").status == 401);
    }
    SECTION("actions too, and nothing reaches the backend") {
        CHECK(c.request("GET", "/api/v1/instances/cam/actions/echo?x=1").status == 401);
        CHECK(f.backend.calls().empty());
    }
}

TEST_CASE("the token is accepted by header and by query") {
    Fixture f;
    TestClient c(f.port);
    auto by_header = c.request("GET", "/metrics", bearer());
    CHECK(by_header.status == 200);
    CHECK(by_header.header("content-type") == "text/plain; version=0.0.4");
    CHECK(by_header.body == f.backend.metrics);

    auto by_query = c.request("GET", std::string("/api/v1/instances?token=") + kToken);
    CHECK(by_query.status == 200);
    CHECK(json::parse(by_query.body) == json::parse(f.backend.instances));

    auto lower_scheme = c.request("GET", "/metrics", {{"Authorization", std::string("bearer ") + kToken}});
    CHECK(lower_scheme.status == 200);
}

TEST_CASE("without a configured token, loopback serves everyone") {
    Fixture f("");
    TestClient c(f.port);
    CHECK(c.request("GET", "/metrics").status == 200);
}

TEST_CASE("unknown paths are 404 and wrong methods 405") {
    Fixture f;
    TestClient c(f.port);
    auto nf = c.request("GET", "/api/v1/nothing", bearer());
    CHECK(nf.status == 404);
    CHECK(json::parse(nf.body).contains("error"));
    CHECK(c.request("GET", "/api/v1/instances/cam/actions", bearer()).status == 404);
    CHECK(c.request("GET", "/api/v1/instances//actions/echo", bearer()).status == 404);

    auto post_metrics = c.request("POST", "/metrics", bearer());
    CHECK(post_metrics.status == 405);
    CHECK(post_metrics.header("allow") == "GET");
    auto delete_action = c.request("DELETE", "/api/v1/instances/cam/actions/echo", bearer());
    CHECK(delete_action.status == 405);
    CHECK(delete_action.header("allow") == "GET, POST");
    CHECK(f.backend.calls().empty());
}

TEST_CASE("actions by GET take their params from the query string") {
    Fixture f;
    TestClient c(f.port);
    auto r = c.request("GET",
                       std::string("/api/v1/instances/cam/actions/echo?number=0612345678&msg=hello+world%21&token=") +
                           kToken + "&format=json");
    REQUIRE(r.status == 200);
    auto calls = f.backend.calls();
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].instance == "cam");
    CHECK(calls[0].action == "echo");
    json params = json::parse(calls[0].params_json);
    CHECK(params == json{{"number", "0612345678"}, {"msg", "hello world!"}}); // no token, no format
    CHECK(json::parse(r.body) == params);                                     // echo answers its params
}

TEST_CASE("actions by POST take a JSON object body, and query params on top") {
    Fixture f;
    TestClient c(f.port);
    auto r = c.request("POST", "/api/v1/instances/sip%20line/actions/echo?to=bob", {{"Authorization", std::string("Bearer ") + kToken}, {"Content-Type", "application/json"}},
                       R"({"to":"alice","repeat":3,"loud":true,"tags":["a","b"]})");
    REQUIRE(r.status == 200);
    auto calls = f.backend.calls();
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].instance == "sip line"); // percent-decoded path segment
    CHECK(json::parse(calls[0].params_json) ==
          json{{"to", "bob"}, {"repeat", 3}, {"loud", true}, {"tags", {"a", "b"}}});
}

TEST_CASE("a POST form body is accepted too") {
    Fixture f;
    TestClient c(f.port);
    auto r = c.request("POST", "/api/v1/instances/cam/actions/echo",
                       {{"Authorization", std::string("Bearer ") + kToken},
                        {"Content-Type", "application/x-www-form-urlencoded"}},
                       "a=1&b=two+words");
    REQUIRE(r.status == 200);
    CHECK(json::parse(f.backend.calls().at(0).params_json) == json{{"a", "1"}, {"b", "two words"}});
}

TEST_CASE("a body that is not a JSON object is refused before the backend") {
    Fixture f;
    TestClient c(f.port);
    auto post = [&](std::string body, std::string type = "application/json") {
        return c.request("POST", "/api/v1/instances/cam/actions/echo",
                         {{"Authorization", std::string("Bearer ") + kToken}, {"Content-Type", type}}, body);
    };
    for (const char* bad : {"[1,2]", "\"text\"", "42", "{\"a\":", "{not json}", "\xff\xfe"}) {
        INFO(bad);
        auto r = post(bad);
        CHECK(r.status == 400);
        CHECK(json::parse(r.body).value("status", "") == "invalid");
    }
    std::string deep(10000, '[');
    CHECK(post(deep).status == 400);
    CHECK(post("<xml/>", "text/xml").status == 415);
    CHECK(f.backend.calls().empty());
}

TEST_CASE("an action answered later from another thread") {
    Fixture f;
    TestClient c(f.port);
    auto r = c.request("GET", "/api/v1/instances/cam/actions/later", bearer());
    CHECK(r.status == 200);
    CHECK(json::parse(r.body) == json{{"later", true}});
}

TEST_CASE("an action that never answers times out with 504, and the connection lives on") {
    Fixture f(kToken, std::chrono::milliseconds(200));
    TestClient c(f.port);
    auto r = c.request("GET", "/api/v1/instances/cam/actions/never", bearer());
    CHECK(r.status == 504);
    auto body = json::parse(r.body);
    CHECK(body.value("status", "") == "timeout");
    CHECK(body.value("error", "").rfind("timeout", 0) == 0);

    // The late answer is dropped; the same keep-alive connection serves the next request.
    f.backend.answer_parked(PL_OK, R"({"late":true})");
    auto next = c.request("GET", "/api/v1/instances/cam/actions/echo?n=2", bearer());
    CHECK(next.status == 200);
    CHECK(json::parse(next.body) == json{{"n", "2"}});
}

TEST_CASE("action statuses map to HTTP statuses") {
    Fixture f;
    TestClient c(f.port);
    struct Case {
        const char* action;
        int http;
        const char* name;
    };
    for (auto k : {Case{"fail_invalid", 400, "invalid"}, Case{"fail_unknown", 404, "unknown_action"},
                   Case{"fail_auth", 502, "auth"}, Case{"fail_retry", 503, "retry"},
                   Case{"fail_timeout", 504, "timeout"}, Case{"fail_permanent", 502, "permanent"},
                   Case{"fail_internal", 500, "internal"}, Case{"fail_weird", 500, "unknown"},
                   Case{"no_such_action", 404, "unknown_action"}}) {
        INFO(k.action);
        auto r = c.request("GET", std::string("/api/v1/instances/cam/actions/") + k.action, bearer());
        CHECK(r.status == k.http);
        auto body = json::parse(r.body);
        CHECK(body.value("status", "") == k.name);
        CHECK(!body.value("error", "").empty());
    }
    auto empty = c.request("GET", "/api/v1/instances/cam/actions/empty", bearer());
    CHECK(empty.status == 200);
    CHECK(json::parse(empty.body) == json::object());
    CHECK(c.request("GET", "/api/v1/instances/cam/actions/badjson", bearer()).status == 500);
    CHECK(c.request("GET", "/api/v1/instances/cam/actions/throw", bearer()).status == 500);
}

TEST_CASE("format=xml answers XML for eeDomus") {
    Fixture f;
    TestClient c(f.port);
    auto ok = c.request("GET", std::string("/api/v1/instances/cam/actions/nested?format=xml&token=") + kToken);
    CHECK(ok.status == 200);
    CHECK(ok.header("content-type") == "application/xml");
    CHECK(ok.body == "<result><a>1</a><b><c>x</c></b><list>1</list><list>2</list><s>&lt;&amp;&gt;</s></result>");

    auto err = c.request("GET", std::string("/api/v1/instances/cam/actions/fail_invalid?format=xml&token=") + kToken);
    CHECK(err.status == 400);
    CHECK(err.header("content-type") == "application/xml");
    CHECK(err.body == "<result><error>failed: fail_invalid</error><status>invalid</status></result>");

    auto unauth = c.request("GET", "/api/v1/instances/cam/actions/nested?format=xml&token=wrong");
    CHECK(unauth.status == 401);
    CHECK(unauth.body.rfind("<result><error>", 0) == 0);
    CHECK(json::parse(f.backend.calls().at(0).params_json) == json::object()); // format is not a param
}

TEST_CASE("one keep-alive connection serves many requests") {
    Fixture f;
    TestClient c(f.port);
    for (int i = 0; i < 20; ++i) {
        auto r = c.request("GET", "/api/v1/instances/cam/actions/echo?i=" + std::to_string(i), bearer());
        REQUIRE(r.status == 200);
        CHECK(json::parse(r.body) == json{{"i", std::to_string(i)}});
    }
    CHECK(f.backend.calls().size() == 20);
}

TEST_CASE("limits: body, header, garbage, idle timeout") {
    ApiLimits limits;
    limits.read_timeout = std::chrono::milliseconds(300);
    Fixture f(kToken, std::chrono::seconds(5), limits);

    SECTION("a body over 1 MiB is 413") {
        TestClient c(f.port);
        c.send_raw(std::string("POST /api/v1/instances/cam/actions/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ") +
                   kToken + "\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n");
        auto r = c.read_response();
        CHECK(r.status == 413);
        CHECK(f.backend.calls().empty());
    }
    SECTION("a header over 16 KiB is 431") {
        TestClient c(f.port);
        c.send_raw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
        auto r = c.read_response();
        CHECK(r.status == 431);
    }
    SECTION("garbage is 400 and the connection closes") {
        TestClient c(f.port);
        c.send_raw("GARBAGE \x01\x02\r\n\r\n");
        auto r = c.read_response();
        CHECK(r.status == 400);
        CHECK(c.wait_closed(std::chrono::seconds(3)));
    }
    SECTION("an idle connection is closed after the read timeout") {
        TestClient c(f.port);
        CHECK(c.request("GET", "/healthz").status == 200);
        CHECK(c.wait_closed(std::chrono::seconds(3)));
    }
}

TEST_CASE("connections beyond the limit get 503") {
    ApiLimits limits;
    limits.max_connections = 3;
    Fixture f(kToken, std::chrono::seconds(5), limits);
    TestClient a(f.port), b(f.port), d(f.port);
    for (auto* c : {&a, &b, &d}) REQUIRE(c->request("GET", "/healthz").status == 200);
    TestClient e(f.port);
    e.send_raw("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(e.read_response().status == 503);
    // One leaves: the next one is served again.
    a.close();
    CHECK(eventually([&] {
        TestClient g(f.port);
        return g.request("GET", "/healthz").status == 200;
    }));
}

TEST_CASE("listening without a token on a non-loopback address is refused") {
    FakeBackend backend;
    ApiOptions o;
    o.listen = "0.0.0.0:0";
    o.token = "";
    REQUIRE_THROWS_AS(start_api_server(o, backend), std::runtime_error);
    try {
        start_api_server(o, backend);
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()).find("without a token") != std::string::npos);
        CHECK(std::string(e.what()).find("0.0.0.0:0") != std::string::npos);
    }
}

TEST_CASE("a port in use is refused with a clear message") {
    Fixture first;
    FakeBackend backend;
    ApiOptions o;
    o.listen = first.server->local_endpoint();
    try {
        start_api_server(o, backend);
        FAIL("the second server started");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()) ==
              o.listen + " is already in use; set [daemon.api] listen to another port");
    }
    // The first server still serves.
    TestClient c(first.port);
    CHECK(c.request("GET", "/healthz").status == 200);
}

TEST_CASE("bad listen addresses are refused") {
    FakeBackend backend;
    for (const char* bad : {"nonsense", "127.0.0.1:99999", "127.0.0.1:", ":8640", "[::1:8640", "::1:8640"}) {
        INFO(bad);
        ApiOptions o;
        o.listen = bad;
        CHECK_THROWS_AS(start_api_server(o, backend), std::runtime_error);
    }
}

TEST_CASE("stop() with a pending action and open connections returns promptly") {
    auto backend = std::make_unique<FakeBackend>();
    ApiOptions o;
    o.listen = "127.0.0.1:0";
    auto server = start_api_server(o, *backend);
    TestClient c(port_of(server->local_endpoint()));
    c.send_raw("GET /api/v1/instances/cam/actions/never HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(eventually([&] { return backend->calls().size() == 1; }));
    TestClient idle(port_of(server->local_endpoint()));
    server->stop();
    CHECK(c.wait_closed(std::chrono::seconds(3)));
    CHECK(idle.wait_closed(std::chrono::seconds(3)));
    server.reset();
    backend->answer_parked(PL_OK, "{}"); // a module answering after the server is gone: dropped
}

TEST_CASE("Expect: 100-continue gets the go-ahead before the body") {
    Fixture f;
    TestClient c(f.port);
    std::string body = R"({"text":")" + std::string(4000, 'z') + R"("})";
    c.send_raw(std::string("POST /api/v1/instances/cam/actions/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ") +
               kToken + "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n\r\n");
    CHECK(c.read_response().status == 100);
    c.send_raw(body);
    auto r = c.read_response();
    CHECK(r.status == 200);
    CHECK(nlohmann::json::parse(r.body)["text"].get<std::string>().size() == 4000);
}
