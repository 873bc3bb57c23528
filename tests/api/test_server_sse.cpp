// GET /api/v1/events: live server-sent events through the fake backend.
#include "server_fixture.hpp"

#include <catch2/catch.hpp>

#include <thread>

using namespace passerelle::kernel;
using namespace test_api;

namespace {

passerelle::Event make_event(uint64_t id, std::string source, std::string type) {
    passerelle::Event e;
    e.id = id;
    e.source = std::move(source);
    e.type = std::move(type);
    return e;
}

std::string json_of(const passerelle::Event& e) {
    return R"({"id":)" + std::to_string(e.id) + R"(,"source":")" + e.source + R"(","type":")" + e.type + R"("})";
}

void publish(FakeBackend& b, uint64_t id, const std::string& source, const std::string& type) {
    auto e = make_event(id, source, type);
    b.publish(e, json_of(e));
}

// Opens a stream and waits for its header and the subscription.
std::string open_stream(TestClient& c, FakeBackend& b, const std::string& target, size_t subscribers = 1) {
    c.send_raw("GET " + target + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + kToken + "\r\n\r\n");
    std::string head = c.read_until(": connected\n\n", std::chrono::seconds(5));
    REQUIRE(eventually([&] { return b.subscribers() == subscribers; }));
    return head;
}

} // namespace

TEST_CASE("events stream live, filtered by source and type") {
    Fixture f;
    TestClient c(f.port);
    std::string head = open_stream(c, f.backend, "/api/v1/events?source=cam*,door&type=motion");
    CHECK(head.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(head.find("Content-Type: text/event-stream\r\n") != std::string::npos);

    publish(f.backend, 1, "cam_garage", "motion");
    publish(f.backend, 2, "cam_garage", "call");   // type filtered out
    publish(f.backend, 3, "sip", "motion");        // source filtered out
    publish(f.backend, 4, "door", "motion");
    std::string last = "id: 4\nevent: motion\ndata: " + json_of(make_event(4, "door", "motion")) + "\n\n";
    std::string got = c.read_until(last, std::chrono::seconds(5));

    CHECK(got.find("id: 1\nevent: motion\ndata: " + json_of(make_event(1, "cam_garage", "motion")) + "\n\n") !=
          std::string::npos);
    CHECK(got.find(last) != std::string::npos);
    CHECK(got.find("id: 2\n") == std::string::npos);
    CHECK(got.find("id: 3\n") == std::string::npos);
    CHECK(got.find("id: 1\n") < got.find("id: 4\n")); // in order
}

TEST_CASE("without filters every event is streamed; closing unsubscribes") {
    Fixture f;
    {
        TestClient c(f.port);
        open_stream(c, f.backend, "/api/v1/events");
        publish(f.backend, 7, "a", "x");
        publish(f.backend, 8, "b", "y");
        std::string got = c.read_until("id: 8\n", std::chrono::seconds(5));
        CHECK(got.find("id: 7\nevent: x\n") != std::string::npos);
        CHECK(got.find("id: 8\nevent: y\n") != std::string::npos);
    }
    CHECK(eventually([&] { return f.backend.subscribers() == 0; }));
}

TEST_CASE("events need the token") {
    Fixture f;
    TestClient c(f.port);
    auto r = c.request("GET", "/api/v1/events");
    CHECK(r.status == 401);
    CHECK(f.backend.subscribers() == 0);
}

TEST_CASE("a keepalive comment is sent while idle") {
    ApiLimits limits;
    limits.sse_keepalive = std::chrono::milliseconds(100);
    Fixture f(kToken, std::chrono::seconds(5), limits);
    TestClient c(f.port);
    open_stream(c, f.backend, "/api/v1/events");
    CHECK(c.read_until(": keepalive\n\n", std::chrono::seconds(5)).find(": keepalive\n\n") != std::string::npos);
}

TEST_CASE("clients beyond max_sse_clients get 503") {
    Fixture f(kToken, std::chrono::seconds(5), {}, 1);
    TestClient first(f.port);
    open_stream(first, f.backend, "/api/v1/events");
    TestClient second(f.port);
    auto r = second.request("GET", "/api/v1/events", bearer());
    CHECK(r.status == 503);
    CHECK(f.backend.subscribers() == 1);
    // When the first leaves, a new client is accepted.
    first.close();
    REQUIRE(eventually([&] { return f.backend.subscribers() == 0; }));
    TestClient third(f.port);
    open_stream(third, f.backend, "/api/v1/events");
}

TEST_CASE("a client that stops reading is disconnected, memory stays bounded") {
    ApiLimits limits;
    limits.sse_max_queued_events = 16;
    limits.sse_max_queued_bytes = 256 * 1024;
    Fixture f(kToken, std::chrono::seconds(5), limits);
    TestClient c(f.port);
    open_stream(c, f.backend, "/api/v1/events");
    // 16 KiB events in batches well under the queue bound, never read: the
    // socket buffers fill, then the queue, then the server gives up on the client.
    std::string data = "\"" + std::string(16 * 1024, 'x') + "\"";
    auto e = make_event(0, "cam", "motion");
    size_t published = 0;
    bool gone = eventually(
        [&] {
            for (int i = 0; i < 4 && f.backend.subscribers() > 0; ++i) {
                e.id = ++published;
                f.backend.publish(e, data);
            }
            return f.backend.subscribers() == 0 || published > 20000;
        },
        std::chrono::seconds(30));
    INFO("published " << published << " events of 16 KiB before the disconnect");
    CHECK(gone);
    CHECK(f.backend.subscribers() == 0);
    CHECK(published > 16); // the socket buffers took some before the queue overflowed
    CHECK(published < 20000);
}

TEST_CASE("a client that reads keeps up under the same limits") {
    ApiLimits limits;
    limits.sse_max_queued_events = 16;
    limits.sse_max_queued_bytes = 256 * 1024;
    Fixture f(kToken, std::chrono::seconds(5), limits);
    TestClient c(f.port);
    open_stream(c, f.backend, "/api/v1/events");
    const size_t total = 300;
    std::string got;
    std::thread reader([&] { got = c.read_until("id: " + std::to_string(total) + "\n", std::chrono::seconds(30)); });
    std::string data = "\"" + std::string(1024, 'y') + "\"";
    auto e = make_event(0, "cam", "motion");
    for (size_t id = 1; id <= total; ++id) {
        e.id = id;
        f.backend.publish(e, data);
        if (id % 4 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    reader.join();
    size_t frames = 0;
    for (size_t pos = 0; (pos = got.find("\nevent: motion\n", pos)) != std::string::npos; ++pos) ++frames;
    CHECK(frames == total);
    CHECK(f.backend.subscribers() == 1);
}

TEST_CASE("stop() closes open event streams and unsubscribes") {
    Fixture f;
    TestClient c(f.port);
    open_stream(c, f.backend, "/api/v1/events");
    f.server->stop();
    CHECK(c.wait_closed(std::chrono::seconds(3)));
    CHECK(f.backend.subscribers() == 0);
}
