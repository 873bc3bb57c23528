// End-to-end tests of passerelle::http::HttpClient against test::TestServer on
// 127.0.0.1. Every wait is bounded; no test asserts on speed.
#include "test_server.hpp"

#include <passerelle/http/client.hpp>
#include <passerelle/http/digest.hpp>
#include <passerelle/io_executor.hpp>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>
#include <memory>
#include <optional>
#include <set>
#include <thread>

using namespace passerelle::http;
using namespace std::chrono_literals;
using test::Peer;
using test::ServerRequest;
using test::TestServer;

namespace {

// Runs the io_context on this thread until `done` or a bound.
bool run_until(boost::asio::io_context& io, const std::function<bool()>& done, std::chrono::milliseconds limit = 20s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        if (io.stopped()) io.restart();
        io.run_one_for(20ms);
    }
    return done();
}

Response fetch(boost::asio::io_context& io, HttpClient& client, Request req) {
    std::optional<Response> out;
    client.request(std::move(req), [&](Response r) { out = std::move(r); });
    REQUIRE(run_until(io, [&] { return out.has_value(); }));
    if (!out->ok()) UNSCOPED_INFO("response: " << to_string(out->error) << " " << describe(*out));
    return *out;
}

Request get(const std::string& url) {
    Request r;
    r.url = url;
    return r;
}

Request get_with(const std::string& url, const std::string& user, const std::string& password) {
    Request r = get(url);
    r.credentials = Credentials{user, password};
    return r;
}

// A server that checks Digest like a camera does: remembers its nonce,
// verifies the response hash, records every nc it was sent.
struct DigestCamera {
    std::string realm = "IP Camera(C2183)";
    std::string password = "Circle of Life";
    std::vector<std::string> challenges;  // WWW-Authenticate lines offered
    std::mutex mutex;
    std::string nonce = "4e5468694e7a42694e7a4d364f4449354d7a6b354d54513d";
    std::set<std::string> stale_nonces;
    std::vector<std::string> nc_seen;
    std::vector<std::string> algorithms_seen;
    int unauthorized = 0;
    int stale_answers = 0;

    std::string challenge_lines(bool stale) {
        std::string out;
        for (auto c : challenges) {
            auto pos = c.find("NONCE");
            if (pos != std::string::npos) c.replace(pos, 5, nonce);
            out += "WWW-Authenticate: " + c + (stale ? ", stale=\"TRUE\"" : "") + "\r\n";
        }
        return out;
    }

    bool handle(const ServerRequest& req, Peer& peer) {
        std::lock_guard lock(mutex);
        std::string auth = req.header("authorization");
        bool stale = false;
        if (!auth.empty()) {
            auto parsed = parse_challenges(auth);
            if (!parsed.empty() && parsed[0].scheme == AuthScheme::digest) {
                const auto& a = parsed[0];
                std::string alg(a.param("algorithm").value_or("MD5"));
                DigestAlgorithm algorithm = alg == "SHA-256" ? DigestAlgorithm::sha256 : DigestAlgorithm::md5;
                std::string nc(a.param("nc").value_or(""));
                std::string cnonce(a.param("cnonce").value_or(""));
                std::string qop(a.param("qop").value_or(""));
                std::string uri(a.param("uri").value_or(""));
                uint32_t nc_value = static_cast<uint32_t>(std::strtoul(nc.c_str(), nullptr, 16));
                DigestParams p{a.param("username").value_or(""), password, req.method, uri, nc_value, cnonce};
                std::string expected = digest_response(algorithm, realm, std::string(a.param("nonce").value_or("")), qop, p);
                std::string got(a.param("response").value_or(""));
                std::string sent_nonce(a.param("nonce").value_or(""));
                if (got == expected && uri == req.target && sent_nonce == nonce) {
                    nc_seen.push_back(nc);
                    algorithms_seen.push_back(alg);
                    std::string body = "ok " + nc;
                    return peer.write(test::response(200, "OK", {"Content-Type: text/plain"}, body));
                }
                if (got == expected && stale_nonces.count(sent_nonce)) stale = true;
            }
        }
        if (stale) ++stale_answers;
        else ++unauthorized;
        std::string body = "<html>401</html>";
        std::string head = "HTTP/1.1 401 Unauthorized\r\n" + challenge_lines(stale) +
                           "Content-Type: text/html\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
        return peer.write(head + body);
    }

    void rotate_nonce(const std::string& fresh) {
        std::lock_guard lock(mutex);
        stale_nonces.insert(nonce);
        nonce = fresh;
    }
};

std::string hello_handler_body = "hello";
bool hello(const ServerRequest&, Peer& peer) { return peer.write(test::response(200, "OK", {}, hello_handler_body)); }

// Self-signed certificates made at test time with the openssl CLI.
struct Certs {
    std::string dir;
    test::TlsFiles with_ip;    // SAN: DNS:localhost, IP:127.0.0.1
    test::TlsFiles name_only;  // SAN: DNS:localhost only
};

const Certs& certs() {
    static Certs c = [] {
        Certs out;
        out.dir = std::string(PASSERELLE_BINARY_DIR) + "/tests/http_tls";
        std::filesystem::create_directories(out.dir);
        auto make = [&](const std::string& name, const std::string& san) {
            test::TlsFiles f{out.dir + "/" + name + ".crt", out.dir + "/" + name + ".key"};
            std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
                              " -subj /CN=localhost -addext 'subjectAltName=" + san + "'"
                              " -keyout '" + f.key + "' -out '" + f.cert + "' >/dev/null 2>&1";
            REQUIRE(std::system(cmd.c_str()) == 0);
            return f;
        };
        out.with_ip = make("with_ip", "DNS:localhost,IP:127.0.0.1");
        out.name_only = make("name_only", "DNS:localhost");
        return out;
    }();
    return c;
}

} // namespace

TEST_CASE("keep-alive: sequential requests share one connection") {
    TestServer server(hello);
    boost::asio::io_context io;
    HttpClient client(io);
    for (int i = 0; i < 5; ++i) {
        Response r = fetch(io, client, get(server.url("/n" + std::to_string(i))));
        REQUIRE(r.ok());
        CHECK(r.status == 200);
        CHECK(r.body == "hello");
    }
    CHECK(server.connections() == 1);
    CHECK(server.requests() == 5);
    CHECK(client.stats().connections_opened == 1);
    CHECK(client.stats().connections_reused == 4);
}

