// start_api_server: resolves the listen address, refuses unsafe setups, binds,
// and runs one io_context on one thread owned by the returned server.
#include "api/api_server.hpp"

#include <passerelle/thread_name.hpp>

#include "api/listen_address.hpp"
#include "api/listener.hpp"
#include "api/server_limits.hpp"
#include "api/server_state.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <spdlog/spdlog.h>

#include <stdexcept>
#include <thread>

namespace passerelle::kernel {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

bool is_loopback(const asio::ip::address& a) {
    if (a.is_loopback()) return true;
    if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).is_loopback();
    return false;
}

tcp::endpoint resolve(asio::io_context& ioc, const api::ListenAddress& where, const std::string& text) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(where.host, ec);
    if (!ec) return {address, where.port};
    tcp::resolver resolver(ioc);
    auto results = resolver.resolve(where.host, std::to_string(where.port), ec);
    if (ec || results.empty())
        throw std::runtime_error("cannot resolve API listen address '" + text + "': " +
                                 (ec ? ec.message() : std::string("no address")));
    return results.begin()->endpoint();
}

class ApiServerImpl final : public ApiServer {
public:
    ApiServerImpl(const ApiOptions& options, ApiBackend& backend, const ApiLimits& limits)
        : ioc_(std::make_unique<asio::io_context>(1)) {
        auto where = api::parse_listen_address(options.listen);
        tcp::endpoint endpoint = resolve(*ioc_, where, options.listen);
        if (!is_loopback(endpoint.address()) && options.token.empty())
            throw std::runtime_error("refusing to serve the control API on " + options.listen +
                                     " without a token: anyone on the network could run actions; set "
                                     "[daemon.api] token_file, or listen on 127.0.0.1");
        poster_ = std::make_shared<api::IoPoster>(*ioc_);
        state_ = std::make_shared<api::ServerState>(options, limits, backend, poster_);
        listener_ = std::make_shared<api::Listener>(*ioc_, endpoint, state_);
        auto local = listener_->local_endpoint();
        endpoint_ = api::format_endpoint(local.address().to_string(), local.port());
        listener_->start();
        thread_ = std::thread([this] { run(); });
        set_thread_name(thread_, "api");
        spdlog::info("api: listening on http://{}{}", endpoint_, options.token.empty() ? " (no token)" : "");
    }

    ~ApiServerImpl() override { stop(); }

    void stop() override {
        if (stopped_) return;
        stopped_ = true;
        // Close the listener and every connection on the io thread, then stop it.
        asio::post(*ioc_, [this] {
            listener_->close();
            auto live = state_->live; // close() may erase from the map
            for (auto& [id, weak] : live)
                if (auto c = weak.lock()) c->close();
            ioc_->stop();
        });
        if (thread_.joinable()) thread_.join();
        poster_->disable();
        listener_.reset();
        ioc_.reset(); // destroys pending handlers, and with them the last sessions
    }

    std::string local_endpoint() const override { return endpoint_; }

private:
    void run() {
        // A handler that throws must not end the API silently: log and keep serving.
        while (true) {
            try {
                ioc_->run();
                return;
            } catch (const std::exception& e) {
                spdlog::error("api: unexpected exception in the io thread: {}", e.what());
            }
        }
    }

    std::unique_ptr<asio::io_context> ioc_;
    std::shared_ptr<api::IoPoster> poster_;
    std::shared_ptr<api::ServerState> state_;
    std::shared_ptr<api::Listener> listener_;
    std::thread thread_;
    std::string endpoint_;
    bool stopped_ = false;
};

} // namespace

std::unique_ptr<ApiServer> start_api_server(const ApiOptions& options, ApiBackend& backend, const ApiLimits& limits) {
    return std::make_unique<ApiServerImpl>(options, backend, limits);
}

std::unique_ptr<ApiServer> start_api_server(const ApiOptions& options, ApiBackend& backend) {
    return start_api_server(options, backend, ApiLimits{});
}

} // namespace passerelle::kernel
