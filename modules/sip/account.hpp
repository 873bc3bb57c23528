// Who we are on the SIP side: one account per instance. Shared by the
// registration state machine and the user agent. Pure data and helpers.
#pragma once

#include "sip_message.hpp"
#include "sip_uri.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace sip {

struct Account {
    std::string user;          // our user part (AOR and Contact)
    std::string auth_user;     // digest username
    std::string password;      // never logged
    std::optional<Uri> registrar;  // also the outbound proxy; nullopt: direct calls only
    std::string local_ip;      // Contact and SDP address (never 0.0.0.0)
    uint16_t local_port = 5060;

    // The domain of our AOR: the registrar's host:port, else our own address.
    std::string domain() const;
    std::string aor() const { return "sip:" + user + "@" + domain(); }
    std::string contact_uri() const;  // sip:user@ip:port
    std::string via(const std::string& branch) const;  // SIP/2.0/UDP ip:port;branch=...;rport
};

// Random tokens for tags, branches (with the z9hG4bK magic cookie) and Call-IDs.
using TokenSource = std::function<std::string()>;
TokenSource default_token_source();  // 64 random bits, hex, from a seeded engine

// Answers a 401/407 response to `request` (in place): adds Authorization or
// Proxy-Authorization computed from the response's challenge. Returns false
// when the response holds no usable digest challenge. `nc` is the nonce count.
bool add_credentials(Message& request, const Account& account, const Message& challenge_response, uint32_t nc = 1);

} // namespace sip