TEST_CASE("keep-alive: concurrent requests open several connections, the pool keeps at most max_idle_per_host") {
    TestServer server([](const ServerRequest&, Peer& peer) {
        peer.pause(50ms); // overlap the requests
        return peer.write(test::response(200, "OK", {}, "x"));
    });
    boost::asio::io_context io;
    ClientOptions options;
    options.max_idle_per_host = 2;
    HttpClient client(io, options);
    int done = 0;
    for (int i = 0; i < 4; ++i)
        client.request(get(server.url("/")), [&](Response r) {
            CHECK(r.ok());
            ++done;
        });
    REQUIRE(run_until(io, [&] { return done == 4; }));
    CHECK(server.connections() == 4);
    // Two of the four stayed pooled: the next two requests reuse, the third connects.
    int again = 0;
    for (int i = 0; i < 3; ++i)
        client.request(get(server.url("/")), [&](Response r) {
            CHECK(r.ok());
            ++again;
        });
    REQUIRE(run_until(io, [&] { return again == 3; }));
    CHECK(server.connections() == 5);
}

TEST_CASE("a pooled connection the server closed is replaced transparently") {
    TestServer server([](const ServerRequest&, Peer& peer) {
        peer.write(test::response(200, "OK", {}, "once"));
        return false; // closes without saying Connection: close
    });
    boost::asio::io_context io;
    HttpClient client(io);
    for (int i = 0; i < 3; ++i) {
        Response r = fetch(io, client, get(server.url("/")));
        REQUIRE(r.ok());
        CHECK(r.body == "once");
        server.wait_until([&] { return server.closed_connections() + 0 >= 0; }, 10ms);
    }
    CHECK(server.connections() == 3);
}

TEST_CASE("Basic auth answers the challenge, then authenticates up front") {
    int challenged = 0;
    std::mutex m;
    TestServer server([&](const ServerRequest& req, Peer& peer) {
        if (req.header("authorization") == basic_authorization("user", "pa:ss")) {
            return peer.write(test::response(200, "OK", {}, "in"));
        }
        std::lock_guard lock(m);
        ++challenged;
        return peer.write(test::response(401, "Unauthorized", {"WWW-Authenticate: Basic realm=\"box\""}, ""));
    });
    boost::asio::io_context io;
    HttpClient client(io);
    for (int i = 0; i < 3; ++i) {
        Response r = fetch(io, client, get_with(server.url("/api"), "user", "pa:ss"));
        REQUIRE(r.ok());
        CHECK(r.body == "in");
    }
    CHECK(challenged == 1);
    CHECK(server.connections() == 1);

    // Without credentials a 401 is just a status.
    Response anon = fetch(io, client, get(server.url("/api")));
    CHECK(anon.error == ErrorKind::http_status);
    CHECK(anon.status == 401);

    // Preemptive Basic: no 401 round trip at all.
    HttpClient fresh(io);
    Request pre = get_with(server.url("/api"), "user", "pa:ss");
    pre.credentials->preemptive_basic = true;
    int before = challenged;
    CHECK(fetch(io, fresh, pre).ok());
    CHECK(challenged == before);
}

TEST_CASE("Digest MD5 (Hikvision style) with nc incrementing across requests") {
    DigestCamera cam;
    cam.challenges = {"Digest qop=\"auth\", realm=\"IP Camera(C2183)\", nonce=\"NONCE\""};
    TestServer server([&](const ServerRequest& r, Peer& p) { return cam.handle(r, p); });
    boost::asio::io_context io;
    HttpClient client(io);
    for (int i = 0; i < 3; ++i) {
        Response r = fetch(io, client, get_with(server.url("/ISAPI/System/deviceInfo?x=" + std::to_string(i)), "admin", "Circle of Life"));
        REQUIRE(r.ok());
    }
    CHECK(cam.unauthorized == 1);
    CHECK(cam.nc_seen == std::vector<std::string>{"00000001", "00000002", "00000003"});
    CHECK(cam.algorithms_seen == std::vector<std::string>{"MD5", "MD5", "MD5"});
    CHECK(server.connections() == 1);
}

TEST_CASE("Digest: SHA-256 is preferred over MD5 and Basic when offered together") {
    DigestCamera cam;
    cam.challenges = {"Basic realm=\"IP Camera(C2183)\"",
                      "Digest realm=\"IP Camera(C2183)\", qop=\"auth\", algorithm=MD5, nonce=\"NONCE\", opaque=\"op\"",
                      "Digest realm=\"IP Camera(C2183)\", qop=\"auth\", algorithm=SHA-256, nonce=\"NONCE\", opaque=\"op\""};
    TestServer server([&](const ServerRequest& r, Peer& p) { return cam.handle(r, p); });
    boost::asio::io_context io;
    HttpClient client(io);
    for (int i = 0; i < 2; ++i) REQUIRE(fetch(io, client, get_with(server.url("/x"), "admin", "Circle of Life")).ok());
    CHECK(cam.algorithms_seen == std::vector<std::string>{"SHA-256", "SHA-256"});
    CHECK(cam.nc_seen == std::vector<std::string>{"00000001", "00000002"});
}

TEST_CASE("Digest: a stale nonce is retried with the new one, not reported as a failure") {
    DigestCamera cam;
    cam.challenges = {"Digest qop=\"auth\", realm=\"IP Camera(C2183)\", nonce=\"NONCE\""};
    TestServer server([&](const ServerRequest& r, Peer& p) { return cam.handle(r, p); });
    boost::asio::io_context io;
    HttpClient client(io);
    REQUIRE(fetch(io, client, get_with(server.url("/a"), "admin", "Circle of Life")).ok());
    REQUIRE(fetch(io, client, get_with(server.url("/a"), "admin", "Circle of Life")).ok());
    cam.rotate_nonce("6e65772d6e6f6e6365");
    Response r = fetch(io, client, get_with(server.url("/a"), "admin", "Circle of Life"));
    REQUIRE(r.ok());
    REQUIRE(fetch(io, client, get_with(server.url("/a"), "admin", "Circle of Life")).ok());
    CHECK(cam.stale_answers == 1);
    CHECK(cam.unauthorized == 1);
    CHECK(cam.nc_seen == std::vector<std::string>{"00000001", "00000002", "00000001", "00000002"});
}

