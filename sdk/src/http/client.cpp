// HttpClient, its shared core, the keep-alive pool and StreamHandle.
#include "internal.hpp"

#include <boost/asio/post.hpp>

#include <map>
#include <mutex>
#include <stdexcept>
#include <utility>

namespace passerelle::http {

namespace detail {

void Connection::close() {
    beast::error_code ignored;
    socket().shutdown(tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
}

bool Connection::looks_alive() {
    tcp::socket& s = socket();
    if (!s.is_open() || buffer.size() != 0) return false;
    beast::error_code ec;
    s.non_blocking(true, ec); // only async operations follow, which do not care
    if (ec) return false;
    char byte;
    s.receive(asio::buffer(&byte, 1), tcp::socket::message_peek, ec);
    // Nothing to read is the only healthy answer: EOF means the server closed
    // it, bytes mean it sent something we never asked for (or a TLS alert).
    return ec == asio::error::would_block || ec == asio::error::try_again;
}

std::shared_ptr<Connection> Pool::take(const std::string& origin, std::chrono::milliseconds max_idle) {
    auto it = idle_.find(origin);
    if (it == idle_.end()) return nullptr;
    auto& list = it->second;
    auto now = Clock::now();
    while (!list.empty()) {
        std::shared_ptr<Connection> conn = std::move(list.back());
        list.pop_back();
        if (now - conn->idle_since < max_idle && conn->looks_alive()) return conn;
        conn->close();
    }
    idle_.erase(it);
    return nullptr;
}

void Pool::put(const std::string& origin, std::shared_ptr<Connection> conn, std::size_t max_per_origin) {
    if (max_per_origin == 0) {
        conn->close();
        return;
    }
    auto& list = idle_[origin];
    conn->idle_since = Clock::now();
    list.push_back(std::move(conn));
    while (list.size() > max_per_origin) {
        list.front()->close();
        list.pop_front();
    }
}

void Pool::clear() {
    for (auto& [origin, list] : idle_)
        for (auto& conn : list) conn->close();
    idle_.clear();
}

namespace {

// One TLS context per trust setting (verify or not, which CA file), shared by the
// clients of the process and freed with the last of them. An SSL_CTX is safe to
// share across threads once configured; nothing changes it after this.
std::shared_ptr<asio::ssl::context> shared_tls_context(bool verify, const std::string& ca_file) {
    static std::mutex mutex;
    static std::map<std::pair<bool, std::string>, std::weak_ptr<asio::ssl::context>> contexts;
    std::lock_guard lock(mutex);
    auto& slot = contexts[{verify, verify ? ca_file : std::string()}];
    if (auto ctx = slot.lock()) return ctx;
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    if (!verify) {
        ctx->set_verify_mode(asio::ssl::verify_none);
    } else {
        ctx->set_verify_mode(asio::ssl::verify_peer);
        beast::error_code ec;
        if (!ca_file.empty()) {
            ctx->load_verify_file(ca_file, ec);
            if (ec) throw std::runtime_error("ca_file " + ca_file + " cannot be loaded as PEM certificates: " + ec.message());
        } else {
            ctx->set_default_verify_paths(ec);
            if (ec) throw std::runtime_error("cannot load the system certificate store: " + ec.message());
        }
    }
    slot = ctx;
    return ctx;
}

} // namespace

ClientCore::ClientCore(asio::io_context& io_context, ClientOptions opts)
    : io(io_context), options(std::move(opts)), read_batch(asio::use_service<ReadBatch>(io_context)) {
    // A bad ca_file fails here, at configuration time. The system store (~870 KiB)
    // waits for the first https exchange: a fleet of http:// cameras never loads it.
    if (options.verify_tls && !options.ca_file.empty()) {
        ssl = shared_tls_context(true, options.ca_file);
        ssl_loaded = true;
    }
}

asio::ssl::context& ClientCore::ssl_context() {
    if (!ssl) {
        ssl = shared_tls_context(options.verify_tls, options.ca_file);
        ssl_loaded = true;
    }
    return *ssl;
}

void ClientCore::track(const std::shared_ptr<Exchange>& ex) {
    if (live.size() >= 8) std::erase_if(live, [](const auto& w) { return w.expired(); });
    live.push_back(ex);
}

namespace {
// Not make_shared: `live` holds weak_ptrs, and a weak_ptr to a make_shared
// object keeps the whole allocation (an Exchange is ~18 KB with its read
// chunk) until the weak_ptr goes. With a separate control block a finished
// exchange is freed at once; 1,000 devices x 3 finished requests kept 54 MB.
template <class... A>
std::shared_ptr<Exchange> new_exchange(A&&... args) {
    return std::shared_ptr<Exchange>(new Exchange(std::forward<A>(args)...));
}
} // namespace

} // namespace detail

// ---- StreamHandle --------------------------------------------------------------

StreamHandle::StreamHandle(std::shared_ptr<detail::Exchange> exchange) : exchange_(std::move(exchange)) {}

StreamHandle& StreamHandle::operator=(StreamHandle&& other) noexcept {
    if (this != &other) {
        cancel();
        exchange_ = std::move(other.exchange_);
    }
    return *this;
}

StreamHandle::~StreamHandle() { cancel(); }

void StreamHandle::cancel() {
    auto ex = std::move(exchange_);
    if (!ex) return;
    if (ex->io().get_executor().running_in_this_thread()) ex->cancel();
    else boost::asio::post(ex->io(), [ex] { ex->cancel(); });
}

bool StreamHandle::active() const { return exchange_ && exchange_->active(); }

// ---- HttpClient ----------------------------------------------------------------

HttpClient::HttpClient(boost::asio::io_context& io, ClientOptions options)
    : core_(std::make_shared<detail::ClientCore>(io, std::move(options))) {}

HttpClient::~HttpClient() {
    core_->closed = true;
    for (auto& weak : core_->live)
        if (auto ex = weak.lock()) ex->cancel();
    core_->live.clear();
    core_->pool.clear();
}

void HttpClient::request(Request request, std::function<void(Response)> done) {
    auto ex = detail::new_exchange(core_, std::move(request), std::move(done));
    boost::asio::post(core_->io, [ex] { ex->start(); });
}

StreamHandle HttpClient::stream(Request request, StreamCallbacks callbacks) {
    auto ex = detail::new_exchange(core_, std::move(request), std::move(callbacks));
    boost::asio::post(core_->io, [ex] { ex->start(); });
    return StreamHandle(ex);
}

void HttpClient::close_idle() {
    if (core_->io.get_executor().running_in_this_thread()) core_->pool.clear();
    else boost::asio::post(core_->io, [core = core_] { core->pool.clear(); });
}

void HttpClient::forget_auth(std::string_view origin) {
    auto forget = [core = core_, key = std::string(origin)] {
        if (key.empty()) core->auth.clear();
        else core->auth.erase(key);
    };
    if (core_->io.get_executor().running_in_this_thread()) forget();
    else boost::asio::post(core_->io, forget);
}

HttpClient::Stats HttpClient::stats() const {
    return Stats{core_->opened.load(), core_->reused.load(), core_->exchanges.load(), core_->ssl_loaded.load()};
}

const ClientOptions& HttpClient::options() const { return core_->options; }

} // namespace passerelle::http
