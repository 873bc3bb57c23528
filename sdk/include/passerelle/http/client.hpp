// The HTTP(S) client every network module uses: keep-alive pool, TLS with
// verification on by default, Basic and Digest auth answered from the 401,
// timeouts, size caps, and long-lived streaming bodies (camera event streams).
// Asynchronous: callbacks run on the io_context the client was created with
// (a module's IoExecutor), never inside request()/stream() themselves.
//
//   passerelle::http::HttpClient http(executor.io(), {.verify_tls = true});
//   http.request({.url = "https://jeedom.local/core/api/jeeApi.php?..."},
//                [](passerelle::http::Response r) {
//                    if (!r.ok()) host.warn(describe(r));
//                });
//
//   Request req{.url = "http://cam/ISAPI/Event/notification/alertStream",
//               .credentials = Credentials{user, password}};
//   stream_ = http.stream(req, {
//       .on_head = [](const Response& head) { /* 200: connected */ },
//       .on_data = [this](std::string_view bytes) { parser_.feed(bytes); },
//       .on_end  = [this](Response end) { /* reconnect with backoff */ }});
//
// Threading: request() and stream() may be called from any thread (they post
// to the io_context). Destroy the client on the io_context's thread or after
// the io_context has stopped: in-flight requests and streams are cancelled and
// their callbacks never run afterwards.
//
// Auth: with Request::credentials, a 401 is answered with the strongest
// challenge offered (Digest SHA-256 > MD5 > Basic). The chosen challenge is
// remembered per origin, so later requests authenticate up front with the
// same nonce and an incremented nc; stale=true is retried once with the new
// nonce; a 401 answering credentials built from this exchange's own challenge
// is ErrorKind::auth_failed.
#pragma once

#include <passerelle/http/types.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

namespace boost::asio {
class io_context;
}

namespace passerelle::http {

struct StreamCallbacks {
    // The 2xx head of the stream (status, headers; body empty). Optional.
    std::function<void(const Response& head)> on_head;
    // Body bytes as they arrive (chunked framing removed). May be split anywhere.
    std::function<void(std::string_view chunk)> on_data;
    // Exactly once, unless cancelled: ErrorKind::none when the server ended the
    // body cleanly, else why it stopped (timeout = read idle, auth_failed...).
    std::function<void(Response end)> on_end;
};

namespace detail {
class Exchange;
class ClientCore;
} // namespace detail

// Owns a running stream. Destroying or cancelling it closes the connection;
// when cancel() runs on the io thread no callback runs after it returns (from
// another thread, the cancel is posted and a callback already queued may run).
class StreamHandle {
public:
    StreamHandle() = default;
    explicit StreamHandle(std::shared_ptr<detail::Exchange> exchange);
    StreamHandle(StreamHandle&&) noexcept = default;
    StreamHandle& operator=(StreamHandle&& other) noexcept;
    StreamHandle(const StreamHandle&) = delete;
    StreamHandle& operator=(const StreamHandle&) = delete;
    ~StreamHandle();

    void cancel();
    // True from stream() until on_end ran or cancel().
    bool active() const;

private:
    std::shared_ptr<detail::Exchange> exchange_;
};

class HttpClient {
public:
    // Throws std::runtime_error when options.ca_file cannot be loaded.
    HttpClient(boost::asio::io_context& io, ClientOptions options = {});
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // One exchange; `done` runs once with the response or the error.
    void request(Request request, std::function<void(Response)> done);

    // A long-lived response whose body is delivered incrementally.
    [[nodiscard]] StreamHandle stream(Request request, StreamCallbacks callbacks);

    // Closes the pooled idle connections (e.g. after a device changed address).
    void close_idle();

    // Forget the remembered auth challenge for an origin ("https://host:port")
    // or for all origins (empty): the next request waits for a fresh 401.
    void forget_auth(std::string_view origin = {});

    struct Stats {
        uint64_t connections_opened = 0;  // TCP connections established
        uint64_t connections_reused = 0;  // exchanges that took a pooled connection
        uint64_t exchanges = 0;           // HTTP request/response round trips sent
        bool tls_context_held = false;    // a TLS context (trust store) is held: from the first
                                          // https exchange, or from construction with a ca_file
    };
    Stats stats() const;

    const ClientOptions& options() const;

private:
    std::shared_ptr<detail::ClientCore> core_;
};

} // namespace passerelle::http
