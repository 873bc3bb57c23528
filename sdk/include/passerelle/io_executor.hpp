// An Executor backed by a Boost.Asio io_context and one thread, for network
// modules: every handler of the module's instances, every socket callback of
// its HttpClient and every Asio timer run on that one thread, so module code
// needs no locks. One is shared by all instances of a loaded library:
//
//   class Camera : public passerelle::Instance {
//   public:
//       using executor_type = passerelle::IoExecutor;
//       explicit Camera(const passerelle::Init& init)
//           : Instance(init),
//             http_(static_cast<passerelle::IoExecutor&>(executor()).io(), options(init)) {}
//   ...
//
// Only network modules include this header (it pulls in Asio).
#pragma once

#include <passerelle/module.hpp>
#include <passerelle/thread_name.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <exception>
#include <functional>
#include <thread>
#include <utility>

namespace passerelle {

class IoExecutor final : public Executor {
public:
    IoExecutor() : work_(boost::asio::make_work_guard(io_)), thread_([this] { run(); }) {}

    // Stops the loop and joins the thread. Handlers still queued are destroyed
    // without running (the SDK glue already waited for start/stop/destroy).
    ~IoExecutor() override {
        work_.reset();
        io_.stop();
        if (thread_.joinable()) thread_.join();
    }

    IoExecutor(const IoExecutor&) = delete;
    IoExecutor& operator=(const IoExecutor&) = delete;

    void post(std::function<void()> fn) override { boost::asio::post(io_, std::move(fn)); }
    bool running_in_this_thread() const override { return std::this_thread::get_id() == thread_.get_id(); }
    void name_thread(std::string_view name) override { set_thread_name(thread_, name); }

    boost::asio::io_context& io() { return io_; }

private:
    void run() {
        // A handler that throws must not take the whole daemon down with
        // std::terminate: the exception is dropped and the loop goes on. The
        // SDK glue already catches what module handlers throw.
        for (;;) {
            try {
                loop();
                return;
            } catch (...) {
            }
        }
    }

    // Each wake-up runs as one burst: the first ready handler (waiting for it
    // if none), then those ready at once behind it, so the events they publish
    // reach each sink with one wake-up. A loop that ran out of work lingers
    // for coalesce() before it waits in epoll again, so that under a steady
    // trickle one wake-up carries what arrived meanwhile (Asio timers and
    // posts are then late by that much at most).
    void loop() {
        bool lingered = false; // the last wait was a linger: poll, do not block
        for (;;) {
            int ran = 0;
            {
                Burst burst(*this);
                if (!lingered) {
                    if (io_.run_one() == 0) return; // stopped
                    ran = 1;
                }
                while (ran < kMaxBurst && io_.poll_one() > 0) ++ran;
            }
            if (io_.stopped()) return;
            if (ran == kMaxBurst) {
                lingered = true; // more is ready: take it at once
            } else if (lingered && ran == 0) {
                lingered = false; // nothing came: sleep until something does
            } else if (auto window = coalesce(); window.count() > 0) {
                std::this_thread::sleep_for(window);
                lingered = true;
            } else {
                lingered = false;
            }
        }
    }

    boost::asio::io_context io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
    std::thread thread_;
};

} // namespace passerelle
