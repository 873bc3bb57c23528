// One HTTP/1.1 connection: read a request, answer, repeat while keep-alive.
// Actions answer asynchronously (backend thread -> IoPoster -> here) or time
// out; GET /api/v1/events hands the socket over to an SseStream. Internal.
#pragma once

#include "api/responses.hpp"
#include "api/server_state.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace passerelle::kernel::api {

class HttpSession : public Connection, public std::enable_shared_from_this<HttpSession> {
public:
    HttpSession(boost::asio::ip::tcp::socket socket, std::shared_ptr<ServerState> state);
    ~HttpSession() override;
    void start();
    void close() override;

private:
    using Request = boost::beast::http::request<boost::beast::http::string_body>;

    void do_read();
    void on_header(boost::beast::error_code ec);
    void on_read(boost::beast::error_code ec);
    void handle(Request& req);
    void start_action(const std::string& instance, const std::string& action, std::string params);
    void on_action_done(uint64_t seq, int32_t status, std::string result);
    void start_events(const Request& req);
    void respond(ApiResponse r, bool force_close = false);
    void on_write(boost::beast::error_code ec, bool close);
    void linger_then_close();
    void log_request(unsigned status) const;

    boost::beast::tcp_stream stream_;
    boost::beast::flat_buffer buffer_;
    std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
    std::shared_ptr<ServerState> state_;
    boost::asio::steady_timer action_timer_;
    boost::beast::http::response<boost::beast::http::string_body> res_; // alive while written
    std::string remote_;
    uint64_t id_ = 0;
    bool closed_ = false;
    bool lingering_ = false;

    // the request being answered
    std::string method_;
    std::string masked_target_;
    unsigned version_ = 11;
    bool keep_alive_ = false;
    bool xml_ = false;
    std::chrono::steady_clock::time_point started_;
    uint64_t action_seq_ = 0;
    uint64_t pending_action_ = 0; // 0 = none; else the seq whose answer is awaited
};

} // namespace passerelle::kernel::api
