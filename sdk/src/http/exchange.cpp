// One HTTP exchange, from picking a connection to the final callback, with
// the auth and redirect retries in between. Everything runs on the io thread.
#include "internal.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <limits>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace passerelle::http::detail {

namespace {

std::string ms_text(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

bool is_redirect(int status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// Errors a server closing an idle keep-alive connection produces on reuse.
bool is_stale_connection_error(const beast::error_code& ec) {
    return ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
           ec == asio::error::broken_pipe || ec == asio::error::connection_aborted ||
           ec == asio::ssl::error::stream_truncated;
}

// SO_KEEPALIVE with the client's idle and interval and 3 probes (see
// ClientOptions::tcp_keepalive_idle). Best effort: a failure leaves the
// connection as it was.
void set_tcp_keepalive(tcp::socket& socket, const ClientOptions& options) {
    const auto clamp_s = [](std::chrono::seconds s) {
        return static_cast<int>(std::clamp<std::int64_t>(s.count(), 1, 32767)); // the kernel's limit
    };
    const int idle = clamp_s(options.tcp_keepalive_idle);
    const int interval = clamp_s(options.tcp_keepalive_interval);
    const int count = 3;
    beast::error_code ignored;
    socket.set_option(asio::socket_base::keep_alive(true), ignored);
    const int fd = socket.native_handle();
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
}

} // namespace

Exchange::Exchange(std::shared_ptr<ClientCore> core, Request request, std::function<void(Response)> done)
    : core_(std::move(core)), read_batch_(core_->read_batch), req_(std::move(request)), streaming_(false),
      done_(std::move(done)),
      id_(core_->next_id++), resolver_(core_->io), total_timer_(core_->io), phase_timer_(core_->io) {}

Exchange::Exchange(std::shared_ptr<ClientCore> core, Request request, StreamCallbacks callbacks)
    : core_(std::move(core)), read_batch_(core_->read_batch), callbacks_(std::move(callbacks)),
      req_(std::move(request)), streaming_(true),
      id_(core_->next_id++), resolver_(core_->io), total_timer_(core_->io), phase_timer_(core_->io) {}

void Exchange::start() {
    if (finished_) return;
    if (core_->closed) return cancel(); // posted before the client died: no callback
    core_->track(shared_from_this());
    auto url = parse_url(req_.url);
    if (!url) return fail(ErrorKind::invalid_request, "not an http(s)://host[:port]/path URL");
    url_ = std::move(*url);
    first_origin_ = url_.origin();
    timeouts_ = req_.timeouts.value_or(core_->options.timeouts);
    max_bytes_ = req_.max_response_bytes.value_or(core_->options.max_response_bytes);
    arm_total();
    begin_attempt();
}

void Exchange::cancel() {
    if (finished_) return;
    finished_ = true;
    active_ = false;
    stop_timers();
    release_connection(false);
    // Drop the callbacks now: what they captured must not outlive the cancel.
    done_ = nullptr;
    callbacks_ = StreamCallbacks{};
}

// ---- connection ----------------------------------------------------------------

void Exchange::begin_attempt() {
    head_handled_ = false;
    received_any_ = false;
    next_ = Next::finish;
    if (auto pooled = core_->pool.take(url_.origin(), core_->options.idle_keepalive)) {
        conn_ = std::move(pooled);
        conn_reused_ = true;
        ++core_->reused;
        send();
        return;
    }
    connect();
}

void Exchange::connect() {
    conn_reused_ = false;
    arm_phase(Phase::connecting, timeouts_.connect);
    resolver_.async_resolve(url_.host, std::to_string(url_.port),
                            [self = shared_from_this()](const beast::error_code& ec, tcp::resolver::results_type r) {
                                self->on_resolved(ec, r);
                            });
}

void Exchange::on_resolved(const beast::error_code& ec, const tcp::resolver::results_type& results) {
    if (finished_) return;
    if (ec) return io_failed(ec, "resolve");
    conn_ = std::make_shared<Connection>();
    if (url_.tls) conn_->tls.emplace(core_->io, core_->ssl_context());
    else conn_->plain.emplace(core_->io);
    asio::async_connect(conn_->socket(), results,
                        [self = shared_from_this(), conn = conn_](const beast::error_code& e, const tcp::endpoint&) {
                            self->on_connected(e);
                        });
}

void Exchange::on_connected(const beast::error_code& ec) {
    if (finished_) return;
    if (ec) return io_failed(ec, "connect");
    ++core_->opened;
    beast::error_code ignored;
    conn_->socket().set_option(tcp::no_delay(true), ignored);
    if (core_->options.tcp_keepalive_idle.count() > 0) set_tcp_keepalive(conn_->socket(), core_->options);
    if (!url_.tls) return send();

    SSL* ssl = conn_->tls->native_handle();
    beast::error_code not_ip;
    asio::ip::make_address(url_.host, not_ip);
    bool is_ip = !not_ip;
    // SNI carries host names only (RFC 6066 forbids IP literals).
    if (!is_ip) SSL_set_tlsext_host_name(ssl, url_.host.c_str());
    if (core_->options.verify_tls) {
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, url_.host.c_str())
                       : X509_VERIFY_PARAM_set1_host(param, url_.host.c_str(), url_.host.size());
        if (ok != 1) return fail(ErrorKind::tls_verify, "cannot set the expected host name for verification");
    }
    conn_->tls->async_handshake(asio::ssl::stream_base::client,
                                [self = shared_from_this(), conn = conn_](const beast::error_code& e) {
                                    self->on_handshake(e);
                                });
}

void Exchange::on_handshake(const beast::error_code& ec) {
    if (finished_) return;
    if (ec) {
        if (timed_out_.empty() && core_->options.verify_tls) {
            long result = SSL_get_verify_result(conn_->tls->native_handle());
            if (result != X509_V_OK)
                return fail(ErrorKind::tls_verify, std::string("certificate of ") + url_.host +
                                                       " not trusted: " + X509_verify_cert_error_string(result));
        }
        return io_failed(ec, "TLS handshake");
    }
    send();
}

void Exchange::release_connection(bool reusable) {
    if (!conn_) return;
    if (reusable && !core_->closed && conn_->buffer.size() == 0) {
        core_->pool.put(url_.origin(), std::move(conn_), core_->options.max_idle_per_host);
    } else {
        conn_->close();
        conn_.reset();
    }
}

// ---- request -------------------------------------------------------------------

std::string Exchange::authorization() {
    sent_credentials_ = false;
    sent_own_challenge_ = false;
    if (!req_.credentials) return {};
    const Credentials& cred = *req_.credentials;
    auto it = core_->auth.find(url_.origin());
    if (url_.origin() != first_origin_) return {};
    if (it == core_->auth.end()) {
        if (cred.preemptive_basic && url_.origin() == first_origin_) {
            sent_credentials_ = true;
            return basic_authorization(cred.user, cred.password);
        }
        return {};
    }
    AuthState& state = it->second;
    sent_credentials_ = true;
    // Our own challenge, and nobody used its nonce before us: a 401 to that is a
    // refusal of the password. If another request spent the nonce first (a Dahua
    // nonce is good for one request), the 401 may only say so: one more round.
    sent_own_challenge_ = state.learned_by == id_ && state.nc == 0;
    if (state.challenge.scheme == AuthScheme::basic) return basic_authorization(cred.user, cred.password);
    bool sess = state.challenge.algorithm == DigestAlgorithm::md5_sess ||
                state.challenge.algorithm == DigestAlgorithm::sha256_sess;
    std::string cnonce = sess ? state.cnonce : make_cnonce();
    DigestParams p{cred.user, cred.password, req_.method, url_.target, ++state.nc, cnonce, req_.body};
    return digest_authorization(state.challenge, p);
}

void Exchange::send() {
    wire_ = {};
    wire_.version(11);
    wire_.method_string(req_.method);
    wire_.target(url_.target);
    wire_.set(bhttp::field::host, url_.host_header());
    wire_.set(bhttp::field::user_agent, core_->options.user_agent);
    for (const auto& h : req_.headers) {
        // The client owns framing, Host and (with credentials) Authorization.
        bhttp::field f = bhttp::string_to_field(h.name);
        if (f == bhttp::field::host || f == bhttp::field::content_length || f == bhttp::field::transfer_encoding)
            continue;
        if (f == bhttp::field::authorization && req_.credentials) continue;
        wire_.insert(h.name, h.value);
    }
    if (std::string auth = authorization(); !auth.empty()) wire_.set(bhttp::field::authorization, auth);
    wire_.body() = req_.body;
    if (!req_.body.empty() || req_.method == "POST" || req_.method == "PUT" || req_.method == "PATCH")
        wire_.prepare_payload();
    ++core_->exchanges;
    arm_phase(Phase::reading, timeouts_.read);
    conn_->visit([&](auto& stream) {
        bhttp::async_write(stream, wire_, [self = shared_from_this(), conn = conn_](const beast::error_code& ec, std::size_t) {
            self->on_written(ec);
        });
    });
}

void Exchange::on_written(const beast::error_code& ec) {
    if (finished_) return;
    if (ec) return io_failed(ec, "write");
    read_head();
}

// ---- response ------------------------------------------------------------------

void Exchange::read_head() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(core_->options.max_header_bytes));
    // Capped by us (collected bodies only, never streams). Not boost::none:
    // Beast 1.74 compares `len > none` as true and refuses every body.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    if (req_.method == "HEAD") parser_->skip(true);
    head_handled_ = false;
    raw_body_ = false;
    mode_ = Mode::collect;
    head_ = Response{};
    // Bytes already buffered may hold this response (after a 1xx).
    if (conn_->buffer.size() > 0 && !parse_buffered()) return;
    read_some();
}