namespace {
// A camera whose every nonce is good for one request (Dahua): a nonce already spent
// gets 401 with a fresh one. Its first challenge trickles its body, so that a second
// request can spend that nonce while the first exchange is still reading the 401.
struct OneUseNonceCamera {
    std::string realm = "Login to 4K01234PAZ5";
    std::string password = "dahua-pass";
    std::mutex mutex;
    int issued = 0;
    std::set<std::string> spent;
    int spent_nonce_refusals = 0;

    bool handle(const ServerRequest& req, Peer& peer) {
        std::unique_lock lock(mutex);
        std::string auth = req.header("authorization");
        if (!auth.empty()) {
            auto parsed = parse_challenges(auth);
            if (!parsed.empty() && parsed[0].scheme == AuthScheme::digest) {
                const auto& a = parsed[0];
                std::string nonce(a.param("nonce").value_or(""));
                std::string nc(a.param("nc").value_or(""));
                std::string user(a.param("username").value_or(""));
                std::string uri(a.param("uri").value_or(""));
                std::string cnonce(a.param("cnonce").value_or(""));
                DigestParams p{user, password, req.method, uri,
                               static_cast<uint32_t>(std::strtoul(nc.c_str(), nullptr, 16)), cnonce};
                bool right = std::string(a.param("response").value_or("")) ==
                             digest_response(DigestAlgorithm::md5, realm, nonce, "auth", p);
                if (right && nonce.rfind("n", 0) == 0 && !spent.count(nonce)) {
                    spent.insert(nonce);
                    return peer.write(test::response(200, "OK", {}, "ok"));
                }
                if (right) ++spent_nonce_refusals;
            }
        }
        std::string nonce = "n" + std::to_string(++issued);
        std::string head = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"" + realm +
                           "\", qop=\"auth\", nonce=\"" + nonce + "\"\r\nContent-Length: 10\r\n\r\n";
        const bool trickle = issued == 1;
        lock.unlock();
        if (!peer.write(head)) return false;
        if (!trickle) return peer.write("0123456789");
        for (char c : std::string("0123456789")) {
            if (!peer.pause(80ms) || !peer.write(std::string(1, c))) return false;
        }
        return true;
    }
};
} // namespace

TEST_CASE("Digest, one-use nonces: a request whose nonce another request spent first retries, it is not refused") {
    OneUseNonceCamera cam;
    TestServer server([&](const ServerRequest& r, Peer& p) { return cam.handle(r, p); });
    boost::asio::io_context io;
    HttpClient client(io);
    std::optional<Response> first, second;
    client.request(get_with(server.url("/cgi-bin/magicBox.cgi"), "admin", cam.password),
                   [&](Response r) { first = std::move(r); });
    // The first request has its challenge (nonce n1) and reads the slow 401 body...
    REQUIRE(run_until(io, [&] { std::lock_guard l(cam.mutex); return cam.issued == 1; }));
    run_until(io, [] { return false; }, 150ms);
    // ...while a second request spends n1 first.
    client.request(get_with(server.url("/cgi-bin/snapshot.cgi"), "admin", cam.password),
                   [&](Response r) { second = std::move(r); });
    REQUIRE(run_until(io, [&] { return first.has_value() && second.has_value(); }));
    CHECK(second->ok());
    INFO(describe(*first));
    CHECK(first->ok()); // the camera refused a spent nonce, not the password
    std::lock_guard l(cam.mutex);
    CHECK(cam.spent_nonce_refusals == 1); // the race did happen
}

TEST_CASE("Digest, one-use nonces: a wrong password is still refused, after a bounded number of rounds") {
    OneUseNonceCamera cam;
    TestServer server([&](const ServerRequest& r, Peer& p) { return cam.handle(r, p); });
    boost::asio::io_context io;
    HttpClient client(io);
    Response r = fetch(io, client, get_with(server.url("/x"), "admin", "wrong"));
    CHECK(r.error == ErrorKind::auth_failed);
    std::lock_guard l(cam.mutex);
    CHECK(cam.issued == 2); // the challenge, then one refusal of its own nonce: no loop
}

TEST_CASE("wrong password: auth_failed with the realm, never the password") {
    DigestCamera cam;
    cam.challenges = {"Digest qop=\"auth\", realm=\"IP Camera(C2183)\", nonce=\"NONCE\""};
    TestServer server([&](const ServerRequest& r, Peer& p) { return cam.handle(r, p); });
    boost::asio::io_context io;
    HttpClient client(io);
    Response r = fetch(io, client, get_with(server.url("/a"), "admin", "not-the-password"));
    CHECK(r.error == ErrorKind::auth_failed);
    CHECK(r.status == 401);
    CHECK(r.realm == "IP Camera(C2183)");
    CHECK(describe(r).find("not-the-password") == std::string::npos);
    CHECK(r.message.find("not-the-password") == std::string::npos);
    CHECK(cam.unauthorized == 2); // the challenge, then the refusal: no loop

    // Basic refused twice the same way.
    TestServer basic([](const ServerRequest&, Peer& peer) {
        return peer.write(test::response(401, "Unauthorized", {"WWW-Authenticate: Basic realm=\"jeedom\""}, ""));
    });
    Response b = fetch(io, client, get_with(basic.url("/"), "u", "hunter2"));
    CHECK(b.error == ErrorKind::auth_failed);
    CHECK(b.realm == "jeedom");
    CHECK(basic.requests() == 2);

    // A scheme we cannot answer.
    TestServer ntlm([](const ServerRequest&, Peer& peer) {
        return peer.write(test::response(401, "Unauthorized", {"WWW-Authenticate: NTLM", "WWW-Authenticate: Negotiate"}, ""));
    });
    Response n = fetch(io, client, get_with(ntlm.url("/"), "u", "hunter2"));
    CHECK(n.error == ErrorKind::auth_failed);
    CHECK(n.message.find("NTLM") != std::string::npos);
}

