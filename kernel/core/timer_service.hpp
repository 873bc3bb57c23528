// One thread running the one-shot timers modules ask for through the host API.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace passerelle::kernel {

class TimerService {
public:
    TimerService();
    ~TimerService();
    TimerService(const TimerService&) = delete;
    TimerService& operator=(const TimerService&) = delete;

    uint64_t start(std::chrono::milliseconds delay, std::function<void()> fn);
    // After cancel returns, the callback is not running and will never run
    // (unless cancel is called from inside that very callback).
    void cancel(uint64_t id);

private:
    void run();
    using Clock = std::chrono::steady_clock;
    struct Timer {
        Clock::time_point due;
        std::function<void()> fn;
    };

    std::mutex mutex_;
    std::condition_variable cv_;
    std::condition_variable idle_cv_;
    std::map<uint64_t, Timer> timers_;
    std::set<std::pair<Clock::time_point, uint64_t>> order_;
    uint64_t next_id_ = 0;
    uint64_t running_id_ = 0;
    std::thread::id thread_id_;
    bool stopping_ = false;
    std::thread thread_;
};

} // namespace passerelle::kernel
