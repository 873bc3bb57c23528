// The values an HttpClient exchanges: Request, Response, ClientOptions,
// Timeouts and the error classification. Plain C++: no Asio, no Beast.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace passerelle::http {

struct Header {
    std::string name;
    std::string value;
};
using Headers = std::vector<Header>;

// First header of that name (case-insensitive), or nullopt.
std::optional<std::string_view> find_header(const Headers& headers, std::string_view name);

struct Timeouts {
    // DNS + TCP connect + TLS handshake, per connection attempt.
    std::chrono::milliseconds connect{10'000};
    // Read idle: the longest silence while waiting for a response byte. Reset
    // by every byte received, so a stream that trickles never trips it.
    std::chrono::milliseconds read{30'000};
    // The whole exchange including auth retries and redirects. For a stream it
    // bounds the time until the response head is accepted; after that only
    // `read` applies (a stream may last for days).
    std::chrono::milliseconds total{60'000};
};

struct Credentials {
    std::string user;
    std::string password;
    // Send Basic with the first request instead of waiting for a 401 challenge
    // (for webhooks behind a proxy that never challenges). Only over https
    // unless you accept sending the password in clear.
    bool preemptive_basic = false;
};

struct Request {
    std::string method = "GET";
    std::string url;                 // http(s)://host[:port]/path?query
    Headers headers;                 // Host, User-Agent, Content-Length are set by the client
    std::string body;
    std::optional<Credentials> credentials;  // answered to 401 (Digest or Basic)
    std::optional<Timeouts> timeouts;        // else ClientOptions::timeouts
    std::optional<std::size_t> max_response_bytes;  // else ClientOptions::max_response_bytes
};

enum class ErrorKind {
    none,              // a 2xx response (after auth and redirects)
    http_status,       // another status arrived: see Response::status (5xx, 429, 4xx, 401 without credentials)
    auth_failed,       // 401 again after credentials (or no usable scheme): see Response::realm
    redirect_refused,  // 3xx while max_redirects is 0 or exhausted: see the Location header
    timeout,           // connect, read idle or total: the message says which
    tls_verify,        // the server certificate or its host name did not verify
    transport,         // DNS, refused, reset, TLS handshake, malformed HTTP
    too_large,         // the body (or head) exceeded the configured cap
    invalid_request,   // bad URL or unsupported scheme
};

// "none", "http_status", "auth_failed"... (stable, for logs and metrics labels).
const char* to_string(ErrorKind kind);

struct Response {
    ErrorKind error = ErrorKind::none;
    std::string message;    // human-readable; never holds a password or an Authorization value
    int status = 0;         // 0 when no response arrived
    std::string reason;     // "Service Unavailable"
    Headers headers;
    std::string body;       // collected body (requests; the error body of a refused stream)
    std::string realm;      // auth_failed: the realm that refused the credentials
    // Retry-After of a 429/503, as a delay (delta-seconds or HTTP-date).
    std::optional<std::chrono::milliseconds> retry_after;

    bool ok() const { return error == ErrorKind::none; }
    std::optional<std::string_view> header(std::string_view name) const { return find_header(headers, name); }
};

// "HTTP 503 Service Unavailable", "timeout: no byte for 30000 ms"...: what a
// module puts in a health detail or a Reply. Safe to log.
std::string describe(const Response& response);

// Retry-After as a delay: "120" or "Wed, 21 Oct 2015 07:28:00 GMT" (a date in
// the past gives 0). nullopt when unparsable.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

struct ClientOptions {
    Timeouts timeouts;
    // Verify the server certificate chain and host name (IP SAN for IP URLs).
    // Turn off only for a device the operator accepts as is; log
    // insecure_tls_warning() when you do.
    bool verify_tls = true;
    // PEM file of trusted certificates (a camera's self-signed cert or a
    // private CA). When set it replaces the system store, like curl --cacert.
    std::string ca_file;
    int max_redirects = 0;                               // 3xx refused unless > 0
    std::size_t max_response_bytes = 8 * 1024 * 1024;   // body cap for request()
    std::size_t max_header_bytes = 64 * 1024;            // head cap, requests and streams
    std::size_t max_idle_per_host = 4;                   // keep-alive pool size per origin
    std::chrono::milliseconds idle_keepalive{30'000};    // pooled connections older than this are dropped
    // TCP keepalive on every connection this client opens; 0 = off (default).
    // After tcp_keepalive_idle without traffic the kernel probes the peer every
    // tcp_keepalive_interval and resets the connection after 3 unanswered
    // probes: a dead peer (power cut, pulled cable) is noticed in about
    // idle + 3 x interval even under a long read-idle timeout (a stream from
    // a device that sends no heartbeat). Costs one empty segment per idle period.
    std::chrono::seconds tcp_keepalive_idle{0};
    std::chrono::seconds tcp_keepalive_interval{10};
    std::string user_agent = "passerelle";
};

// The warning a module logs when an operator sets verify_tls = false.
std::string insecure_tls_warning(std::string_view instance, std::string_view url);

} // namespace passerelle::http