TEST_CASE("redirects are refused by default and followed when configured") {
    TestServer server([](const ServerRequest& req, Peer& peer) {
        if (req.target == "/old") return peer.write(test::response(302, "Found", {"Location: /new"}, ""));
        return peer.write(test::response(200, "OK", {}, "new:" + req.method));
    });
    boost::asio::io_context io;
    HttpClient strict(io);
    Response r = fetch(io, strict, get(server.url("/old")));
    CHECK(r.error == ErrorKind::redirect_refused);
    CHECK(r.status == 302);
    CHECK(r.header("Location") == std::optional<std::string_view>("/new"));

    ClientOptions follow;
    follow.max_redirects = 1;
    HttpClient lenient(io, follow);
    Request post = get(server.url("/old"));
    post.method = "POST";
    post.body = "x=1";
    Response ok = fetch(io, lenient, post);
    REQUIRE(ok.ok());
    CHECK(ok.body == "new:GET");
}

TEST_CASE("response size caps: Content-Length, chunked and head") {
    TestServer server([](const ServerRequest& req, Peer& peer) {
        std::string big(300 * 1024, 'a');
        if (req.target == "/length") return peer.write(test::response(200, "OK", {}, big));
        if (req.target == "/chunked") {
            std::string out = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
            for (int i = 0; i < 10; ++i) out += "8000\r\n" + std::string(0x8000, 'b') + "\r\n";
            out += "0\r\n\r\n";
            return peer.write(out);
        }
        std::string head = "HTTP/1.1 200 OK\r\n";
        for (int i = 0; i < 5000; ++i) head += "X-Filler-" + std::to_string(i) + ": yes\r\n";
        return peer.write(head + "Content-Length: 0\r\n\r\n");
    });
    boost::asio::io_context io;
    ClientOptions options;
    options.max_response_bytes = 100 * 1024;
    HttpClient client(io, options);
    CHECK(fetch(io, client, get(server.url("/length"))).error == ErrorKind::too_large);
    CHECK(fetch(io, client, get(server.url("/chunked"))).error == ErrorKind::too_large);
    CHECK(fetch(io, client, get(server.url("/head"))).error == ErrorKind::too_large);
    Request generous = get(server.url("/chunked"));
    generous.max_response_bytes = 1024 * 1024;
    Response ok = fetch(io, client, generous);
    REQUIRE(ok.ok());
    CHECK(ok.body.size() == 10 * 0x8000);
}

TEST_CASE("statuses: 5xx, 429 with Retry-After, 404") {
    TestServer server([](const ServerRequest& req, Peer& peer) {
        if (req.target == "/busy") return peer.write(test::response(429, "Too Many Requests", {"Retry-After: 7"}, "slow down"));
        if (req.target == "/down") return peer.write(test::response(503, "Service Unavailable", {}, ""));
        return peer.write(test::response(404, "Not Found", {}, "nope"));
    });
    boost::asio::io_context io;
    HttpClient client(io);
    Response busy = fetch(io, client, get(server.url("/busy")));
    CHECK(busy.error == ErrorKind::http_status);
    CHECK(busy.status == 429);
    CHECK(busy.retry_after == std::chrono::milliseconds(7000));
    CHECK(busy.body == "slow down");
    Response down = fetch(io, client, get(server.url("/down")));
    CHECK(down.status == 503);
    CHECK(describe(down) == "HTTP 503 Service Unavailable");
    CHECK(fetch(io, client, get(server.url("/x"))).status == 404);
}

TEST_CASE("timeouts: silent server (read idle), trickling server (total), refused connection") {
    TestServer server([](const ServerRequest& req, Peer& peer) {
        if (req.target == "/silent") {
            peer.pause(10s);
            return false;
        }
        // Trickle a never-ending head, one byte per 50 ms.
        std::string head = "HTTP/1.1 200 OK\r\nX-Slow: ";
        if (!peer.write(head)) return false;
        for (int i = 0; i < 400 && peer.pause(50ms); ++i)
            if (!peer.write("a")) return false;
        return false;
    });
    boost::asio::io_context io;
    HttpClient client(io);

    Request silent = get(server.url("/silent"));
    silent.timeouts = Timeouts{2s, 300ms, 10s};
    Response r = fetch(io, client, silent);
    CHECK(r.error == ErrorKind::timeout);
    CHECK(r.message.find("read") != std::string::npos);

    Request slow = get(server.url("/trickle"));
    slow.timeouts = Timeouts{2s, 300ms, 700ms};
    Response t = fetch(io, client, slow);
    CHECK(t.error == ErrorKind::timeout);
    CHECK_THAT(t.message, Catch::Contains("total"));

    // Nothing listens on a port we just released.
    uint16_t dead_port;
    {
        TestServer gone(hello);
        dead_port = gone.port();
    }
    Response refused = fetch(io, client, get("http://127.0.0.1:" + std::to_string(dead_port) + "/"));
    CHECK(refused.error == ErrorKind::transport);
    CHECK(refused.status == 0);

    CHECK(fetch(io, client, get("ftp://x/")).error == ErrorKind::invalid_request);
}

TEST_CASE("connect timeout: a peer that takes the TCP connection but never answers the TLS handshake") {
    // A listening socket nobody accepts from: the kernel completes the TCP handshake,
    // then nothing. The connect phase (TCP + TLS) must give up on its own limit,
    // well before the read (5 s) and total (10 s) limits.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, 8) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    const std::string url = "https://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/";

    boost::asio::io_context io;
    ClientOptions lax;
    lax.verify_tls = false;
    HttpClient client(io, lax);
    Request r = get(url);
    r.timeouts = Timeouts{300ms, 5s, 10s};
    Response got = fetch(io, client, r);
    ::close(fd);
    CHECK(got.error == ErrorKind::timeout);
    CHECK_THAT(got.message, Catch::Contains("connect to 127.0.0.1:"));
    CHECK_THAT(got.message, Catch::Contains("timed out after 300 ms"));
}

