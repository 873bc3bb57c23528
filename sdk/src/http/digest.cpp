// Challenge parsing and the RFC 7616 digest computation.
#include <passerelle/http/digest.hpp>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <stdexcept>

namespace passerelle::http {

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string to_lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = lower(c);
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

// RFC 7230 tchar.
bool is_tchar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
        return true;
    default:
        return false;
    }
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// A tiny cursor over the header value.
struct Cursor {
    std::string_view s;
    size_t i = 0;
    bool done() const { return i >= s.size(); }
    char peek() const { return done() ? '\0' : s[i]; }
    void skip_space() { while (!done() && is_space(s[i])) ++i; }
    std::string_view token() {
        size_t start = i;
        while (!done() && is_tchar(s[i])) ++i;
        return s.substr(start, i - start);
    }
    // A quoted-string with backslash escapes; the cursor is on the opening quote.
    std::string quoted() {
        std::string out;
        ++i;
        while (!done()) {
            char c = s[i++];
            if (c == '"') return out;
            if (c == '\\' && !done()) c = s[i++];
            out.push_back(c);
        }
        return out; // unterminated: keep what we have
    }
};

void fill_digest_fields(AuthChallenge& c) {
    if (auto v = c.param("realm")) c.realm = *v;
    if (auto v = c.param("nonce")) c.nonce = *v;
    if (auto v = c.param("opaque")) c.opaque = *v;
    if (auto v = c.param("stale")) c.stale = iequals(*v, "true");
    if (auto v = c.param("algorithm")) {
        c.algorithm_name = *v;
        if (iequals(*v, "MD5")) c.algorithm = DigestAlgorithm::md5;
        else if (iequals(*v, "MD5-sess")) c.algorithm = DigestAlgorithm::md5_sess;
        else if (iequals(*v, "SHA-256")) c.algorithm = DigestAlgorithm::sha256;
        else if (iequals(*v, "SHA-256-sess")) c.algorithm = DigestAlgorithm::sha256_sess;
        else c.algorithm_supported = false;
    }
    if (auto v = c.param("qop")) {
        // A comma-separated list inside the quotes: "auth,auth-int".
        std::string_view list = *v;
        while (!list.empty()) {
            size_t comma = list.find(',');
            std::string_view item = list.substr(0, comma);
            while (!item.empty() && is_space(item.front())) item.remove_prefix(1);
            while (!item.empty() && is_space(item.back())) item.remove_suffix(1);
            if (iequals(item, "auth")) c.qop_auth = true;
            else if (iequals(item, "auth-int")) c.qop_auth_int = true;
            if (comma == std::string_view::npos) break;
            list.remove_prefix(comma + 1);
        }
    }
}

void finish(AuthChallenge& c, std::vector<AuthChallenge>& out) {
    if (c.scheme_name.empty()) return;
    if (c.scheme == AuthScheme::digest) fill_digest_fields(c);
    else if (auto v = c.param("realm")) c.realm = *v;
    out.push_back(std::move(c));
}

int strength(const AuthChallenge& c) {
    if (c.scheme == AuthScheme::basic) return 1;
    if (c.scheme != AuthScheme::digest) return 0;
    if (!c.algorithm_supported || c.nonce.empty()) return 0;
    // A qop list present but naming nothing we know: cannot answer.
    if (c.param("qop") && !c.qop_auth && !c.qop_auth_int) return 0;
    switch (c.algorithm) {
    case DigestAlgorithm::sha256: return 5;
    case DigestAlgorithm::sha256_sess: return 4;
    case DigestAlgorithm::md5: return 3;
    case DigestAlgorithm::md5_sess: return 2;
    }
    return 0;
}

const EVP_MD* md_of(DigestAlgorithm a) {
    return (a == DigestAlgorithm::sha256 || a == DigestAlgorithm::sha256_sess) ? EVP_sha256() : EVP_md5();
}

bool is_sess(DigestAlgorithm a) { return a == DigestAlgorithm::md5_sess || a == DigestAlgorithm::sha256_sess; }

std::string hex(const unsigned char* data, size_t n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(n * 2);
    for (size_t i = 0; i < n; ++i) {
        out.push_back(digits[data[i] >> 4]);
        out.push_back(digits[data[i] & 0xf]);
    }
    return out;
}

