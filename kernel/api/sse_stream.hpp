// One live event stream (GET /api/v1/events). Internal (Asio).
//
// Events arrive on the publishing thread (under the bus lock): the sink filters, formats and pushes the
// frame into a bounded per-client queue, then posts a drain to the io thread;
// it never blocks and never touches the socket. The io thread writes one batch
// at a time. A client whose queue overflows (it reads slower than events come)
// is disconnected; so is one whose write stalls longer than the write timeout.
#pragma once

#include "api/event_filter.hpp"
#include "api/server_state.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

namespace passerelle::kernel::api {

// The only state shared between the publishing threads and the io thread.
class SseQueue {
public:
    SseQueue(size_t max_events, size_t max_bytes) : max_events_(max_events), max_bytes_(max_bytes) {}
    // Bus thread. Returns true when the caller must post a drain (none pending).
    bool push(std::string frame);
    // io thread: appends every queued frame to `out`; returns false once overflowed.
    bool take(std::string& out);
    bool overflowed();
    void close();

private:
    std::mutex mutex_;
    std::deque<std::string> frames_;
    size_t bytes_ = 0;
    const size_t max_events_, max_bytes_;
    bool overflow_ = false;
    bool drain_posted_ = false;
    bool closed_ = false;
};

class SseStream : public Connection, public std::enable_shared_from_this<SseStream> {
public:
    SseStream(boost::asio::ip::tcp::socket socket, std::shared_ptr<ServerState> state, EventFilter filter,
              std::string remote);
    ~SseStream() override;
    void start();
    void close() override { close_because("server stopping"); }

private:
    void drain();
    void write_pending();
    void on_write(boost::system::error_code ec, uint64_t seq);
    void watch_for_disconnect();
    void arm_keepalive();
    void close_because(const char* reason);
    void unsubscribe();

    boost::asio::ip::tcp::socket socket_;
    std::shared_ptr<ServerState> state_;
    std::shared_ptr<const EventFilter> filter_;
    std::shared_ptr<SseQueue> queue_;
    std::string remote_;
    boost::asio::steady_timer keepalive_;
    boost::asio::steady_timer write_deadline_;
    std::array<char, 256> discard_{};
    std::string pending_; // frames waiting for the current write to finish
    std::string writing_; // the buffer being written
    bool writing_now_ = false;
    uint64_t write_seq_ = 0;
    uint64_t id_ = 0;
    uint64_t subscription_ = 0;
    bool subscribed_ = false;
    bool counted_ = false;
    bool closed_ = false;
};

} // namespace passerelle::kernel::api
