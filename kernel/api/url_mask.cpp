#include "api/url_mask.hpp"

#include "api/query_string.hpp"

namespace passerelle::kernel {

std::string mask_token_in_target(std::string_view target) {
    auto q = target.find('?');
    if (q == std::string_view::npos) return std::string(target);
    std::string out(target.substr(0, q + 1));
    std::string_view rest = target.substr(q + 1);
    bool first = true;
    while (true) {
        auto amp = rest.find('&');
        std::string_view piece = rest.substr(0, amp);
        if (!first) out.push_back('&');
        first = false;
        auto eq = piece.find('=');
        std::string_view name = piece.substr(0, eq);
        if (api::percent_decode(name, true) == "token") {
            out.append(name);
            out.append("=***");
        } else {
            out.append(piece);
        }
        if (amp == std::string_view::npos) break;
        rest = rest.substr(amp + 1);
    }
    return out;
}

} // namespace passerelle::kernel
