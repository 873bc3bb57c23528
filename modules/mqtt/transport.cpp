#include "transport.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include <openssl/ssl.h>

#include <array>
#include <optional>
#include <stdexcept>

namespace mqtt {

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Big enough that a burst of PUBACKs (4 bytes each) arrives in one read.
constexpr size_t read_buffer_size = 64 * 1024;

std::string describe(const boost::system::error_code& ec) {
    if (ec == asio::error::eof) return "the broker closed the connection";
    if (ec.category() == asio::error::get_ssl_category()) {
        std::string what = ec.message();
        if (what.find("certificate verify failed") != std::string::npos)
            what += " (see ca_file, or verify_tls = false)";
        return "TLS: " + what;
    }
    return ec.message();
}

// Plain TCP or TLS over TCP; the code paths only differ by the stream used.
class AsioTransport final : public Transport {
public:
    AsioTransport(asio::io_context& io, const TlsOptions& tls) : resolver_(io), socket_(io) {
        if (!tls.enabled) return;
        ctx_.emplace(asio::ssl::context::tls_client);
        ctx_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                          asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
        boost::system::error_code ec;
        if (!tls.ca_file.empty()) ctx_->load_verify_file(tls.ca_file, ec);
        else ctx_->set_default_verify_paths(ec);
        if (ec) throw std::runtime_error("cannot load the CA file: " + ec.message());
        if (!tls.client_cert.empty()) {
            ctx_->use_certificate_chain_file(tls.client_cert, ec);
            if (ec) throw std::runtime_error("cannot load client_cert: " + ec.message());
            ctx_->use_private_key_file(tls.client_key.empty() ? tls.client_cert : tls.client_key, asio::ssl::context::pem, ec);
            if (ec) throw std::runtime_error("cannot load client_key: " + ec.message());
        }
        verify_ = tls.verify;
        ctx_->set_verify_mode(verify_ ? asio::ssl::verify_peer : asio::ssl::verify_none);
        tls_.emplace(socket_, *ctx_);
    }

    void connect(const std::string& host, int port, ConnectDone done) override {
        host_ = host;
        resolver_.async_resolve(host, std::to_string(port), [self = shared(), done = std::move(done)](
                                                                const boost::system::error_code& ec, tcp::resolver::results_type r) {
            if (ec) return done("cannot resolve " + self->host_ + ": " + ec.message());
            asio::async_connect(self->socket_, r, [self, done](const boost::system::error_code& ec, const tcp::endpoint&) {
                if (ec) return done(ec.message());
                boost::system::error_code ignored;
                self->socket_.set_option(tcp::no_delay(true), ignored);
                if (!self->tls_) return done({});
                self->start_tls(done);
            });
        });
    }

    void write(std::shared_ptr<const std::string> data, WriteDone done) override {
        auto handler = [self = shared(), data, done = std::move(done)](const boost::system::error_code& ec, size_t) {
            done(ec ? describe(ec) : std::string());
        };
        if (tls_) asio::async_write(*tls_, asio::buffer(*data), std::move(handler));
        else asio::async_write(socket_, asio::buffer(*data), std::move(handler));
    }

    void read(ReadDone done) override {
        auto handler = [self = shared(), done = std::move(done)](const boost::system::error_code& ec, size_t n) {
            if (ec) return done(describe(ec), nullptr, 0);
            done({}, self->buffer_.data(), n);
        };
        if (tls_) tls_->async_read_some(asio::buffer(buffer_), std::move(handler));
        else socket_.async_read_some(asio::buffer(buffer_), std::move(handler));
    }

    void write_now(const std::string& data) override {
        boost::system::error_code ec;
        if (tls_) asio::write(*tls_, asio::buffer(data), ec);
        else asio::write(socket_, asio::buffer(data), ec);
    }

    void close() override {
        boost::system::error_code ec;
        resolver_.cancel();
        socket_.shutdown(tcp::socket::shutdown_both, ec);
        socket_.close(ec);
    }

private:
    std::shared_ptr<AsioTransport> shared() { return std::static_pointer_cast<AsioTransport>(shared_from_this()); }

    void start_tls(const ConnectDone& done) {
        // SNI, and the name (or IP address) the certificate must carry.
        boost::system::error_code not_ip;
        asio::ip::make_address(host_, not_ip);
        if (not_ip) SSL_set_tlsext_host_name(tls_->native_handle(), host_.c_str()); // SNI is for names only
        if (verify_) tls_->set_verify_callback(asio::ssl::host_name_verification(host_));
        tls_->async_handshake(asio::ssl::stream_base::client, [self = shared(), done](const boost::system::error_code& ec) {
            done(ec ? describe(ec) : std::string());
        });
    }

    tcp::resolver resolver_;
    tcp::socket socket_;
    std::optional<asio::ssl::context> ctx_;
    std::optional<asio::ssl::stream<tcp::socket&>> tls_;
    bool verify_ = true;
    std::string host_;
    std::array<char, read_buffer_size> buffer_{};
};

} // namespace

std::shared_ptr<Transport> Transport::make(asio::io_context& io, const TlsOptions& tls) {
    return std::make_shared<AsioTransport>(io, tls);
}

} // namespace mqtt
