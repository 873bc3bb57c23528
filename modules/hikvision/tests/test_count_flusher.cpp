// The flusher behind the host counters of every stream: one deferred call per
// enlisted source, sources gone meanwhile skipped, a source enlisting again
// from its flush served in the next round, an io_context destroyed with a
// flush pending.
#include "count_flusher.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <functional>
#include <memory>

using namespace passerelle::hikvision;

namespace {

struct Source : PendingCounts {
    int* flushes;
    std::function<void()> on_flush;
    explicit Source(int* f) : flushes(f) {}
    void flush_counts() override {
        ++*flushes;
        if (on_flush) on_flush();
    }
};

} // namespace

TEST_CASE("count flusher: each enlisted source is flushed once, later, on the io thread", "[hikvision][counts]") {
    boost::asio::io_context io;
    CountFlusher& flusher = count_flusher(io);
    CHECK(&flusher == &count_flusher(io)); // one per io_context

    int a_flushes = 0, b_flushes = 0, gone_flushes = 0;
    auto a = std::make_shared<Source>(&a_flushes);
    auto b = std::make_shared<Source>(&b_flushes);
    auto gone = std::make_shared<Source>(&gone_flushes);
    flush_counts_soon(flusher, a);
    flush_counts_soon(flusher, b);
    flush_counts_soon(flusher, gone);
    gone.reset(); // destroyed before the flush: skipped
    CHECK(a_flushes == 0); // deferred, not called from flush_counts_soon

    io.run_for(std::chrono::seconds(10)); // returns once the single timer has fired: no work left
    CHECK(a_flushes == 1);
    CHECK(b_flushes == 1);
    CHECK(gone_flushes == 0);
}

TEST_CASE("count flusher: a source enlisting from its flush is served in the next round", "[hikvision][counts]") {
    boost::asio::io_context io;
    CountFlusher& flusher = count_flusher(io);
    int flushes = 0;
    auto s = std::make_shared<Source>(&flushes);
    s->on_flush = [&] {
        if (flushes < 3) flush_counts_soon(flusher, s);
    };
    flush_counts_soon(flusher, s);
    io.run_for(std::chrono::seconds(20));
    CHECK(flushes == 3);
}

TEST_CASE("count flusher: an io_context destroyed with a flush pending calls nothing", "[hikvision][counts]") {
    int flushes = 0;
    auto s = std::make_shared<Source>(&flushes);
    {
        boost::asio::io_context io;
        flush_counts_soon(count_flusher(io), s);
    }
    CHECK(flushes == 0);
}
