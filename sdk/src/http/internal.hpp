// Private to passerelle_http: the connection, the keep-alive pool, the state a
// client shares with its exchanges, and one exchange (request or stream).
#pragma once

#include <passerelle/http/client.hpp>
#include <passerelle/http/digest.hpp>
#include <passerelle/http/url.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace passerelle::http::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// One TCP connection, plain or TLS, with the read buffer that belongs to it.
// Shared, not owned by one exchange: every asynchronous operation on it holds a
// reference until its handler has run. An asio::ssl::stream must outlive its
// pending operations (their completion, even an aborted one, reads the stream),
// and an exchange cancelled mid-read drops its connection at once.
struct Connection {
    // The plain socket and the buffer first: a stream's every read touches
    // both, and a TLS stream object (unused by plain ones) is hundreds of bytes.
    std::optional<tcp::socket> plain;
    beast::flat_buffer buffer;
    Clock::time_point idle_since;
    std::optional<asio::ssl::stream<tcp::socket>> tls;

    tcp::socket& socket() { return tls ? tls->next_layer() : *plain; }
    template <class F>
    void visit(F&& f) {
        if (tls) f(*tls);
        else f(*plain);
    }
    void close();
    // A pooled connection the server has not closed meanwhile (no EOF, no
    // unexpected bytes waiting).
    bool looks_alive();
};

// Idle keep-alive connections per origin, newest last.
class Pool {
public:
    std::shared_ptr<Connection> take(const std::string& origin, std::chrono::milliseconds max_idle);
    void put(const std::string& origin, std::shared_ptr<Connection> conn, std::size_t max_per_origin);
    void clear();

private:
    std::map<std::string, std::deque<std::shared_ptr<Connection>>> idle_;
};

// The challenge answered last for an origin: later requests reuse its nonce
// with an incremented nc instead of paying a 401 round trip each time.
struct AuthState {
    AuthChallenge challenge;
    uint32_t nc = 0;
    uint64_t learned_by = 0;  // id of the exchange whose 401 taught it
    std::string cnonce;       // kept for the -sess algorithms
};

class Exchange;

// The stream reads an io_context completed in one round, processed together.
// Asio completes each socket's read and runs its handler before it reads the
// next socket; with 1,000 cameras sending an event each, that interleaves the
// kernel's receive path and ours (parser, publish) event by event, and each
// starts cold. Handlers of stream reads only queue their exchange here; one
// handler posted behind them parses every queued read, then asks for the next
// reads. One per io_context (an Asio service), used on its thread only.
class ReadBatch : public asio::execution_context::service {
public:
    static asio::execution_context::id id;
    // Made by asio::use_service on an io_context (ClientCore), never another context.
    explicit ReadBatch(asio::execution_context& context)
        : service(context), io_(static_cast<asio::io_context&>(context)) {}

    // The exchange's read completed; parse_buffered() and read_some() follow
    // from a handler posted to the io_context, after the reads completed meanwhile.
    void add(std::shared_ptr<Exchange> exchange);

private:
    void shutdown() override { ready_.clear(); } // an exchange holds its connection
    void run();

    asio::io_context& io_;
    std::vector<std::shared_ptr<Exchange>> ready_;   // queued, not processed yet
    std::vector<std::shared_ptr<Exchange>> running_; // the batch being processed
    std::vector<Exchange*> reading_;                  // of running_, those that read on
};

class ClientCore {
public:
    ClientCore(asio::io_context& io, ClientOptions options);

    asio::io_context& io;
    ClientOptions options;
    // Built at once when verifying (a bad ca_file throws from the constructor),
    // else on the first https exchange. Shared by every client of the process
    // with the same trust settings (shared_tls_context): a context with the
    // system store loaded holds ~870 KiB, which 1,000 https cameras must not
    // pay 1,000 times. A plain-http device (most cameras) never needs one.
    asio::ssl::context& ssl_context(); // on the io thread
    std::shared_ptr<asio::ssl::context> ssl;
    std::atomic<bool> ssl_loaded{false}; // for stats(), read from any thread
    Pool pool;
    ReadBatch& read_batch; // the io_context's (shared by its clients)
    std::map<std::string, AuthState> auth;          // by origin
    std::vector<std::weak_ptr<Exchange>> live;      // to cancel on destruction
    bool closed = false;
    std::atomic<uint64_t> next_id{1};       // exchanges are created on any thread
    std::atomic<uint64_t> opened{0}, reused{0}, exchanges{0};