namespace {

// Collects a stream's pieces and its end.
struct StreamProbe {
    std::string data;
    int pieces = 0;
    std::optional<Response> head;
    std::optional<Response> end;
    StreamCallbacks callbacks() {
        return StreamCallbacks{[this](const Response& h) { head = h; },
                               [this](std::string_view chunk) {
                                   data.append(chunk);
                                   ++pieces;
                               },
                               [this](Response e) { end = std::move(e); }};
    }
};

const std::string kMultipart =
    "--myboundary\r\nContent-Type: text/plain\r\nContent-Length: 36\r\n\r\nCode=VideoMotion;action=Start;index=0\r\n\r\n"
    "--myboundary\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nHeartbeat\r\n\r\n";

} // namespace

TEST_CASE("streams: a multipart body trickled byte by byte arrives incrementally (chunked and HTTP/1.0 close)") {
    TestServer server([](const ServerRequest& req, Peer& peer) {
        bool chunked = req.target.find("chunked") != std::string::npos;
        if (chunked) {
            peer.write("HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=myboundary\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n");
            // Each part its own chunk, and the framing trickled too.
            std::string framed;
            size_t cut = kMultipart.find("--myboundary", 2);
            for (auto part : {kMultipart.substr(0, cut), kMultipart.substr(cut)}) {
                char size[16];
                std::snprintf(size, sizeof size, "%zx\r\n", part.size());
                framed += size + part + "\r\n";
            }
            framed += "0\r\n\r\n";
            for (char c : framed)
                if (!peer.write(std::string_view(&c, 1)) || !peer.pause(1ms)) return false;
            return true;
        }
        peer.write("HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=myboundary\r\n\r\n");
        for (char c : kMultipart)
            if (!peer.write(std::string_view(&c, 1)) || !peer.pause(1ms)) return false;
        return false; // close ends the body
    });
    boost::asio::io_context io;
    HttpClient client(io);
    for (const char* path : {"/cgi-bin/eventManager.cgi?chunked", "/ISAPI/Event/notification/alertStream"}) {
        INFO(path);
        StreamProbe probe;
        Request req = get(server.url(path));
        req.timeouts = Timeouts{2s, 2s, 5s};
        auto handle = client.stream(req, probe.callbacks());
        REQUIRE(run_until(io, [&] { return probe.end.has_value(); }));
        REQUIRE(probe.head);
        CHECK(probe.head->status == 200);
        CHECK(probe.head->header("Content-Type")->find("boundary=myboundary") != std::string_view::npos);
        CHECK(probe.data == kMultipart);
        CHECK(probe.pieces > 20); // delivered as it came, not at the end
        CHECK(probe.end->error == ErrorKind::none);
        CHECK_FALSE(handle.active());
    }
}

TEST_CASE("streams: Digest auth then data; read-idle timeout on a silent stream; body bytes outlive total") {
    DigestCamera cam;
    cam.challenges = {"Digest qop=\"auth\", realm=\"IP Camera(C2183)\", nonce=\"NONCE\""};
    TestServer server([&](const ServerRequest& req, Peer& peer) {
        if (req.header("authorization").empty()) return cam.handle(req, peer);
        peer.write("HTTP/1.1 200 OK\r\nContent-Type: multipart/mixed; boundary=boundary\r\nConnection: close\r\n\r\n");
        // 1 s of trickle (beyond the 600 ms total), then silence.
        for (int i = 0; i < 20; ++i)
            if (!peer.write("--boundary\r\n") || !peer.pause(50ms)) return false;
        peer.pause(10s);
        return false;
    });
    boost::asio::io_context io;
    HttpClient client(io);
    StreamProbe probe;
    Request req = get_with(server.url("/ISAPI/Event/notification/alertStream"), "admin", "Circle of Life");
    req.timeouts = Timeouts{2s, 400ms, 600ms};
    auto handle = client.stream(req, probe.callbacks());
    REQUIRE(run_until(io, [&] { return probe.end.has_value(); }));
    CHECK(probe.data.size() == 20 * std::string("--boundary\r\n").size());
    CHECK(probe.end->error == ErrorKind::timeout);
    CHECK(probe.end->message.find("read") != std::string::npos);
    CHECK(cam.unauthorized == 1);
}

TEST_CASE("streams: a refused stream reports the status; cancel stops callbacks and closes the socket") {
    std::atomic<int> writer_saw_close{0};
    TestServer server([&](const ServerRequest& req, Peer& peer) {
        if (req.target == "/forbidden") return peer.write(test::response(403, "Forbidden", {}, "no"));
        peer.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (int i = 0; i < 1000; ++i) {
            if (!peer.write("5\r\nhello\r\n")) {
                ++writer_saw_close;
                return false;
            }
            if (!peer.pause(20ms)) return false;
        }
        return false;
    });
    boost::asio::io_context io;
    HttpClient client(io);

    StreamProbe refused;
    auto h1 = client.stream(get(server.url("/forbidden")), refused.callbacks());
    REQUIRE(run_until(io, [&] { return refused.end.has_value(); }));
    CHECK_FALSE(refused.head);
    CHECK(refused.end->error == ErrorKind::http_status);
    CHECK(refused.end->status == 403);
    CHECK(refused.end->body == "no");

    StreamProbe probe;
    auto handle = client.stream(get(server.url("/events")), probe.callbacks());
    REQUIRE(run_until(io, [&] { return probe.data.size() >= 15; }));
    CHECK(handle.active());
    handle.cancel();
    CHECK_FALSE(handle.active());
    auto seen = probe.data.size();
    run_until(io, [] { return false; }, 200ms);
    CHECK(probe.data.size() == seen);
    CHECK_FALSE(probe.end);
    CHECK(server.wait_until([&] { return writer_saw_close.load() == 1; }, 3s));

    // Cancelling from inside on_data works too, and a dropped handle cancels.
    StreamProbe inner;
    StreamHandle self_cancel;
    StreamCallbacks cb = inner.callbacks();
    cb.on_data = [&](std::string_view chunk) {
        inner.data.append(chunk);
        self_cancel.cancel();
    };
    self_cancel = client.stream(get(server.url("/events")), cb);
    run_until(io, [&] { return !inner.data.empty(); }, 3s);
    run_until(io, [] { return false; }, 100ms);
    CHECK(inner.data == "hello");
    CHECK_FALSE(inner.end);
}

