#include "account.hpp"

#include <passerelle/http/digest.hpp>

#include <cstdio>
#include <memory>
#include <random>

namespace sip {

std::string Account::domain() const {
    if (registrar) {
        std::string d = registrar->host;
        if (registrar->port && registrar->port != 5060) {
            d += ':';
            d += std::to_string(registrar->port);
        }
        return d;
    }
    std::string d = local_ip;
    if (local_port != 5060) {
        d += ':';
        d += std::to_string(local_port);
    }
    return d;
}

std::string Account::contact_uri() const {
    return "sip:" + user + "@" + local_ip + ":" + std::to_string(local_port);
}

std::string Account::via(const std::string& branch) const {
    return "SIP/2.0/UDP " + local_ip + ":" + std::to_string(local_port) + ";branch=" + branch + ";rport";
}

TokenSource default_token_source() {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    return [engine] {
        char buf[17];
        std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>((*engine)()));
        return std::string(buf);
    };
}

bool add_credentials(Message& request, const Account& account, const Message& resp, uint32_t nc) {
    const bool proxy = resp.status == 407;
    auto challenges = passerelle::http::parse_challenges(resp.get_lines(proxy ? "Proxy-Authenticate" : "WWW-Authenticate"));
    auto chosen = passerelle::http::choose_challenge(challenges);
    if (!chosen || chosen->scheme != passerelle::http::AuthScheme::digest) return false;
    std::string cnonce = passerelle::http::make_cnonce();
    passerelle::http::DigestParams p;
    p.user = account.auth_user.empty() ? account.user : account.auth_user;
    p.password = account.password;
    p.method = request.method;
    p.uri = request.uri;
    p.nc = nc;
    p.cnonce = cnonce;
    p.body = request.body;
    const char* header = proxy ? "Proxy-Authorization" : "Authorization";
    request.set(header, passerelle::http::digest_authorization(*chosen, p));
    return true;
}

} // namespace sip
