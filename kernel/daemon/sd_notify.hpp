// systemd readiness without libsystemd: one datagram to $NOTIFY_SOCKET.
#pragma once
#include <string_view>

namespace passerelle::kernel {
// Sends e.g. "READY=1"; does nothing when NOTIFY_SOCKET is unset. Returns false on error.
bool sd_notify(std::string_view state);
} // namespace passerelle::kernel
