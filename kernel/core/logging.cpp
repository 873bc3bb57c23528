#include "core/logging.hpp"

#include <passerelle/event_json.hpp>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <shared_mutex>

namespace passerelle::kernel {
namespace {

std::shared_mutex g_secrets_mutex;
std::vector<std::string> g_secrets;

// Formats like any sink, masks secrets, then writes to stderr.
class MaskingStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    explicit MaskingStderrSink(LogFormat format) : format_(format) {}

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        std::string text = mask_secrets(std::string(msg.payload.data(), msg.payload.size()));
        std::string line;
        if (format_ == LogFormat::json) {
            line = "{\"time\":\"" + time_text(msg) + "\",\"level\":\"" +
                   std::string(spdlog::level::to_string_view(msg.level).data()) + "\",\"logger\":\"" +
                   escape(std::string(msg.logger_name.data(), msg.logger_name.size())) + "\",\"msg\":\"" +
                   escape(text) + "\"}\n";
        } else {
            line = time_text(msg) + " " + std::string(spdlog::level::to_string_view(msg.level).data()) + " [" +
                   std::string(msg.logger_name.data(), msg.logger_name.size()) + "] " + text + "\n";
        }
        std::fwrite(line.data(), 1, line.size(), stderr);
    }
    void flush_() override { std::fflush(stderr); }

private:
    static std::string time_text(const spdlog::details::log_msg& msg) {
        return format_rfc3339(std::chrono::duration_cast<std::chrono::nanoseconds>(msg.time.time_since_epoch()).count());
    }
    static std::string escape(const std::string& s) {
        std::string out;
        for (unsigned char c : s) {
            if (c == '"' || c == '\\') { out.push_back('\\'); out.push_back(static_cast<char>(c)); }
            else if (c == '\n') out += "\\n";
            else if (c < 0x20) { char b[8]; std::snprintf(b, sizeof b, "\\u%04x", c); out += b; }
            else out.push_back(static_cast<char>(c));
        }
        return out;
    }
    LogFormat format_;
};

std::shared_ptr<spdlog::sinks::sink> g_sink;

} // namespace

bool valid_log_level(std::string_view level) {
    return level == "trace" || level == "debug" || level == "info" || level == "warn" || level == "error" ||
           level == "off";
}

void setup_logging(LogFormat format, const std::string& level) {
    g_sink = std::make_shared<MaskingStderrSink>(format);
    auto logger = std::make_shared<spdlog::logger>("passerelle", g_sink);
    logger->set_level(spdlog::level::from_str(level.empty() ? "info" : level));
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
}

std::shared_ptr<spdlog::logger> make_instance_logger(const std::string& name, const std::string& level) {
    if (!g_sink) setup_logging(LogFormat::text, "info");
    auto logger = std::make_shared<spdlog::logger>(name, g_sink);
    logger->set_level(level.empty() ? spdlog::default_logger()->level() : spdlog::level::from_str(level));
    logger->flush_on(spdlog::level::info);
    return logger;
}

void set_log_secrets(const std::vector<std::string>& secrets) {
    std::unique_lock lock(g_secrets_mutex);
    g_secrets.clear();
    for (const auto& s : secrets)
        if (s.size() >= 3) g_secrets.push_back(s); // shorter values would mask ordinary words
}

std::string mask_secrets(std::string text) {
    std::shared_lock lock(g_secrets_mutex);
    for (const auto& secret : g_secrets) {
        size_t pos = 0;
        while ((pos = text.find(secret, pos)) != std::string::npos) {
            text.replace(pos, secret.size(), "***");
            pos += 3;
        }
    }
    return text;
}

} // namespace passerelle::kernel