// Raw socket reads, parsed here rather than by http::async_read_some: Beast
// would only complete once the head is whole, and the read-idle timeout must
// be reset by every byte, a slow head included.
void Exchange::read_some() {
    auto& buffer = conn_->buffer;
    // After a burst the grown buffer goes back once drained (RSS of many
    // mostly idle streams).
    if (read_size_ == kSmallRead && buffer.size() == 0 && buffer.capacity() > 2 * kSmallRead) buffer.shrink_to_fit();
    auto space = buffer.prepare(read_size_);
    conn_->visit([&](auto& stream) {
        stream.async_read_some(space, [self = shared_from_this(), conn = conn_](const beast::error_code& ec, std::size_t n) {
            self->on_read(ec, n);
        });
    });
}

void Exchange::on_read(const beast::error_code& ec, std::size_t bytes) {
    if (finished_) return;
    read_size_ = bytes >= read_size_ ? kLargeRead : kSmallRead; // a full read: more is waiting
    if (bytes > 0) {
        conn_->buffer.commit(bytes);
        received_any_ = true;
        last_activity_ = Clock::now(); // every byte resets the read-idle timeout
    }
    // Body bytes of a stream: parsed with the other reads of this round (see
    // ReadBatch). The head, errors and the end go on at once.
    if (!ec && bytes > 0 && mode_ == Mode::deliver) return read_batch_.add(shared_from_this());
    // A TLS peer closing without close_notify is how many devices end a
    // close-delimited body: treated as the end of the stream, like a TCP FIN.
    bool eof = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
    if (ec && !eof) return io_failed(ec, "read");
    if (!parse_buffered()) return;
    if (eof && raw_body_) return on_message_done(); // the close is the end of such a body
    if (eof) {
        if (!parser_->got_some()) return io_failed(asio::error::eof, "read");
        beast::error_code pe;
        parser_->put_eof(pe);
        if (pe) return io_failed(pe, "read");
        if (parser_->is_done()) return on_message_done();
        return io_failed(bhttp::error::partial_message, "read");
    }
    read_some();
}

