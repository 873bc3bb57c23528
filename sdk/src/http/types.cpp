#include <passerelle/http/types.hpp>

#include <charconv>
#include <ctime>

namespace passerelle::http {

namespace {
bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}
} // namespace

std::optional<std::string_view> find_header(const Headers& headers, std::string_view name) {
    for (const auto& h : headers)
        if (iequals(h.name, name)) return std::string_view(h.value);
    return std::nullopt;
}

const char* to_string(ErrorKind kind) {
    switch (kind) {
    case ErrorKind::none: return "none";
    case ErrorKind::http_status: return "http_status";
    case ErrorKind::auth_failed: return "auth_failed";
    case ErrorKind::redirect_refused: return "redirect_refused";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::tls_verify: return "tls_verify";
    case ErrorKind::transport: return "transport";
    case ErrorKind::too_large: return "too_large";
    case ErrorKind::invalid_request: return "invalid_request";
    }
    return "unknown";
}

std::string describe(const Response& r) {
    std::string status = r.status ? "HTTP " + std::to_string(r.status) + (r.reason.empty() ? "" : " " + r.reason) : "";
    switch (r.error) {
    case ErrorKind::none:
    case ErrorKind::http_status:
        return status.empty() ? r.message : status;
    case ErrorKind::auth_failed:
        return "authentication failed" + (r.realm.empty() ? std::string() : " for realm \"" + r.realm + "\"") +
               (r.message.empty() ? "" : ": " + r.message);
    default:
        return std::string(to_string(r.error)) + ": " + r.message;
    }
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view v, std::chrono::system_clock::time_point now) {
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    if (v.empty()) return std::nullopt;
    if (v.front() >= '0' && v.front() <= '9') {
        uint64_t seconds = 0;
        auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
        if (ec != std::errc() || ptr != v.data() + v.size()) return std::nullopt;
        if (seconds > 365ull * 24 * 3600) seconds = 365ull * 24 * 3600; // clamp absurd values
        return std::chrono::milliseconds(seconds * 1000);
    }
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    size_t comma = v.find(", ");
    if (comma == std::string_view::npos) return std::nullopt;
    std::string_view rest = v.substr(comma + 2);
    if (rest.size() != 24 || rest.substr(21) != "GMT") return std::nullopt;
    auto num = [&](size_t pos, size_t len, int& out) {
        auto [ptr, ec] = std::from_chars(rest.data() + pos, rest.data() + pos + len, out);
        return ec == std::errc() && ptr == rest.data() + pos + len;
    };
    std::tm tm{};
    int day, year, hh, mm, ss;
    if (!num(0, 2, day) || !num(7, 4, year) || !num(12, 2, hh) || !num(15, 2, mm) || !num(18, 2, ss))
        return std::nullopt;
    int month = -1;
    for (int i = 0; i < 12; ++i)
        if (rest.substr(3, 3) == months[i]) month = i;
    if (month < 0 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60) return std::nullopt;
    tm.tm_year = year - 1900;
    tm.tm_mon = month;
    tm.tm_mday = day;
    tm.tm_hour = hh;
    tm.tm_min = mm;
    tm.tm_sec = ss;
    time_t t = timegm(&tm);
    auto when = std::chrono::system_clock::from_time_t(t);
    if (when <= now) return std::chrono::milliseconds(0);
    return std::chrono::duration_cast<std::chrono::milliseconds>(when - now);
}

std::string insecure_tls_warning(std::string_view instance, std::string_view url) {
    return std::string(instance) + ": verify_tls = false: the certificate of " + std::string(url) +
           " is not checked, anyone on the network path can impersonate the device and read its credentials;"
           " prefer ca_file = \"<device certificate.pem>\"";
}

} // namespace passerelle::http
