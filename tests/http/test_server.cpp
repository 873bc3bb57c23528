#include "test_server.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <optional>
#include <sys/socket.h>

namespace test {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

struct TestServer::Impl {
    asio::io_context io;
    tcp::acceptor acceptor{io};
    std::optional<asio::ssl::context> tls;
    std::mutex mutex;
    std::vector<int> fds;
    std::vector<std::thread> threads;
    std::vector<std::string> sni; // guarded by mutex
};

namespace {

template <class Stream>
class StreamPeer final : public Peer {
public:
    explicit StreamPeer(Stream& s) : stream_(s) {}
    bool write(std::string_view bytes) override {
        boost::system::error_code ec;
        asio::write(stream_, asio::buffer(bytes.data(), bytes.size()), ec);
        return !ec;
    }

private:
    Stream& stream_;
};

// Reads requests and hands them to the handler until either side stops.
template <class Stream>
void request_loop(Stream& stream, int number, const Handler& handler, TestServer* server, std::atomic<int>& requests,
                  std::atomic<int>& closed) {
    boost::beast::flat_buffer buffer;
    for (;;) {
        bhttp::request<bhttp::string_body> req;
        boost::system::error_code ec;
        bhttp::read(stream, buffer, req, ec);
        if (ec) {
            ++closed;
            return;
        }
        ServerRequest r;
        r.method = std::string(req.method_string());
        r.target = std::string(req.target());
        for (const auto& f : req) {
            std::string name(f.name_string());
            std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
            r.headers[name] = std::string(f.value());
        }
        r.body = req.body();
        r.connection = number;
        ++requests;
        StreamPeer<Stream> peer(stream);
        peer.server = server;
        if (!handler(r, peer) || server->stopping()) return;
    }
}

} // namespace

bool Peer::pause(std::chrono::milliseconds d) {
    std::unique_lock lock(server->mutex_);
    return !server->cv_.wait_for(lock, d, [&] { return server->stopping(); });
}

std::vector<std::string> TestServer::sni_names() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->sni;
}

TestServer::TestServer(Handler handler, const TlsFiles* tls) : handler_(std::move(handler)), impl_(std::make_unique<Impl>()) {
    if (tls) {
        impl_->tls.emplace(asio::ssl::context::tls_server);
        impl_->tls->use_certificate_chain_file(tls->cert);
        impl_->tls->use_private_key_file(tls->key, asio::ssl::context::pem);
        // Record the name each client asks for (SNI), for the tests that check it is sent.
        SSL_CTX_set_tlsext_servername_arg(impl_->tls->native_handle(), impl_.get());
        SSL_CTX_set_tlsext_servername_callback(impl_->tls->native_handle(), +[](SSL* ssl, int*, void* arg) -> int {
            auto* impl = static_cast<Impl*>(arg);
            const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
            std::lock_guard lock(impl->mutex);
            impl->sni.emplace_back(name ? name : "");
            return SSL_TLSEXT_ERR_OK;
        });
    }
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    impl_->acceptor.open(ep.protocol());
    impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
    impl_->acceptor.bind(ep);
    impl_->acceptor.listen();
    port_ = impl_->acceptor.local_endpoint().port();
    acceptor_thread_ = std::thread([this] { accept_loop(); });
}

TestServer::~TestServer() {
    stopping_ = true;
    cv_.notify_all();
    {
        // Wake the blocking accept() with one last connection.
        asio::io_context io;
        tcp::socket s(io);
        boost::system::error_code ec;
        s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
        acceptor_thread_.join();
    }
    std::vector<std::thread> threads;
    {
        std::lock_guard lock(impl_->mutex);
        for (int fd : impl_->fds) ::shutdown(fd, SHUT_RDWR);
        threads = std::move(impl_->threads);
    }
    for (auto& t : threads) t.join();
}

std::string TestServer::url(std::string_view path, bool https) const {
    return std::string(https ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

bool TestServer::wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (pred()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return pred();
}

void TestServer::accept_loop() {
    while (!stopping_) {
        auto socket = std::make_shared<tcp::socket>(impl_->io);
        boost::system::error_code ec;
        impl_->acceptor.accept(*socket, ec);
        if (stopping_) return;
        if (ec) continue;
        int number = ++connections_;
        std::lock_guard lock(impl_->mutex);
        int fd = socket->native_handle();
        impl_->fds.push_back(fd);
        impl_->threads.emplace_back([this, socket, number, fd] {
            if (impl_->tls) {
                asio::ssl::stream<tcp::socket&> stream(*socket, *impl_->tls);
                boost::system::error_code hec;
                stream.handshake(asio::ssl::stream_base::server, hec);
                if (!hec) request_loop(stream, number, handler_, this, requests_, closed_);
            } else {
                request_loop(*socket, number, handler_, this, requests_, closed_);
            }
            std::lock_guard l(impl_->mutex);
            impl_->fds.erase(std::remove(impl_->fds.begin(), impl_->fds.end(), fd), impl_->fds.end());
            boost::system::error_code ignored;
            socket->shutdown(tcp::socket::shutdown_both, ignored);
            socket->close(ignored);
        });
    }
}

std::string response(int status, const std::string& reason, const std::vector<std::string>& headers,
                     const std::string& body) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
    for (const auto& h : headers) out += h + "\r\n";
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    out += body;
    return out;
}

} // namespace test
