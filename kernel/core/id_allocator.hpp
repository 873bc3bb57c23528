// Event ids: unique and increasing across restarts. The high-water mark is
// persisted in blocks (one small fsync per block, not per event).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

namespace passerelle::kernel {

class IdAllocator {
public:
    // `path` empty or unwritable: ids start from the current time in microseconds,
    // which still increases across restarts; `error` then says why.
    explicit IdAllocator(std::string path, uint64_t block = 100000);
    uint64_t next(); // thread-safe
    const std::string& error() const { return error_; }

private:
    bool reserve(uint64_t upto);
    std::mutex mutex_;
    std::string path_;
    uint64_t block_;
    uint64_t next_ = 1;
    uint64_t reserved_ = 0; // ids < reserved_ may be handed out
    bool persistent_ = false;
    std::string error_;
};

} // namespace passerelle::kernel