// A close-delimited stream body (no Content-Length, not chunked) skips Beast's
// parser: the bytes after the head, in the same read or later, go straight
// to on_data; the close ends it cleanly; a cancel from on_data stops it.
TEST_CASE("streams: close-delimited body, head and parts in one read, then the close; cancel from on_data") {
    TestServer server([](const ServerRequest& req, Peer& peer) {
        const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: multipart/mixed; boundary=myboundary\r\n\r\n";
        if (req.target == "/one-read") {
            peer.write(head + kMultipart); // one write: the head and both parts arrive together
            return false;                  // then the close
        }
        peer.write(head + "--myboundary\r\n");
        for (int i = 0; i < 100; ++i)
            if (!peer.pause(20ms) || !peer.write("more\r\n")) return false;
        return false;
    });
    boost::asio::io_context io;
    HttpClient client(io);

    StreamProbe probe;
    auto handle = client.stream(get(server.url("/one-read")), probe.callbacks());
    REQUIRE(run_until(io, [&] { return probe.end.has_value(); }));
    REQUIRE(probe.head);
    CHECK(probe.data == kMultipart);
    CHECK(probe.end->error == ErrorKind::none);
    CHECK(probe.end->message == "the server ended the stream");
    CHECK_FALSE(handle.active());

    StreamProbe inner;
    StreamHandle self_cancel;
    StreamCallbacks cb = inner.callbacks();
    int calls = 0;
    cb.on_data = [&](std::string_view chunk) {
        inner.data.append(chunk);
        ++calls;
        if (inner.data.find("more") != std::string::npos) self_cancel.cancel();
    };
    self_cancel = client.stream(get(server.url("/trickle")), cb);
    REQUIRE(run_until(io, [&] { return inner.data.find("more") != std::string::npos; }, 3s));
    const int calls_at_cancel = calls;
    run_until(io, [] { return false; }, 150ms);
    CHECK(calls == calls_at_cancel);
    CHECK_FALSE(inner.end);
    CHECK_FALSE(self_cancel.active());
}

TEST_CASE("streams: reads of one round are parsed together; a callback cancelling a stream of its batch stops it") {
    // Four streams (two close-delimited, two chunked) get their second piece at
    // the same moment, while the client's io_context is not running: their
    // reads complete in one round and are parsed as one batch. The first
    // callback to see the piece cancels the three others, whose reads are
    // already done and queued: none of them may deliver it.
    std::atomic<bool> go{false};
    std::atomic<int> second_written{0};
    TestServer server([&](const ServerRequest& req, Peer& peer) {
        const bool chunked = req.target.find("chunked") != std::string::npos;
        const std::string head = chunked ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                         : "HTTP/1.1 200 OK\r\nContent-Type: multipart/mixed\r\n\r\n";
        auto piece = [&](const std::string& text) {
            return chunked ? std::to_string(text.size()) + "\r\n" + text + "\r\n" : text;
        };
        if (!peer.write(head + piece("one;"))) return false;
        for (int i = 0; i < 400 && !go; ++i)
            if (!peer.pause(5ms)) return false;
        if (!peer.write(piece("two;"))) return false;
        ++second_written;
        peer.pause(2s);
        return false;
    });
    boost::asio::io_context io;
    HttpClient client(io);
    const std::vector<std::string> targets = {"/raw-a", "/raw-b", "/chunked-a", "/chunked-b"};
    std::vector<StreamProbe> probes(targets.size());
    std::vector<StreamHandle> handles(targets.size());
    int seen_two = 0;
    for (size_t i = 0; i < targets.size(); ++i) {
        StreamCallbacks cb = probes[i].callbacks();
        cb.on_data = [&, i](std::string_view chunk) {
            probes[i].data.append(chunk);
            if (probes[i].data.find("two") == std::string::npos) return;
            ++seen_two;
            for (size_t j = 0; j < handles.size(); ++j)
                if (j != i) handles[j].cancel();
        };
        handles[i] = client.stream(get(server.url(targets[i])), cb);
    }
    REQUIRE(run_until(io, [&] {
        for (auto& p : probes)
            if (p.data != "one;") return false;
        return true;
    }));
    go = true;
    REQUIRE(server.wait_until([&] { return second_written == 4; }, 5s));
    std::this_thread::sleep_for(50ms); // every socket has its piece before the client reads any
    REQUIRE(run_until(io, [&] { return seen_two > 0; }, 3s));
    run_until(io, [] { return false; }, 150ms);
    CHECK(seen_two == 1);
    int active = 0;
    for (size_t i = 0; i < targets.size(); ++i) {
        const bool got_two = probes[i].data == "one;two;";
        CHECK((got_two || probes[i].data == "one;"));
        if (handles[i].active()) {
            ++active;
            CHECK(got_two); // the stream that cancelled the others
        }
        CHECK_FALSE(probes[i].end); // cancelled streams end without a callback
    }
    CHECK(active == 1);
}

