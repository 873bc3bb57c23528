// Names a thread the way `top -H`, `ps -L` and perf show it, so a user can see
// which part of the daemon uses the CPU ("mod:dahua", "sink:jeedom", "bus").
// Linux keeps 15 characters; the rest is cut.
#pragma once

#include <pthread.h>

#include <string>
#include <string_view>
#include <thread>

namespace passerelle {

inline void set_thread_name(std::thread& thread, std::string_view name) {
    std::string cut(name.substr(0, 15));
    pthread_setname_np(thread.native_handle(), cut.c_str());
}

} // namespace passerelle
