// Accepts connections and hands each to an HttpSession. Internal (Asio).
#pragma once

#include "api/server_state.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>

namespace passerelle::kernel::api {

class Listener : public std::enable_shared_from_this<Listener> {
public:
    // Binds and listens now, so that errors (port in use) reach start_api_server's caller.
    Listener(boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& endpoint,
             std::shared_ptr<ServerState> state);
    void start();
    void close(); // io thread
    boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

private:
    void do_accept();
    void on_accept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);
    void refuse_busy(boost::asio::ip::tcp::socket socket);

    boost::asio::io_context& ioc_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer retry_timer_;
    std::shared_ptr<ServerState> state_;
};

} // namespace passerelle::kernel::api