// Stream reads go through the batch (ReadBatch): a read that fills its
// buffer must be followed by another at once, never by a wait for readiness
// that was already reported. Each piece is written while the client is not
// running, so it lies whole in the socket when the client reads: 4097 bytes
// after a short read fill the first read (4096) and leave one byte. Bursts far
// larger than a read follow. A piece not received in full in time is a stall.
TEST_CASE("streams: pieces that fill a read and bursts far larger than one are received whole, none stranded") {
    const std::vector<size_t> sizes = {1, 200, 4097, 10, 4097, 7, 4096, 1500, 65537, 3, 300000, 20000};
    std::string expected;
    for (size_t round = 0; round < sizes.size(); ++round)
        expected += std::string(sizes[round], static_cast<char>('a' + round));
    std::atomic<size_t> allowed{0}, written{0};
    TestServer server([&](const ServerRequest&, Peer& peer) {
        if (!peer.write("HTTP/1.1 200 OK\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n")) return false;
        size_t offset = 0;
        for (size_t round = 0; round < sizes.size(); ++round) {
            if (!peer.server->wait_until([&] { return allowed.load() > round; }, 10s)) return false;
            if (!peer.write(std::string_view(expected).substr(offset, sizes[round]))) return false;
            offset += sizes[round];
            ++written;
        }
        return false; // the close ends the stream
    });
    boost::asio::io_context io;
    HttpClient client(io);
    StreamProbe probe;
    auto handle = client.stream(get(server.url("/dry")), probe.callbacks());
    REQUIRE(run_until(io, [&] { return probe.head.has_value(); }));
    size_t total = 0;
    for (size_t round = 0; round < sizes.size(); ++round) {
        total += sizes[round];
        allowed = round + 1;
        // Small pieces are written at once; a burst larger than the socket
        // buffers needs the client reading.
        server.wait_until([&] { return written.load() > round; }, 200ms);
        std::this_thread::sleep_for(20ms);
        INFO("piece " << round << " of " << sizes[round] << " bytes");
        REQUIRE(run_until(io, [&] { return probe.data.size() >= total; }, 5s));
    }
    REQUIRE(run_until(io, [&] { return probe.end.has_value(); }));
    CHECK(probe.end->error == ErrorKind::none);
    CHECK(probe.data.size() == expected.size());
    CHECK(probe.data == expected);
}

TEST_CASE("destroying the client cancels in-flight work without callbacks") {
    TestServer server([](const ServerRequest&, Peer& peer) {
        peer.pause(5s);
        return false;
    });
    boost::asio::io_context io;
    bool called = false;
    {
        HttpClient client(io);
        client.request(get(server.url("/")), [&](Response) { called = true; });
        REQUIRE(server.wait_until([&] {
            io.restart();
            io.poll();
            return server.requests() == 1;
        }, 5s));
    }
    run_until(io, [] { return false; }, 100ms);
    CHECK_FALSE(called);
}

TEST_CASE("TLS: verification on by default, ca_file trusts a self-signed device, verify_tls=false skips") {
    const Certs& c = certs();
    TestServer server([](const ServerRequest&, Peer& peer) { return peer.write(test::response(200, "OK", {}, "secure")); },
                      &c.with_ip);
    boost::asio::io_context io;

    HttpClient system_store(io);
    Response untrusted = fetch(io, system_store, get(server.url("/", true)));
    CHECK(untrusted.error == ErrorKind::tls_verify);
    CHECK(untrusted.message.find("self") != std::string::npos); // "self-signed certificate"

    ClientOptions pinned;
    pinned.ca_file = c.with_ip.cert;
    HttpClient trusting(io, pinned);
    Response ok = fetch(io, trusting, get(server.url("/", true)));
    REQUIRE(ok.ok());
    CHECK(ok.body == "secure");
    // By host name too (SNI + DNS SAN); and kept alive over TLS.
    Response by_name = fetch(io, trusting, get("https://localhost:" + std::to_string(server.port()) + "/"));
    CHECK(by_name.ok());
    // SNI: the host name is sent (a camera behind a TLS reverse proxy picks its certificate
    // by it); an IP address is not (RFC 6066 forbids literal addresses).
    auto names = server.sni_names();
    REQUIRE(names.size() >= 2);
    CHECK(names.front() == ""); // the first handshakes went to 127.0.0.1
    CHECK(names.back() == "localhost");
    CHECK(fetch(io, trusting, get(server.url("/", true))).ok());
    CHECK(trusting.stats().connections_reused >= 1);

    ClientOptions insecure;
    insecure.verify_tls = false;
    HttpClient lax(io, insecure);
    CHECK(fetch(io, lax, get(server.url("/", true))).ok());

    ClientOptions missing;
    missing.ca_file = c.dir + "/does-not-exist.pem";
    CHECK_THROWS_AS(HttpClient(io, missing), std::runtime_error);
}

namespace {
long rss_kib() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return -1;
}
} // namespace

TEST_CASE("TLS: clients with the same trust settings share one loaded store, different settings do not mix") {
    const Certs& c = certs();
    boost::asio::io_context io;
    TestServer server([](const ServerRequest&, Peer& peer) { return peer.write(test::response(200, "OK", {}, "x")); },
                      &c.with_ip);
    // The system store costs ~870 KiB per OpenSSL context: 100 https cameras
    // used to hold 100 copies (~87 MB). Now the first client loads it once
    // (at its first https exchange; the device is self-signed, so it is refused).
    std::vector<std::unique_ptr<HttpClient>> clients;
    clients.push_back(std::make_unique<HttpClient>(io));
    CHECK(fetch(io, *clients.back(), get(server.url("/", true))).error == ErrorKind::tls_verify);
    REQUIRE(clients.back()->stats().tls_context_held);
    const long before = rss_kib();
    REQUIRE(before > 0);
    for (int i = 0; i < 100; ++i) {
        clients.push_back(std::make_unique<HttpClient>(io));
        CHECK(fetch(io, *clients.back(), get(server.url("/", true))).error == ErrorKind::tls_verify);
        CHECK(clients.back()->stats().tls_context_held);
    }
    const long grown = rss_kib() - before;
    INFO("RSS grew by " << grown << " KiB for 100 more clients");
    CHECK(grown < 10 * 1024);

    // Sharing is per setting: a client pinned to another certificate still refuses this device.
    ClientOptions right, wrong;
    right.ca_file = c.with_ip.cert;
    wrong.ca_file = c.name_only.cert;
    HttpClient a(io, right), b(io, wrong), a2(io, right);
    CHECK(fetch(io, a, get(server.url("/", true))).ok());
    CHECK(fetch(io, b, get(server.url("/", true))).error == ErrorKind::tls_verify);
    CHECK(fetch(io, a2, get(server.url("/", true))).ok());
    CHECK(fetch(io, *clients.back(), get(server.url("/", true))).error == ErrorKind::tls_verify); // system store
}