bool Exchange::read_batched() { return !finished_ && parse_buffered(); }

asio::execution_context::id ReadBatch::id;

void ReadBatch::add(std::shared_ptr<Exchange> exchange) {
    // Posted once per batch, behind the handlers already ready in this round.
    if (ready_.empty()) asio::post(io_, [this] { run(); });
    ready_.push_back(std::move(exchange));
}

void ReadBatch::run() {
    // A callback may cancel exchanges of this batch: a cancelled one is
    // finished and skipped. Reads started here complete later, through add().
    running_.swap(ready_);
    reading_.clear();
    for (auto& exchange : running_)
        if (exchange->read_batched()) reading_.push_back(exchange.get());
    for (Exchange* exchange : reading_)
        if (!exchange->finished_) exchange->read_some();
    reading_.clear();
    running_.clear(); // releases exchanges finished meanwhile
}

// Feeds the buffered bytes to the parser and acts on the head and body they
// yield. False when the exchange moved on (finished, failed, message done).
bool Exchange::parse_buffered() {
    auto& buffer = conn_->buffer;
    // A close-delimited stream body no longer goes through the parser (which
    // stays not done): its state, cold with 1,000 streams, is not even read.
    if (raw_body_) return buffer.size() == 0 || deliver_raw();
    // Bounded: each round consumes input or produces body, else it stops.
    while (buffer.size() > 0 && !parser_->is_done()) {
        auto& body = parser_->get().body();
        body.data = chunk_.data();
        body.size = chunk_.size();
        beast::error_code ec;
        std::size_t used = parser_->put(buffer.data(), ec);
        buffer.consume(used);
        std::size_t produced = chunk_.size() - body.size;
        bool need_more = ec == bhttp::error::need_more;
        if (need_more || ec == bhttp::error::need_buffer) ec = {};
        if (ec) {
            io_failed(ec, "read");
            return false;
        }
        if (!head_handled_ && parser_->is_header_done()) {
            head_handled_ = true;
            if (!on_head()) return false;
        }
        if (produced > 0 && !on_body(chunk_.data(), produced)) return false;
        if (need_more || (used == 0 && produced == 0)) break;
    }
    if (parser_->is_done()) {
        on_message_done();
        return false;
    }
    return true;
}

