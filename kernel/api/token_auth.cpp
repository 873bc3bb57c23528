#include "api/token_auth.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cctype>

namespace passerelle::kernel::api {

static std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::optional<std::string_view> bearer_token(std::string_view authorization) {
    authorization = trim(authorization);
    constexpr std::string_view scheme = "bearer";
    if (authorization.size() <= scheme.size()) return std::nullopt;
    for (size_t i = 0; i < scheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i]) return std::nullopt;
    std::string_view rest = authorization.substr(scheme.size());
    if (rest.front() != ' ' && rest.front() != '\t') return std::nullopt;
    rest = trim(rest);
    if (rest.empty()) return std::nullopt;
    return rest;
}

bool token_matches(std::string_view expected, std::string_view given) {
    // Hashing first gives two equal-length digests: the comparison time
    // depends neither on where the first difference is nor on the lengths.
    unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(expected.data()), expected.size(), a);
    SHA256(reinterpret_cast<const unsigned char*>(given.data()), given.size(), b);
    return CRYPTO_memcmp(a, b, sizeof a) == 0;
}

bool is_authorized(std::string_view expected, std::string_view authorization_header, const QueryParams& query) {
    if (expected.empty()) return true;
    bool ok = false;
    if (auto t = bearer_token(authorization_header)) ok |= token_matches(expected, *t);
    for (const auto& [k, v] : query)
        if (k == "token") ok |= token_matches(expected, v);
    return ok;
}

} // namespace passerelle::kernel::api
