// One connection to the broker, TCP or TLS, for the MQTT client: resolve +
// connect (+ TLS handshake, certificate and host name verified by default),
// then writes of whole buffers and reads of what is there. Asio stays in
// transport.cpp. A fresh Transport per connection; every handler keeps it alive
// (shared_from_this), so dropping a connection is close() and forgetting it.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace boost::asio { class io_context; }

namespace mqtt {

struct TlsOptions {
    bool enabled = false;
    bool verify = true;
    std::string ca_file;     // empty: the system's CAs
    std::string client_cert; // PEM, with client_key
    std::string client_key;
};

class Transport : public std::enable_shared_from_this<Transport> {
public:
    // Throws std::runtime_error when the TLS files cannot be used.
    static std::shared_ptr<Transport> make(boost::asio::io_context& io, const TlsOptions& tls);
    virtual ~Transport() = default;

    // error empty = connected (and TLS handshake done).
    using ConnectDone = std::function<void(const std::string& error)>;
    virtual void connect(const std::string& host, int port, ConnectDone done) = 0;

    // Writes all of `*data`; one write at a time.
    using WriteDone = std::function<void(const std::string& error)>;
    virtual void write(std::shared_ptr<const std::string> data, WriteDone done) = 0;

    // Reads what is available (up to the transport's buffer); `data` is valid in the callback only.
    using ReadDone = std::function<void(const std::string& error, const char* data, size_t size)>;
    virtual void read(ReadDone done) = 0;

    // Best effort, blocking, for the last bytes before close (DISCONNECT); no write may be in progress.
    virtual void write_now(const std::string& data) = 0;

    // Cancels everything pending (handlers run with an error) and closes the socket.
    virtual void close() = 0;
};

} // namespace mqtt