// A streamed body that ends when the peer closes (no Content-Length, not
// chunked: how cameras send their event streams) is every byte that comes:
// handed over straight from the read buffer, without going through Beast's
// parser and a copy into chunk_ first (per event part, on a stream).
bool Exchange::deliver_raw() {
    auto conn = conn_; // the callback may cancel us, which releases conn_
    auto data = conn->buffer.data();
    const std::size_t n = data.size();
    const bool more = on_body(static_cast<const char*>(data.data()), n);
    conn->buffer.consume(n);
    return more;
}

bool Exchange::on_head() {
    const auto& msg = parser_->get();
    head_.status = static_cast<int>(msg.result_int());
    head_.reason = std::string(msg.reason());
    for (const auto& field : msg) head_.headers.push_back({std::string(field.name_string()), std::string(field.value())});
    if (auto ra = head_.header("Retry-After")) head_.retry_after = parse_retry_after(*ra);
    int status = head_.status;

    if (status >= 100 && status < 200 && status != 101) {
        mode_ = Mode::interim; // 100 Continue and friends: the real head follows
        return true;
    }
    // Credentials answer only the origin they were given for, never the
    // target of a cross-origin redirect.
    if (status == 401 && req_.credentials && url_.origin() == first_origin_) {
        if (!handle_401(head_)) return false;
        mode_ = Mode::discard;
        next_ = Next::retry;
    } else if (is_redirect(status) && head_.header("Location")) {
        if (!handle_redirect(head_)) return false;
        mode_ = Mode::discard;
        next_ = Next::retry;
    } else if (streaming_ && status >= 200 && status < 300) {
        mode_ = Mode::deliver;
        total_timer_.cancel(); // a stream may last for days; only read idle applies now
        raw_body_ = !parser_->is_done() && !parser_->chunked() && !parser_->content_length();
        if (callbacks_.on_head) {
            callbacks_.on_head(head_);
            if (finished_) return false; // the callback cancelled the stream
        }
        return true;
    } else {
        mode_ = Mode::collect;
    }
    if (auto length = parser_->content_length(); length && *length > max_bytes_) {
        fail(ErrorKind::too_large, "response body of " + std::to_string(*length) + " bytes exceeds the " +
                                       std::to_string(max_bytes_) + " bytes cap");
        return false;
    }
    return true;
}