TEST_CASE("TLS: an http-only client never loads a trust store; https loads it at first use, a ca_file at once") {
    const Certs& c = certs();
    TestServer plain(hello);
    TestServer secure([](const ServerRequest&, Peer& peer) { return peer.write(test::response(200, "OK", {}, "x")); },
                      &c.with_ip);
    boost::asio::io_context io;
    HttpClient client(io);
    CHECK_FALSE(client.stats().tls_context_held);
    REQUIRE(fetch(io, client, get(plain.url("/"))).ok());
    CHECK_FALSE(client.stats().tls_context_held); // an http:// camera costs no trust store
    CHECK(fetch(io, client, get(secure.url("/", true))).error == ErrorKind::tls_verify);
    CHECK(client.stats().tls_context_held);

    ClientOptions pinned;
    pinned.ca_file = c.with_ip.cert;
    CHECK(HttpClient(io, pinned).stats().tls_context_held); // checked at configuration time
}

TEST_CASE("TLS: a certificate that does not name the IP fails host verification") {
    const Certs& c = certs();
    TestServer server([](const ServerRequest&, Peer& peer) { return peer.write(test::response(200, "OK", {}, "x")); },
                      &c.name_only);
    boost::asio::io_context io;
    ClientOptions pinned;
    pinned.ca_file = c.name_only.cert;
    HttpClient client(io, pinned);
    Response r = fetch(io, client, get(server.url("/", true)));
    CHECK(r.error == ErrorKind::tls_verify);
    CHECK(fetch(io, client, get("https://localhost:" + std::to_string(server.port()) + "/")).ok());
}

TEST_CASE("IoExecutor runs the client's callbacks on its own thread") {
    TestServer server(hello);
    passerelle::IoExecutor executor;
    std::promise<bool> on_thread;
    auto fut = on_thread.get_future();
    auto client = std::make_shared<HttpClient>(executor.io());
    client->request(get(server.url("/")), [&](Response r) { on_thread.set_value(r.ok() && executor.running_in_this_thread()); });
    REQUIRE(fut.wait_for(10s) == std::future_status::ready);
    CHECK(fut.get());
    CHECK_FALSE(executor.running_in_this_thread());
    // Destroy on the io thread, as documented.
    std::promise<void> destroyed;
    executor.post([&] {
        client.reset();
        destroyed.set_value();
    });
    CHECK(destroyed.get_future().wait_for(10s) == std::future_status::ready);
}

TEST_CASE("credentials never follow a redirect to another origin") {
    std::atomic<int> authorization_seen{0};
    TestServer other([&](const ServerRequest& req, Peer& peer) {
        if (!req.header("authorization").empty()) ++authorization_seen;
        return peer.write(test::response(401, "Unauthorized", {"WWW-Authenticate: Basic realm=\"elsewhere\""}, ""));
    });
    std::string target = other.url("/steal");
    TestServer origin([&](const ServerRequest& req, Peer& peer) {
        if (req.header("authorization") != basic_authorization("u", "secret"))
            return peer.write(test::response(401, "Unauthorized", {"WWW-Authenticate: Basic realm=\"home\""}, ""));
        return peer.write(test::response(302, "Found", {"Location: " + target}, ""));
    });
    boost::asio::io_context io;
    ClientOptions options;
    options.max_redirects = 2;
    HttpClient client(io, options);
    Response r = fetch(io, client, get_with(origin.url("/"), "u", "secret"));
    CHECK(r.error == ErrorKind::http_status);
    CHECK(r.status == 401);
    CHECK(other.requests() == 1);
    CHECK(authorization_seen == 0);
}

namespace {

// The client's end of an established connection to 127.0.0.1:server_port, as
// /proc/net/tcp shows it: the socket's timer ("tr": 0 none, 1 retransmit,
// 2 keepalive) and when it fires, in seconds.
std::optional<std::pair<int, double>> client_socket_timer(uint16_t server_port) {
    std::ifstream in("/proc/net/tcp");
    std::string line;
    std::getline(in, line); // header
    const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    while (std::getline(in, line)) {
        char local[64], remote[64];
        unsigned state = 0, tr = 0;
        unsigned long txq = 0, rxq = 0, when = 0;
        if (std::sscanf(line.c_str(), " %*d: %63s %63s %x %lx:%lx %x:%lx", local, remote, &state, &txq, &rxq, &tr,
                        &when) != 7)
            continue;
        const std::string rem(remote);
        const size_t colon = rem.find(':');
        if (colon == std::string::npos || std::stoul(rem.substr(colon + 1), nullptr, 16) != server_port ||
            state != 0x01)
            continue;
        return std::make_pair(static_cast<int>(tr), static_cast<double>(when) / ticks);
    }
    return std::nullopt;
}

} // namespace

TEST_CASE("TCP keepalive: off by default; when set the stream's socket carries the keepalive timer") {
    // A device that answers the stream head, then never sends a byte.
    TestServer server([](const ServerRequest&, Peer& peer) {
        peer.write("HTTP/1.1 200 OK\r\nContent-Type: multipart/mixed; boundary=boundary\r\n\r\n");
        peer.pause(10s);
        return false;
    });
    for (int idle : {0, 30}) {
        INFO("tcp_keepalive_idle = " << idle << " s");
        boost::asio::io_context io;
        ClientOptions options;
        options.tcp_keepalive_idle = std::chrono::seconds(idle);
        HttpClient client(io, options);
        StreamProbe probe;
        Request req = get(server.url("/ISAPI/Event/notification/alertStream"));
        req.timeouts = Timeouts{2s, 10s, 20s};
        auto handle = client.stream(req, probe.callbacks());
        REQUIRE(run_until(io, [&] { return probe.head.has_value(); }, 5s));
        auto timer = client_socket_timer(server.port());
        REQUIRE(timer);
        if (idle == 0) {
            CHECK(timer->first == 0); // no timer at all on a quiet socket without keepalive
        } else {
            CHECK(timer->first == 2);
            // TCP_KEEPIDLE applied: due within the 30 s idle, not the kernel's 2 h default.
            CHECK(timer->second <= 30.0);
            CHECK(timer->second > 20.0);
        }
        handle.cancel();
        CHECK_FALSE(probe.end);
    }
}
