#include "core/id_allocator.hpp"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <unistd.h>

namespace passerelle::kernel {

IdAllocator::IdAllocator(std::string path, uint64_t block) : path_(std::move(path)), block_(block) {
    uint64_t now_us = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
    if (path_.empty()) {
        next_ = now_us;
        reserved_ = UINT64_MAX;
        return;
    }
    uint64_t mark = 0;
    if (std::ifstream in(path_); in) in >> mark;
    next_ = mark + 1;
    if (reserve(next_ + block_)) {
        persistent_ = true;
    } else {
        next_ = std::max(next_, now_us);
        reserved_ = UINT64_MAX;
    }
}

bool IdAllocator::reserve(uint64_t upto) {
    std::string tmp = path_ + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        error_ = "cannot write " + tmp + ": " + std::strerror(errno);
        return false;
    }
    std::string text = std::to_string(upto - 1) + "\n";
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok || std::rename(tmp.c_str(), path_.c_str()) != 0) {
        error_ = "cannot persist the event id sequence in " + path_ + ": " + std::strerror(errno);
        return false;
    }
    reserved_ = upto;
    return true;
}

uint64_t IdAllocator::next() {
    std::lock_guard lock(mutex_);
    if (next_ >= reserved_ && persistent_ && !reserve(next_ + block_)) {
        // Could not persist: keep going with ids that stay unique in this run.
        reserved_ = UINT64_MAX;
        persistent_ = false;
    }
    return next_++;
}

} // namespace passerelle::kernel
