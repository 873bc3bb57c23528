// One VTO doorbell over DHIP (TCP 5000): connect, two-step global.login,
// eventManager.attach, global.keepAlive at the device's interval, events from
// client.notifyEventStream (mapped like the CGI stream), door opening.
// Framing by length only (dhip::FrameDecoder); a bad header means reconnect.
// Reconnects with the same backoff rules as CgiSession; a refused login backs
// off slowly and reports auth_failed.
//
// Every callback runs on the io thread. Not thread-safe: use it from there.
#pragma once

#include "backoff.hpp"

#include <passerelle/event.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace passerelle::dahua {

class DhipSession {
public:
    struct Options {
        std::string host;
        uint16_t port = 5000;
        std::string user;
        std::string password;
        std::chrono::milliseconds reconnect_first{2000};
        std::chrono::milliseconds reconnect_max{60000};
        std::chrono::milliseconds auth_retry{60000};
        std::chrono::milliseconds auth_retry_max{600000};
        std::chrono::milliseconds connect_timeout{10000};
    };
    struct Callbacks {
        std::function<void(std::vector<Event>& events)> on_events;
        std::function<void(std::string_view state, const std::string& detail)> on_health;
        std::function<void(bool reconnect)> on_connected;
        std::function<void(std::string_view counter)> on_count;
        std::function<void(bool warn, const std::string& message)> on_log;
    };
    using Done = std::function<void(bool ok, const std::string& detail)>;

    DhipSession(boost::asio::io_context& io, Options options, Callbacks callbacks);
    ~DhipSession();
    DhipSession(const DhipSession&) = delete;
    DhipSession& operator=(const DhipSession&) = delete;

    void start();
    void stop();
    bool connected() const;
    int keep_alive_interval_s() const;
    uint64_t keep_alives_sent() const;

    // accessControl.factory.instance -> openDoor -> destroy. `done` runs once.
    void open_door(int channel, int door_index, Done done);

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

} // namespace passerelle::dahua
