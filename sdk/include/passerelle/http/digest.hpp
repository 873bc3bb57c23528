// HTTP authentication, the pure part: parse WWW-Authenticate (and SIP's
// Proxy-Authenticate) challenges, choose the strongest one we support, and
// compute the Authorization value for Basic (RFC 7617) and Digest (RFC 7616,
// with the RFC 2617/2069 forms cameras still send). No I/O, no Asio: the HTTP
// client and the SIP user agent both use it.
//
//   auto challenges = parse_challenges(www_authenticate_value);
//   if (auto c = choose_challenge(challenges); c && c->scheme == AuthScheme::digest) {
//       DigestParams p{.user = u, .password = pw, .method = "GET", .uri = "/x",
//                      .nc = 1, .cnonce = make_cnonce()};
//       std::string authorization = digest_authorization(*c, p);
//   }
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace passerelle::http {

enum class AuthScheme { basic, digest, other };

enum class DigestAlgorithm { md5, md5_sess, sha256, sha256_sess };

// One challenge of a WWW-Authenticate header (a header may hold several, and a
// response may carry several headers).
struct AuthChallenge {
    AuthScheme scheme = AuthScheme::other;
    std::string scheme_name;                                  // as sent: "Digest", "Basic", "Negotiate"...
    std::vector<std::pair<std::string, std::string>> params;  // names lower-cased, values unquoted
    std::string token68;                                      // "Negotiate abc==" style, else empty

    // Digest fields, filled from params.
    std::string realm;
    std::string nonce;
    std::string opaque;
    std::string algorithm_name;            // as sent, empty when absent (then MD5)
    DigestAlgorithm algorithm = DigestAlgorithm::md5;
    bool algorithm_supported = true;       // false for e.g. SHA-512-256
    bool qop_auth = false;                 // qop list contains "auth"
    bool qop_auth_int = false;             // qop list contains "auth-int"
    bool stale = false;                    // stale=true (case-insensitive)

    // The value of a parameter (name lower-case), if present.
    std::optional<std::string_view> param(std::string_view name) const;
};

// Parses one header value into its challenges. Tolerant: unknown schemes are
// kept as AuthScheme::other, garbage yields fewer challenges, never throws.
std::vector<AuthChallenge> parse_challenges(std::string_view header_value);

// Parses several header values (one per WWW-Authenticate line) into one list.
std::vector<AuthChallenge> parse_challenges(const std::vector<std::string>& header_values);

// The challenge to answer: Digest SHA-256(-sess) > Digest MD5(-sess) > Basic.
// Digest challenges with an unsupported algorithm or only unknown qop values
// are skipped. nullopt when nothing is usable.
std::optional<AuthChallenge> choose_challenge(const std::vector<AuthChallenge>& challenges);

// "Basic base64(user:password)".
std::string basic_authorization(std::string_view user, std::string_view password);

struct DigestParams {
    std::string_view user;
    std::string_view password;
    std::string_view method;     // "GET", "REGISTER"...
    std::string_view uri;        // request-target as sent: "/ISAPI/...?x=1" or "sip:host"
    uint32_t nc = 1;             // nonce count: 1 for a fresh nonce, +1 per reuse
    std::string_view cnonce;     // client nonce (make_cnonce()); unused without qop
    std::string_view body = {};  // entity body, only for qop=auth-int
};

// The hex "response" value (exposed for tests and for servers checking a client).
// qop is "auth", "auth-int" or empty (RFC 2069: no nc/cnonce in the hash).
std::string digest_response(DigestAlgorithm algorithm, std::string_view realm, std::string_view nonce,
                            std::string_view qop, const DigestParams& p);

// The full Authorization value answering `challenge`: username, realm, nonce,
// uri, algorithm (echoed only when the server named it), response, qop=auth
// (auth-int only when auth is not offered), nc, cnonce, opaque (echoed).
std::string digest_authorization(const AuthChallenge& challenge, const DigestParams& p);

// 16 random bytes, hex: a fresh client nonce.
std::string make_cnonce();

// Lower-case hex digest of `data` (MD5 or SHA-256 per `algorithm`).
std::string hash_hex(DigestAlgorithm algorithm, std::string_view data);

} // namespace passerelle::http