bool Exchange::handle_401(const Response& head) {
    std::vector<std::string> values;
    for (const auto& h : head.headers)
        if (beast::iequals(h.name, "WWW-Authenticate")) values.push_back(h.value);
    auto challenges = parse_challenges(values);
    auto best = choose_challenge(challenges);
    if (!best) {
        std::string offered;
        for (const auto& c : challenges) offered += (offered.empty() ? "" : ", ") + c.scheme_name;
        Response r = head;
        r.error = ErrorKind::auth_failed;
        r.realm = challenges.empty() ? "" : challenges.front().realm;
        r.message = "no supported authentication scheme offered" + (offered.empty() ? "" : " (" + offered + ")");
        finish(std::move(r));
        return false;
    }
    bool stale = best->scheme == AuthScheme::digest && best->stale;
    bool refused = sent_credentials_ && sent_own_challenge_ && !(stale && !stale_retried_);
    if (refused || ++auth_rounds_ > 3) {
        Response r = head;
        r.error = ErrorKind::auth_failed;
        r.realm = best->realm;
        r.message = "credentials refused (HTTP 401)";
        finish(std::move(r));
        return false;
    }
    if (stale && sent_own_challenge_) stale_retried_ = true;
    core_->auth[url_.origin()] = AuthState{*best, 0, id_, make_cnonce()};
    return true;
}

bool Exchange::handle_redirect(const Response& head) {
    int max = core_->options.max_redirects;
    if (redirects_ >= max) {
        Response r = head;
        r.error = ErrorKind::redirect_refused;
        r.message = "HTTP " + std::to_string(head.status) + " redirect refused (max_redirects = " + std::to_string(max) +
                    "); see the Location header";
        finish(std::move(r));
        return false;
    }
    auto target = resolve_location(url_, *head.header("Location"));
    if (!target) {
        Response r = head;
        r.error = ErrorKind::redirect_refused;
        r.message = "unusable redirect Location";
        finish(std::move(r));
        return false;
    }
    ++redirects_;
    if (head.status == 303 || ((head.status == 301 || head.status == 302) && req_.method == "POST")) {
        req_.method = "GET";
        req_.body.clear();
    }
    // The pool and the auth cache are per origin: the next attempt picks both
    // for the new URL, and never sends this origin's credentials elsewhere.
    pending_url_ = std::move(*target);
    return true;
}

bool Exchange::on_body(const char* data, std::size_t n) {
    switch (mode_) {
    case Mode::deliver:
        if (callbacks_.on_data) callbacks_.on_data(std::string_view(data, n));
        return !finished_;
    case Mode::interim:
        return true;
    case Mode::collect:
    case Mode::discard:
        if (head_.body.size() + n > max_bytes_) {
            fail(ErrorKind::too_large, "response body exceeds the " + std::to_string(max_bytes_) + " bytes cap");
            return false;
        }
        if (mode_ == Mode::collect) head_.body.append(data, n);
        else discarded_ += n;
        if (mode_ == Mode::discard && discarded_ > max_bytes_) {
            fail(ErrorKind::too_large, "response body exceeds the " + std::to_string(max_bytes_) + " bytes cap");
            return false;
        }
        return true;
    }
    return true;
}

