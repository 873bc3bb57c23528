#include "api/sse_stream.hpp"

#include "api/sse_frame.hpp"

#include <boost/asio/write.hpp>

#include <spdlog/spdlog.h>

namespace passerelle::kernel::api {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

bool SseQueue::push(std::string frame) {
    std::lock_guard lock(mutex_);
    if (closed_ || overflow_) return false;
    if (frames_.size() >= max_events_ || bytes_ + frame.size() > max_bytes_) {
        overflow_ = true;
        frames_.clear(); // free the memory now; the stream is going to be closed
        bytes_ = 0;
        // Post even when a drain is pending: that drain may be waiting behind a
        // stalled write, and the io thread must close this client now.
        drain_posted_ = true;
        return true;
    } else {
        bytes_ += frame.size();
        frames_.push_back(std::move(frame));
    }
    if (drain_posted_) return false;
    drain_posted_ = true;
    return true;
}

bool SseQueue::take(std::string& out) {
    std::lock_guard lock(mutex_);
    drain_posted_ = false;
    if (overflow_) return false;
    for (auto& f : frames_) out += f;
    frames_.clear();
    bytes_ = 0;
    return true;
}

bool SseQueue::overflowed() {
    std::lock_guard lock(mutex_);
    return overflow_;
}

void SseQueue::close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    frames_.clear();
    bytes_ = 0;
}

SseStream::SseStream(tcp::socket socket, std::shared_ptr<ServerState> state, EventFilter filter, std::string remote)
    : socket_(std::move(socket)),
      state_(std::move(state)),
      filter_(std::make_shared<const EventFilter>(std::move(filter))),
      queue_(std::make_shared<SseQueue>(state_->limits.sse_max_queued_events, state_->limits.sse_max_queued_bytes)),
      remote_(std::move(remote)),
      keepalive_(socket_.get_executor()),
      write_deadline_(socket_.get_executor()) {}

SseStream::~SseStream() {
    // Also reached without close() when the io_context is destroyed at stop().
    unsubscribe();
    queue_->close();
    if (counted_) --state_->sse_clients;
    state_->remove(id_);
}

void SseStream::start() {
    id_ = state_->add(weak_from_this());
    ++state_->sse_clients;
    counted_ = true;
    // No Content-Length: the body is the stream, ended by closing the connection.
    pending_ = "HTTP/1.1 200 OK\r\n"
               "Server: passerelle\r\n"
               "Content-Type: text/event-stream\r\n"
               "Cache-Control: no-cache\r\n"
               "X-Accel-Buffering: no\r\n"
               "Connection: close\r\n"
               "\r\n";
    pending_ += format_sse_comment("connected");

    // Subscribe before the header goes out: an event published once the client
    // has seen the header is never missed.
    std::weak_ptr<SseStream> weak = shared_from_this();
    auto poster = state_->poster;
    auto queue = queue_;
    auto filter = filter_;
    try {
        subscription_ = state_->backend.subscribe([weak, poster, queue, filter](const Event& e, const std::string& json) {
            if (!filter->matches(e.source, e.type)) return;
            if (queue->push(format_sse_event(e.id, e.type, json)))
                poster->post([weak] {
                    if (auto self = weak.lock()) self->drain();
                });
        });
        subscribed_ = true;
    } catch (const std::exception& e) {
        spdlog::error("api: event subscription failed: {}", e.what());
        close_because("subscription failed");
        return;
    }
    spdlog::debug("api: {} event stream opened ({} clients)", remote_, state_->sse_clients);
    write_pending();
    watch_for_disconnect();
    arm_keepalive();
}

void SseStream::drain() {
    if (closed_) return;
    if (queue_->overflowed()) {
        close_because("client too slow, event queue full");
        return;
    }
    write_pending();
}

void SseStream::write_pending() {
    if (closed_ || writing_now_) return;
    writing_ = std::move(pending_);
    pending_.clear();
    if (!queue_->take(writing_)) {
        close_because("client too slow, event queue full");
        return;
    }
    if (writing_.empty()) return;
    writing_now_ = true;
    uint64_t seq = ++write_seq_;
    write_deadline_.expires_after(state_->limits.write_timeout);
    write_deadline_.async_wait([self = shared_from_this(), seq](boost::system::error_code ec) {
        if (!ec && self->writing_now_ && self->write_seq_ == seq) self->close_because("write timed out");
    });
    asio::async_write(socket_, asio::buffer(writing_),
                      [self = shared_from_this(), seq](boost::system::error_code ec, size_t) { self->on_write(ec, seq); });
}

void SseStream::on_write(boost::system::error_code ec, uint64_t seq) {
    if (closed_ || seq != write_seq_) return;
    writing_now_ = false;
    write_deadline_.cancel();
    if (ec) {
        close_because("write failed");
        return;
    }
    writing_.clear();
    write_pending(); // what queued up meanwhile
}

void SseStream::watch_for_disconnect() {
    // The client never sends anything after its request: a completed read is
    // EOF or an error, i.e. it went away. Anything it does send is discarded.
    socket_.async_read_some(asio::buffer(discard_), [self = shared_from_this()](boost::system::error_code ec, size_t) {
        if (self->closed_) return;
        if (ec) self->close_because("client disconnected");
        else self->watch_for_disconnect();
    });
}

void SseStream::arm_keepalive() {
    keepalive_.expires_after(state_->limits.sse_keepalive);
    keepalive_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (ec || self->closed_) return;
        if (!self->writing_now_) {
            self->pending_ += format_sse_comment("keepalive");
            self->write_pending();
        }
        self->arm_keepalive();
    });
}

void SseStream::unsubscribe() {
    if (!subscribed_) return;
    subscribed_ = false;
    try {
        state_->backend.unsubscribe(subscription_);
    } catch (const std::exception& e) {
        spdlog::error("api: event unsubscribe failed: {}", e.what());
    }
}

void SseStream::close_because(const char* reason) {
    if (closed_) return;
    closed_ = true;
    spdlog::debug("api: {} event stream closed: {}", remote_, reason);
    if (std::string_view(reason).find("too slow") != std::string_view::npos)
        spdlog::warn("api: disconnected event stream client {}: {}", remote_, reason);
    unsubscribe();
    queue_->close();
    if (counted_) {
        counted_ = false;
        --state_->sse_clients;
    }
    keepalive_.cancel();
    write_deadline_.cancel();
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
}

} // namespace passerelle::kernel::api
