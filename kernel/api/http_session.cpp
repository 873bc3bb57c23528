#include "api/http_session.hpp"

#include "api/action_params.hpp"
#include "api/api_routes.hpp"
#include "api/event_filter.hpp"
#include "api/query_string.hpp"
#include "api/sse_stream.hpp"
#include "api/token_auth.hpp"
#include "api/url_mask.hpp"

#include <passerelle/abi.h>

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/asio/write.hpp>

#include <spdlog/spdlog.h>

#include <atomic>

namespace passerelle::kernel::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

static std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

static std::string remote_of(const tcp::socket& s) {
    boost::system::error_code ec;
    auto ep = s.remote_endpoint(ec);
    return ec ? std::string("?") : ep.address().to_string() + ":" + std::to_string(ep.port());
}

HttpSession::HttpSession(tcp::socket socket, std::shared_ptr<ServerState> state)
    : stream_(std::move(socket)), state_(std::move(state)), action_timer_(stream_.get_executor()) {
    remote_ = remote_of(stream_.socket());
}

HttpSession::~HttpSession() { state_->remove(id_); }

void HttpSession::start() {
    id_ = state_->add(weak_from_this());
    do_read();
}

void HttpSession::close() {
    if (closed_) return;
    closed_ = true;
    pending_action_ = 0;
    action_timer_.cancel();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
}

void HttpSession::do_read() {
    if (closed_) return;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(state_->limits.max_header_bytes));
    parser_->body_limit(state_->limits.max_body_bytes);
    stream_.expires_after(state_->limits.read_timeout);
    // The header first: a client sending `Expect: 100-continue` (curl does for
    // bodies over 1 KiB) waits for our go-ahead before it sends the body.
    http::async_read_header(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
        self->on_header(ec);
    });
}

void HttpSession::on_header(beast::error_code ec) {
    if (closed_) return;
    if (ec || parser_->is_done()) {
        on_read(ec);
        return;
    }
    auto read_body = [self = shared_from_this()] {
        http::async_read(self->stream_, self->buffer_, *self->parser_,
                         [self](beast::error_code read_ec, size_t) { self->on_read(read_ec); });
    };
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
        static const std::string go_ahead = "HTTP/1.1 100 Continue\r\n\r\n";
        asio::async_write(stream_, asio::buffer(go_ahead),
                          [self = shared_from_this(), read_body](beast::error_code write_ec, size_t) {
                              if (write_ec) self->close();
                              else read_body();
                          });
        return;
    }
    read_body();
}

void HttpSession::on_read(beast::error_code ec) {
    if (closed_) return;
    method_.clear();
    masked_target_.clear();
    keep_alive_ = false;
    xml_ = false;
    started_ = std::chrono::steady_clock::now();
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::error::eof) {
        close(); // the client left, or an idle keep-alive connection timed out
        return;
    }
    if (ec == http::error::body_limit) {
        respond(error_response(413, "request body larger than " + std::to_string(state_->limits.max_body_bytes) +
                                        " bytes"),
                true);
        return;
    }
    if (ec == http::error::header_limit) {
        respond(error_response(431, "request header larger than " +
                                        std::to_string(state_->limits.max_header_bytes) + " bytes"),
                true);
        return;
    }
    if (ec) {
        if (&ec.category() == &http::make_error_code(http::error::bad_target).category()) {
            respond(error_response(400, "malformed HTTP request: " + ec.message()), true);
        } else {
            spdlog::debug("api: {} read failed: {}", remote_, ec.message());
            close();
        }
        return;
    }
    Request req = parser_->release();
    handle(req);
}

void HttpSession::handle(Request& req) {
    method_ = std::string(sv(req.method_string()));
    std::string_view target = sv(req.target());
    masked_target_ = mask_token_in_target(target);
    version_ = req.version();
    keep_alive_ = req.keep_alive();

    auto [path, query_text] = split_target(target);
    QueryParams query = parse_query(query_text);
    Route route = match_route(method_, path);
    xml_ = route.endpoint == Endpoint::action && query_value(query, "format") == "xml";

    if (route.endpoint != Endpoint::healthz &&
        !is_authorized(state_->options.token, sv(req[http::field::authorization]), query)) {
        ApiResponse r = error_response(401, "missing or wrong API token", xml_);
        r.headers.emplace_back("WWW-Authenticate", R"(Bearer realm="passerelle")");
        respond(std::move(r));
        return;
    }
    if (route.endpoint == Endpoint::not_found) {
        respond(error_response(404, "no such endpoint: " + std::string(path)));
        return;
    }
    if (!route.method_allowed) {
        ApiResponse r = error_response(405, "method " + method_ + " not allowed here", xml_);
        r.headers.emplace_back("Allow", route.allow);
        respond(std::move(r));
        return;
    }
    try {
        switch (route.endpoint) {
        case Endpoint::healthz: respond(ApiResponse{200, std::string(kJsonType), R"({"status":"ok"})", {}}); return;
        case Endpoint::metrics:
            respond(ApiResponse{200, std::string(kMetricsType), state_->backend.metrics_text(), {}});
            return;
        case Endpoint::instances:
            respond(ApiResponse{200, std::string(kJsonType), state_->backend.instances_json(), {}});
            return;
        case Endpoint::events: start_events(req); return;
        case Endpoint::action: {
            ActionParams params = build_action_params(query, sv(req[http::field::content_type]), req.body());
            if (params.error_status) {
                respond(error_response(params.error_status, params.error, xml_, params.error_status == 400 ? "invalid" : ""));
                return;
            }
            start_action(route.instance, route.action, std::move(params.json));
            return;
        }
        case Endpoint::not_found: break;
        }
    } catch (const std::exception& e) {
        spdlog::error("api: {} {} failed: {}", method_, masked_target_, e.what());
        respond(error_response(500, "internal error", xml_, "internal"));
        return;
    }
    respond(error_response(404, "no such endpoint"));
}