// Quotes a value for a quoted-string: backslash before '"' and '\'.
std::string quote(std::string_view v) {
    std::string out = "\"";
    for (char c : v) {
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

std::string join(std::initializer_list<std::string_view> parts) {
    std::string out;
    bool first = true;
    for (auto p : parts) {
        if (!first) out.push_back(':');
        out.append(p);
        first = false;
    }
    return out;
}

} // namespace

std::optional<std::string_view> AuthChallenge::param(std::string_view name) const {
    for (const auto& [k, v] : params)
        if (iequals(k, name)) return std::string_view(v);
    return std::nullopt;
}

std::vector<AuthChallenge> parse_challenges(std::string_view value) {
    std::vector<AuthChallenge> out;
    AuthChallenge current;
    Cursor cur{value};
    // Bounded: every iteration consumes at least one character.
    while (!cur.done()) {
        cur.skip_space();
        if (cur.done()) break;
        if (cur.peek() == ',') {
            ++cur.i;
            continue;
        }
        std::string_view tok = cur.token();
        if (tok.empty()) {
            ++cur.i; // a character no grammar rule allows here: skip it
            continue;
        }
        cur.skip_space();
        if (cur.peek() == '=' && !current.scheme_name.empty()) {
            // name=value, unless it is token68 padding ("abc==" then end or comma).
            size_t eq = cur.i;
            while (cur.peek() == '=') ++cur.i;
            size_t equals = cur.i - eq;
            cur.skip_space();
            bool ends = cur.done() || cur.peek() == ',';
            if (equals > 1 || (ends && current.params.empty() && current.token68.empty())) {
                current.token68 = std::string(tok) + std::string(equals, '=');
                continue;
            }
            std::string v;
            if (cur.peek() == '"') v = cur.quoted();
            else {
                size_t start = cur.i;
                while (!cur.done() && cur.peek() != ',' && !is_space(cur.peek())) ++cur.i;
                v = std::string(value.substr(start, cur.i - start));
            }
            current.params.emplace_back(to_lower(tok), std::move(v));
            continue;
        }
        // A bare token starts a new challenge.
        finish(current, out);
        current = AuthChallenge{};
        current.scheme_name = std::string(tok);
        if (iequals(tok, "Digest")) current.scheme = AuthScheme::digest;
        else if (iequals(tok, "Basic")) current.scheme = AuthScheme::basic;
        else current.scheme = AuthScheme::other;
    }
    finish(current, out);
    return out;
}

std::vector<AuthChallenge> parse_challenges(const std::vector<std::string>& values) {
    std::vector<AuthChallenge> out;
    for (const auto& v : values) {
        auto part = parse_challenges(std::string_view(v));
        for (auto& c : part) out.push_back(std::move(c));
    }
    return out;
}

std::optional<AuthChallenge> choose_challenge(const std::vector<AuthChallenge>& challenges) {
    const AuthChallenge* best = nullptr;
    int best_strength = 0;
    for (const auto& c : challenges) {
        int s = strength(c);
        if (s > best_strength) {
            best = &c;
            best_strength = s;
        }
    }
    if (!best) return std::nullopt;
    return *best;
}

std::string basic_authorization(std::string_view user, std::string_view password) {
    std::string plain = std::string(user) + ":" + std::string(password);
    std::string out((plain.size() + 2) / 3 * 4 + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(plain.data()), static_cast<int>(plain.size()));
    out.resize(n > 0 ? static_cast<size_t>(n) : 0);
    std::fill(plain.begin(), plain.end(), '\0');
    return "Basic " + out;
}

std::string hash_hex(DigestAlgorithm algorithm, std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), md, &len, md_of(algorithm), nullptr) != 1)
        throw std::runtime_error("digest: hash function unavailable");
    return hex(md, len);
}

std::string digest_response(DigestAlgorithm algorithm, std::string_view realm, std::string_view nonce,
                            std::string_view qop, const DigestParams& p) {
    std::string ha1 = hash_hex(algorithm, join({p.user, realm, p.password}));
    if (is_sess(algorithm)) ha1 = hash_hex(algorithm, join({ha1, nonce, p.cnonce}));
    std::string ha2 = (qop == "auth-int")
                          ? hash_hex(algorithm, join({p.method, p.uri, hash_hex(algorithm, p.body)}))
                          : hash_hex(algorithm, join({p.method, p.uri}));
    if (qop.empty()) return hash_hex(algorithm, join({ha1, nonce, ha2}));
    char nc[9];
    std::snprintf(nc, sizeof nc, "%08x", p.nc);
    return hash_hex(algorithm, join({ha1, nonce, nc, p.cnonce, qop, ha2}));
}

std::string digest_authorization(const AuthChallenge& c, const DigestParams& p) {
    std::string_view qop = c.qop_auth ? "auth" : (c.qop_auth_int ? "auth-int" : "");
    std::string response = digest_response(c.algorithm, c.realm, c.nonce, qop, p);
    std::string out = "Digest username=" + quote(p.user) + ", realm=" + quote(c.realm) + ", nonce=" + quote(c.nonce) +
                      ", uri=" + quote(p.uri);
    if (!c.algorithm_name.empty()) out += ", algorithm=" + c.algorithm_name;
    out += ", response=" + quote(response);
    if (!qop.empty()) {
        char nc[9];
        std::snprintf(nc, sizeof nc, "%08x", p.nc);
        out += ", qop=" + std::string(qop) + ", nc=" + nc + ", cnonce=" + quote(p.cnonce);
    }
    if (c.param("opaque")) out += ", opaque=" + quote(c.opaque);
    return out;
}

std::string make_cnonce() {
    unsigned char bytes[16];
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
        std::random_device rd;
        for (auto& b : bytes) b = static_cast<unsigned char>(rd());
    }
    return hex(bytes, sizeof bytes);
}

} // namespace passerelle::http
