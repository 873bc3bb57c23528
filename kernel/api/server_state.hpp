// What every connection of one API server shares. Internal to kernel/api
// (includes Asio); the io thread owns everything here except IoPoster.
#pragma once

#include "api/api_server.hpp"
#include "api/server_limits.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace passerelle::kernel::api {

// Posts work onto the io thread from any thread (backend callbacks). After
// disable() (server stopped) posts are dropped: a module answering an action
// minutes later must not touch a destroyed io_context.
class IoPoster {
public:
    explicit IoPoster(boost::asio::io_context& ioc) : ioc_(&ioc) {}
    template <class F>
    bool post(F&& f) {
        std::lock_guard lock(mutex_);
        if (!ioc_) return false;
        boost::asio::post(*ioc_, std::forward<F>(f));
        return true;
    }
    void disable() {
        std::lock_guard lock(mutex_);
        ioc_ = nullptr;
    }

private:
    std::mutex mutex_;
    boost::asio::io_context* ioc_;
};

// A live connection (HTTP session or SSE stream) that stop() can close.
class Connection {
public:
    virtual ~Connection() = default;
    virtual void close() = 0; // io thread
};

struct ServerState {
    ServerState(const ApiOptions& o, const ApiLimits& l, ApiBackend& b, std::shared_ptr<IoPoster> p)
        : options(o), limits(l), backend(b), poster(std::move(p)) {}

    const ApiOptions options;
    const ApiLimits limits;
    ApiBackend& backend; // outlives the server (the daemon stops the API first)
    const std::shared_ptr<IoPoster> poster;

    // io thread only
    size_t sse_clients = 0;
    std::unordered_map<uint64_t, std::weak_ptr<Connection>> live;
    uint64_t next_connection_id = 1;

    uint64_t add(std::weak_ptr<Connection> c) {
        uint64_t id = next_connection_id++;
        live.emplace(id, std::move(c));
        return id;
    }
    void remove(uint64_t id) { live.erase(id); }
};

} // namespace passerelle::kernel::api