void HttpSession::start_action(const std::string& instance, const std::string& action, std::string params) {
    uint64_t seq = ++action_seq_;
    pending_action_ = seq;
    auto timeout = state_->options.action_timeout;
    action_timer_.expires_after(timeout);
    action_timer_.async_wait([self = shared_from_this(), seq, timeout, instance, action](beast::error_code ec) {
        if (ec || self->pending_action_ != seq) return;
        self->pending_action_ = 0;
        spdlog::warn("api: action {}.{} did not answer within {} ms", instance, action, timeout.count());
        self->respond(error_response(504,
                                     "timeout after " + std::to_string(timeout.count()) + " ms waiting for " +
                                         instance + "." + action,
                                     self->xml_, "timeout"));
    });

    // `done` may run on any thread, now or much later (even after the server
    // stopped): it only posts, and holds the session weakly.
    std::weak_ptr<HttpSession> weak = shared_from_this();
    auto poster = state_->poster;
    auto called = std::make_shared<std::atomic<bool>>(false);
    ApiBackend::ActionDone done = [weak, poster, seq, called](int32_t status, std::string result) {
        if (called->exchange(true)) return; // a module calling twice is ignored, not a crash
        poster->post([weak, seq, status, result = std::move(result)]() mutable {
            if (auto self = weak.lock()) self->on_action_done(seq, status, std::move(result));
        });
    };
    try {
        state_->backend.invoke_action(instance, action, std::move(params), std::move(done));
    } catch (const std::exception& e) {
        spdlog::error("api: action {}.{} threw: {}", instance, action, e.what());
        pending_action_ = 0;
        action_timer_.cancel();
        respond(error_response(500, "internal error", xml_, "internal"));
    }
}

void HttpSession::on_action_done(uint64_t seq, int32_t status, std::string result) {
    if (closed_ || pending_action_ != seq) return; // answered already (timeout): drop the late result
    pending_action_ = 0;
    action_timer_.cancel();
    respond(action_response(status, result, xml_));
}

void HttpSession::start_events(const Request& req) {
    if (state_->sse_clients >= state_->options.max_sse_clients) {
        respond(error_response(503, "too many event stream clients (max " +
                                        std::to_string(state_->options.max_sse_clients) + ")"));
        return;
    }
    auto [path, query_text] = split_target(sv(req.target()));
    (void)path;
    EventFilter filter = EventFilter::from_query(parse_query(query_text));
    log_request(200);
    // The SSE stream owns the socket from now on; this session ends here.
    stream_.expires_never();
    auto sse = std::make_shared<SseStream>(stream_.release_socket(), state_, std::move(filter), remote_);
    closed_ = true;
    sse->start();
}

void HttpSession::respond(ApiResponse r, bool force_close) {
    if (closed_) return;
    log_request(r.status);
    res_ = {};
    res_.result(r.status);
    res_.version(version_);
    res_.set(http::field::server, "passerelle");
    res_.set(http::field::content_type, r.content_type);
    res_.set(http::field::cache_control, "no-store");
    for (auto& [name, value] : r.headers) res_.set(name, value);
    res_.keep_alive(keep_alive_ && !force_close);
    res_.body() = std::move(r.body);
    res_.prepare_payload();
    stream_.expires_after(state_->limits.write_timeout);
    http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, size_t) {
        self->on_write(ec, self->res_.need_eof());
    });
}

void HttpSession::on_write(beast::error_code ec, bool close_after) {
    if (closed_) return;
    if (ec) {
        spdlog::debug("api: {} write failed: {}", remote_, ec.message());
        close();
        return;
    }
    if (close_after) {
        linger_then_close();
        return;
    }
    do_read();
}

void HttpSession::linger_then_close() {
    // Half-close, then read and discard what the client still sends (the rest of
    // a refused 2 MiB body, say) until it closes too, for at most a second.
    // Closing with unread data would send a TCP reset, and a reset can make the
    // client lose the answer it has not read yet.
    if (!lingering_) {
        lingering_ = true;
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        stream_.expires_after(std::chrono::seconds(1)); // one deadline for the whole linger
    }
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(16 * 1024), [self = shared_from_this()](beast::error_code ec, size_t) {
        if (self->closed_) return;
        if (ec) self->close();
        else self->linger_then_close();
    });
}

void HttpSession::log_request(unsigned status) const {
    // The target is masked (token=***) and headers are never logged: no secret reaches the log.
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_);
    spdlog::debug("api: {} {} {} -> {} ({} ms)", remote_, method_.empty() ? "-" : method_,
                  masked_target_.empty() ? "-" : masked_target_, status, ms.count());
}

} // namespace passerelle::kernel::api