void Exchange::on_message_done() {
    if (mode_ == Mode::interim) return read_head();
    bool keep_alive = parser_->keep_alive();
    parser_.reset();
    release_connection(keep_alive);
    if (next_ == Next::retry) {
        if (pending_url_) {
            url_ = std::move(*pending_url_);
            pending_url_.reset();
        }
        discarded_ = 0;
        return begin_attempt();
    }
    Response r = std::move(head_);
    if (mode_ == Mode::deliver) {
        r.error = ErrorKind::none;
        r.message = "the server ended the stream";
    } else if (r.status >= 200 && r.status < 300) {
        r.error = ErrorKind::none;
    } else {
        r.error = ErrorKind::http_status;
        r.message = "HTTP " + std::to_string(r.status) + (r.reason.empty() ? "" : " " + r.reason);
    }
    finish(std::move(r));
}

// ---- errors and the end --------------------------------------------------------

void Exchange::io_failed(const beast::error_code& ec, const char* what) {
    if (finished_) return;
    if (!timed_out_.empty()) return fail(ErrorKind::timeout, timed_out_);
    // A pooled connection the server closed while idle: retry once, fresh.
    if (conn_reused_ && !received_any_ && !reuse_retried_ && is_stale_connection_error(ec)) {
        reuse_retried_ = true;
        release_connection(false);
        return connect();
    }
    if (ec == bhttp::error::header_limit)
        return fail(ErrorKind::too_large, "response head exceeds " + std::to_string(core_->options.max_header_bytes) +
                                              " bytes");
    std::string message = std::string(what) + ": " + ec.message();
    if (head_handled_ && mode_ == Mode::deliver) message = "stream interrupted: " + ec.message();
    fail(ErrorKind::transport, std::move(message));
}

void Exchange::fail(ErrorKind kind, std::string message) {
    Response r = head_handled_ ? std::move(head_) : Response{};
    r.error = kind;
    r.message = std::move(message);
    finish(std::move(r));
}

void Exchange::finish(Response response) {
    if (finished_) return;
    finished_ = true;
    active_ = false;
    stop_timers();
    release_connection(false);
    auto done = std::move(done_);
    auto on_end = std::move(callbacks_.on_end);
    callbacks_ = StreamCallbacks{};
    if (done) done(std::move(response));
    else if (on_end) on_end(std::move(response));
}

// ---- timers --------------------------------------------------------------------

void Exchange::arm_total() {
    total_timer_.expires_after(timeouts_.total);
    total_timer_.async_wait([self = shared_from_this()](const beast::error_code& ec) {
        if (ec || self->finished_) return;
        self->on_timeout("no complete response within the total timeout of " + ms_text(self->timeouts_.total));
    });
}

void Exchange::arm_phase(Phase phase, std::chrono::milliseconds limit) {
    phase_ = phase;
    phase_limit_ = limit;
    last_activity_ = Clock::now();
    phase_timer_.expires_at(last_activity_ + limit);
    wait_phase(++phase_generation_);
}

void Exchange::wait_phase(uint64_t generation) {
    phase_timer_.async_wait([self = shared_from_this(), generation](const beast::error_code& ec) {
        if (ec || self->finished_ || generation != self->phase_generation_) return;
        auto deadline = self->last_activity_ + self->phase_limit_;
        if (self->phase_ == Phase::reading && Clock::now() < deadline) {
            // Bytes arrived since the timer was set: wait for the rest of the window.
            self->phase_timer_.expires_at(deadline);
            return self->wait_phase(generation);
        }
        if (self->phase_ == Phase::connecting)
            self->on_timeout("connect to " + self->url_.host_header() + " timed out after " + ms_text(self->phase_limit_));
        else
            self->on_timeout("no byte received for " + ms_text(self->phase_limit_) + " (read timeout)");
    });
}

void Exchange::on_timeout(std::string why) {
    if (!timed_out_.empty()) return;
    timed_out_ = std::move(why);
    // Closing makes the pending operation complete with an error, which
    // io_failed() reports as this timeout.
    resolver_.cancel();
    if (conn_) conn_->close();
    else fail(ErrorKind::timeout, timed_out_);
}

void Exchange::stop_timers() {
    ++phase_generation_;
    total_timer_.cancel();
    phase_timer_.cancel();
    resolver_.cancel();
}

} // namespace passerelle::http::detail
