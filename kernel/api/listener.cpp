#include "api/listener.hpp"

#include "api/http_session.hpp"
#include "api/listen_address.hpp"

#include <boost/asio/write.hpp>

#include <spdlog/spdlog.h>

#include <stdexcept>

namespace passerelle::kernel::api {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

Listener::Listener(asio::io_context& ioc, const tcp::endpoint& endpoint, std::shared_ptr<ServerState> state)
    : ioc_(ioc), acceptor_(ioc), retry_timer_(ioc), state_(std::move(state)) {
    std::string where = format_endpoint(endpoint.address().to_string(), endpoint.port());
    boost::system::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec); // restart over TIME_WAIT
    if (!ec) acceptor_.bind(endpoint, ec);
    if (ec == asio::error::address_in_use)
        throw std::runtime_error(where + " is already in use; set [daemon.api] listen to another port");
    if (ec == boost::system::errc::address_not_available)
        throw std::runtime_error("cannot listen on " + where + ": no such address on this host; set [daemon.api] listen");
    if (ec == asio::error::access_denied)
        throw std::runtime_error("cannot listen on " + where + ": permission denied (ports below 1024 need privileges)");
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
}

void Listener::start() { do_accept(); }

void Listener::close() {
    boost::system::error_code ec;
    acceptor_.close(ec);
    retry_timer_.cancel();
}

void Listener::do_accept() {
    // Each session gets its own socket on the single io thread: no strand needed.
    acceptor_.async_accept(ioc_, [self = shared_from_this()](boost::system::error_code ec, tcp::socket socket) {
        self->on_accept(ec, std::move(socket));
    });
}

void Listener::on_accept(boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
        // EMFILE and friends: back off a little instead of spinning on the error.
        spdlog::warn("api: accept failed: {}", ec.message());
        retry_timer_.expires_after(std::chrono::milliseconds(100));
        retry_timer_.async_wait([self = shared_from_this()](boost::system::error_code wait_ec) {
            if (!wait_ec) self->do_accept();
        });
        return;
    }
    if (state_->live.size() >= state_->limits.max_connections) {
        refuse_busy(std::move(socket));
    } else {
        std::make_shared<HttpSession>(std::move(socket), state_)->start();
    }
    do_accept();
}

void Listener::refuse_busy(tcp::socket socket) {
    static const std::string busy_body = R"({"error":"too many connections"})";
    static const std::string busy = "HTTP/1.1 503 Service Unavailable\r\nServer: passerelle\r\n"
                                    "Content-Type: application/json\r\nContent-Length: " +
                                    std::to_string(busy_body.size()) + "\r\nConnection: close\r\n\r\n" + busy_body;
    spdlog::warn("api: refusing a connection: {} connections already open", state_->live.size());
    auto s = std::make_shared<tcp::socket>(std::move(socket));
    asio::async_write(*s, asio::buffer(busy), [s](boost::system::error_code, size_t) {
        boost::system::error_code ignored;
        s->shutdown(tcp::socket::shutdown_both, ignored);
        s->close(ignored);
    });
}

} // namespace passerelle::kernel::api
