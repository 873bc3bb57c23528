// Daemon logging: spdlog to stderr (systemd-style), text or JSON lines, every
// line passed through a mask that replaces known secret values with "***".
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace spdlog { class logger; }

namespace passerelle::kernel {

enum class LogFormat { text, json };

// Installs the default logger. Safe to call again (e.g. tests).
void setup_logging(LogFormat format, const std::string& level);
// A logger for one instance, sharing the default sinks, with its own level.
std::shared_ptr<spdlog::logger> make_instance_logger(const std::string& name, const std::string& level);
// Secret values (passwords, tokens, keys) to mask in every log line from now on.
void set_log_secrets(const std::vector<std::string>& secrets);
// Replaces every known secret value in `text` by "***".
std::string mask_secrets(std::string text);
// "trace".."error" -> spdlog level; false for an unknown word.
bool valid_log_level(std::string_view level);

} // namespace passerelle::kernel
