#include "count_flusher.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <vector>

namespace passerelle::hikvision {

// One per io_context (an Asio service): the sources waiting for the next
// flush, and the timer that brings it. Its timer is destroyed with it, before
// the timer service it uses (services go newest first, and this one is created
// after the timer service its constructor asks for).
class CountFlusher : public boost::asio::execution_context::service {
public:
    static boost::asio::execution_context::id id;

    explicit CountFlusher(boost::asio::execution_context& context)
        : service(context), timer_(static_cast<boost::asio::io_context&>(context)) {}

    void enlist(std::weak_ptr<PendingCounts> source) {
        waiting_.push_back(std::move(source));
        if (armed_) return;
        armed_ = true;
        timer_.expires_after(kCountFlushInterval);
        // A pending wait is destroyed, not run, when the io_context shuts down.
        timer_.async_wait([this](const boost::system::error_code& ec) {
            if (!ec) flush();
        });
    }

private:
    void shutdown() override { waiting_.clear(); }

    void flush() {
        armed_ = false;
        flushing_.swap(waiting_);
        for (auto& weak : flushing_)
            if (auto source = weak.lock()) source->flush_counts(); // may enlist again: into waiting_
        flushing_.clear();
    }

    boost::asio::steady_timer timer_;
    std::vector<std::weak_ptr<PendingCounts>> waiting_;
    std::vector<std::weak_ptr<PendingCounts>> flushing_;
    bool armed_ = false;
};

boost::asio::execution_context::id CountFlusher::id;

CountFlusher& count_flusher(boost::asio::io_context& io) { return boost::asio::use_service<CountFlusher>(io); }

void flush_counts_soon(CountFlusher& flusher, std::weak_ptr<PendingCounts> source) {
    flusher.enlist(std::move(source));
}

} // namespace passerelle::hikvision