    void track(const std::shared_ptr<Exchange>& ex);
};

class Exchange : public std::enable_shared_from_this<Exchange> {
public:
    Exchange(std::shared_ptr<ClientCore> core, Request request, std::function<void(Response)> done);
    Exchange(std::shared_ptr<ClientCore> core, Request request, StreamCallbacks callbacks);

    // Both run on the io thread.
    void start();
    void cancel();

    bool active() const { return active_.load(); }
    asio::io_context& io() { return core_->io; }

private:
    enum class Phase { idle, connecting, reading };
    enum class Mode { collect, discard, deliver, interim };
    enum class Next { finish, retry };

    void begin_attempt();
    void connect();
    void on_resolved(const beast::error_code& ec, const tcp::resolver::results_type& results);
    void on_connected(const beast::error_code& ec);
    void on_handshake(const beast::error_code& ec);
    void send();
    void on_written(const beast::error_code& ec);
    void read_head();
    void read_some();
    void on_read(const beast::error_code& ec, std::size_t bytes);
    friend class ReadBatch;
    bool read_batched(); // ReadBatch::run: parse what was read; true to read on
    bool parse_buffered();
    bool deliver_raw();
    bool on_head();
    bool on_body(const char* data, std::size_t n);
    void on_message_done();
    bool handle_401(const Response& head);
    bool handle_redirect(const Response& head);
    std::string authorization();
    void io_failed(const beast::error_code& ec, const char* what);
    void fail(ErrorKind kind, std::string message);
    void finish(Response response);
    void release_connection(bool reusable);

    void arm_total();
    void arm_phase(Phase phase, std::chrono::milliseconds limit);
    void wait_phase(uint64_t generation);
    void on_timeout(std::string why);
    void stop_timers();

    // What every read of a stream touches, together at the front: with 1,000
    // streams, each read finds its exchange cold, and every cache line these
    // span would be a miss of its own (chunk_ alone is 4 KiB).
    std::shared_ptr<ClientCore> core_;
    ReadBatch& read_batch_; // core_'s, without a visit to the (cold) core per read
    std::shared_ptr<Connection> conn_;
    StreamCallbacks callbacks_;
    Clock::time_point last_activity_;
    // Body bytes come out of the parser in chunk_-sized pieces. Reads are
    // small while a stream trickles (an event part is ~1 KB) and grow while
    // they come back full: 1,000 idle device streams hold ~8 KiB each, not 32.
    static constexpr std::size_t kSmallRead = 4096;
    static constexpr std::size_t kLargeRead = 65536;
    std::size_t read_size_ = kSmallRead;
    bool finished_ = false;
    bool head_handled_ = false;
    bool raw_body_ = false; // a streamed body delimited by the close: see deliver_raw()
    bool received_any_ = false;
    Mode mode_ = Mode::collect;
    std::optional<bhttp::response_parser<bhttp::buffer_body>> parser_;

    Request req_;
    bool streaming_;
    std::function<void(Response)> done_;
    uint64_t id_;

    Url url_;
    std::string first_origin_;
    Timeouts timeouts_;
    std::size_t max_bytes_ = 0;

    tcp::resolver resolver_;
    asio::steady_timer total_timer_;
    asio::steady_timer phase_timer_;
    Phase phase_ = Phase::idle;
    std::chrono::milliseconds phase_limit_{0};
    uint64_t phase_generation_ = 0;
    std::string timed_out_;  // why, once a timer fired

    bool conn_reused_ = false;
    bool reuse_retried_ = false;
    bhttp::request<bhttp::string_body> wire_;
    std::array<char, kSmallRead> chunk_{};
    Next next_ = Next::finish;
    Response head_;
    std::size_t discarded_ = 0;
    std::optional<Url> pending_url_;

    bool sent_credentials_ = false;
    bool sent_own_challenge_ = false;
    bool stale_retried_ = false;
    int auth_rounds_ = 0;
    int redirects_ = 0;

    std::atomic<bool> active_{true};
};

} // namespace passerelle::http::detail
