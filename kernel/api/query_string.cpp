#include "api/query_string.hpp"

namespace passerelle::kernel::api {

SplitTarget split_target(std::string_view target) {
    if (auto hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
    auto q = target.find('?');
    if (q == std::string_view::npos) return {target, {}};
    return {target.substr(0, q), target.substr(q + 1)};
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string percent_decode(std::string_view in, bool plus_is_space) {
    std::string out;
    out.reserve(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '%' && i + 2 < in.size()) {
            int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(plus_is_space && c == '+' ? ' ' : c);
    }
    return out;
}

QueryParams parse_query(std::string_view query) {
    QueryParams out;
    while (!query.empty()) {
        auto amp = query.find('&');
        std::string_view piece = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (piece.empty()) continue;
        auto eq = piece.find('=');
        std::string_view key = piece.substr(0, eq);
        std::string_view value = eq == std::string_view::npos ? std::string_view{} : piece.substr(eq + 1);
        out.emplace_back(percent_decode(key, true), percent_decode(value, true));
    }
    return out;
}

std::optional<std::string> query_value(const QueryParams& params, std::string_view name) {
    for (const auto& [k, v] : params)
        if (k == name) return v;
    return std::nullopt;
}

} // namespace passerelle::kernel::api
