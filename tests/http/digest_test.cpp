#include <passerelle/http/digest.hpp>

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>

using namespace passerelle::http;

namespace {

// RFC 7616 section 3.9.1.
constexpr const char* kNonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
constexpr const char* kCnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
constexpr const char* kOpaque = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";
constexpr const char* kRealm = "http-auth@example.org";

DigestParams rfc_params() {
    return DigestParams{"Mufasa", "Circle of Life", "GET", "/dir/index.html", 1, kCnonce};
}

std::string rfc_challenge(const char* algorithm) {
    return std::string("Digest realm=\"") + kRealm + "\", qop=\"auth, auth-int\", algorithm=" + algorithm +
           ", nonce=\"" + kNonce + "\", opaque=\"" + kOpaque + "\"";
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

} // namespace

TEST_CASE("RFC 7616 3.9.1 MD5 and SHA-256 responses") {
    CHECK(digest_response(DigestAlgorithm::md5, kRealm, kNonce, "auth", rfc_params()) ==
          "8ca523f5e9506fed4657c9700eebdbec");
    CHECK(digest_response(DigestAlgorithm::sha256, kRealm, kNonce, "auth", rfc_params()) ==
          "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
}

TEST_CASE("RFC 7616 challenges parse and produce the RFC Authorization") {
    // The RFC's 401 carries both challenges; the SHA-256 one must win.
    std::vector<std::string> headers = {rfc_challenge("SHA-256"), rfc_challenge("MD5")};
    auto challenges = parse_challenges(headers);
    REQUIRE(challenges.size() == 2);
    for (const auto& c : challenges) {
        CHECK(c.scheme == AuthScheme::digest);
        CHECK(c.realm == kRealm);
        CHECK(c.nonce == kNonce);
        CHECK(c.opaque == kOpaque);
        CHECK(c.qop_auth);
        CHECK(c.qop_auth_int);
        CHECK_FALSE(c.stale);
    }
    auto best = choose_challenge(challenges);
    REQUIRE(best);
    CHECK(best->algorithm == DigestAlgorithm::sha256);

    std::string auth = digest_authorization(*best, rfc_params());
    CHECK(auth.rfind("Digest ", 0) == 0);
    CHECK(auth.find("username=\"Mufasa\"") != std::string::npos);
    CHECK(auth.find("uri=\"/dir/index.html\"") != std::string::npos);
    CHECK(auth.find("algorithm=SHA-256") != std::string::npos);
    CHECK(auth.find("qop=auth,") != std::string::npos);
    CHECK(auth.find("nc=00000001") != std::string::npos);
    CHECK(auth.find(std::string("cnonce=\"") + kCnonce + "\"") != std::string::npos);
    CHECK(auth.find(std::string("opaque=\"") + kOpaque + "\"") != std::string::npos);
    CHECK(auth.find("response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\"") !=
          std::string::npos);
    CHECK(auth.find("Circle of Life") == std::string::npos);

    // The Authorization value parses back with the same grammar.
    auto back = parse_challenges(auth);
    REQUIRE(back.size() == 1);
    CHECK(back[0].param("response") == std::optional<std::string_view>("753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"));
    CHECK(back[0].param("nc") == std::optional<std::string_view>("00000001"));

    auto md5 = choose_challenge(parse_challenges(rfc_challenge("MD5")));
    REQUIRE(md5);
    CHECK(digest_authorization(*md5, rfc_params()).find("response=\"8ca523f5e9506fed4657c9700eebdbec\"") !=
          std::string::npos);
}

TEST_CASE("the Hikvision 401 capture parses into an MD5 qop=auth challenge") {
    std::string capture =
        read_file(std::string(PASSERELLE_SHARED_DIR) + "/fixtures/hikvision/digest_401_alertStream_IP_Camera.txt");
    REQUIRE_FALSE(capture.empty());
    const std::string prefix = "WWW-Authenticate: ";
    auto pos = capture.find(prefix);
    REQUIRE(pos != std::string::npos);
    auto end = capture.find('\n', pos);
    std::string value = capture.substr(pos + prefix.size(), end - pos - prefix.size());
    if (!value.empty() && value.back() == '\r') value.pop_back();

    auto challenges = parse_challenges(value);
    REQUIRE(challenges.size() == 1);
    const auto& c = challenges[0];
    CHECK(c.scheme == AuthScheme::digest);
    CHECK(c.realm == "IP Camera(C2183)");
    CHECK(c.nonce == "4e5468694e7a42694e7a4d364f4449354d7a6b354d54513d");
    CHECK(c.qop_auth);
    CHECK_FALSE(c.stale); // stale="FALSE"
    CHECK(c.algorithm == DigestAlgorithm::md5);
    CHECK(c.algorithm_name.empty());

    // No algorithm in the challenge: none echoed, MD5 used, qop=auth answered.
    DigestParams p{"admin", "secret", "GET", "/ISAPI/Event/notification/alertStream", 1, "0a4f113b"};
    std::string auth = digest_authorization(c, p);
    CHECK(auth.find("algorithm=") == std::string::npos);
    CHECK(auth.find("qop=auth, nc=00000001, cnonce=\"0a4f113b\"") != std::string::npos);
    CHECK(auth.find("opaque=") == std::string::npos);
    CHECK(auth.find("response=\"" + digest_response(DigestAlgorithm::md5, c.realm, c.nonce, "auth", p) + "\"") !=
          std::string::npos);
}

TEST_CASE("Digest and Basic in one header: Digest wins; Basic alone is chosen") {
    auto both = parse_challenges(
        "Digest qop=\"auth\", realm=\"IP Camera(76475)\", nonce=\"4e44\", stale=\"FALSE\", Basic realm=\"IP Camera(76475)\"");
    REQUIRE(both.size() == 2);
    CHECK(both[1].scheme == AuthScheme::basic);
    CHECK(both[1].realm == "IP Camera(76475)");
    CHECK(choose_challenge(both)->scheme == AuthScheme::digest);

    auto basic = choose_challenge(parse_challenges("Basic realm=\"box\", charset=\"UTF-8\""));
    REQUIRE(basic);
    CHECK(basic->scheme == AuthScheme::basic);
    // RFC 7617 example: Aladdin / open sesame.
    CHECK(basic_authorization("Aladdin", "open sesame") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

TEST_CASE("RFC 2069 digest (no qop) and stale, case-insensitive") {
    auto c = choose_challenge(parse_challenges("digest REALM=\"testrealm@host.com\", NONCE=\"dcd98b\", Stale=TRUE"));
    REQUIRE(c);
    CHECK(c->stale);
    CHECK_FALSE(c->qop_auth);
    // RFC 2069: response = MD5(HA1:nonce:HA2), no nc/cnonce in the header.
    DigestParams p{"Mufasa", "CircleOfLife", "GET", "/dir/index.html", 7, "ignored"};
    std::string ha1 = hash_hex(DigestAlgorithm::md5, "Mufasa:testrealm@host.com:CircleOfLife");
    std::string ha2 = hash_hex(DigestAlgorithm::md5, "GET:/dir/index.html");
    std::string expected = hash_hex(DigestAlgorithm::md5, ha1 + ":dcd98b:" + ha2);
    std::string auth = digest_authorization(*c, p);
    CHECK(auth.find("response=\"" + expected + "\"") != std::string::npos);
    CHECK(auth.find("nc=") == std::string::npos);
    CHECK(auth.find("cnonce=") == std::string::npos);
}

TEST_CASE("-sess algorithms hash the cnonce into HA1; nc is hex") {
    DigestParams p{"u", "p", "GET", "/", 0x1a, "cn"};
    std::string ha1 = hash_hex(DigestAlgorithm::sha256, hash_hex(DigestAlgorithm::sha256, "u:r:p") + ":n:cn");
    std::string ha2 = hash_hex(DigestAlgorithm::sha256, "GET:/");
    CHECK(digest_response(DigestAlgorithm::sha256_sess, "r", "n", "auth", p) ==
          hash_hex(DigestAlgorithm::sha256, ha1 + ":n:0000001a:cn:auth:" + ha2));
    auto c = choose_challenge(parse_challenges("Digest realm=\"r\", nonce=\"n\", qop=\"auth\", algorithm=SHA-256-sess"));
    REQUIRE(c);
    CHECK(c->algorithm == DigestAlgorithm::sha256_sess);
    CHECK(digest_authorization(*c, p).find("nc=0000001a") != std::string::npos);
}

TEST_CASE("unsupported digest variants are skipped") {
    CHECK_FALSE(choose_challenge(parse_challenges("Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512-256")));
    CHECK_FALSE(choose_challenge(parse_challenges("Digest realm=\"r\", nonce=\"n\", qop=\"auth-conf\"")));
    CHECK_FALSE(choose_challenge(parse_challenges("Digest realm=\"r\"")));  // no nonce
    CHECK_FALSE(choose_challenge(parse_challenges("Negotiate abc123==, NTLM")));
    auto fallback = choose_challenge(parse_challenges("Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512-256, Basic realm=\"r\""));
    REQUIRE(fallback);
    CHECK(fallback->scheme == AuthScheme::basic);
}

TEST_CASE("hostile challenge headers never throw and stay bounded") {
    const char* inputs[] = {"", ",,,", "Digest", "Digest realm=\"unterminated", "=====", "Digest ===, ,= \"",
                            "\x01\x02\xff Digest nonce=\"a\\\"b\"", "Basic realm=", "Digest realm=\"a\" nonce=\"b\""};
    for (const char* in : inputs) {
        auto challenges = parse_challenges(std::string_view(in));
        CHECK(challenges.size() <= 4);
    }
    // Escaped quote inside a quoted string.
    auto c = parse_challenges("Digest realm=\"a\\\"b\", nonce=\"x\"");
    REQUIRE(c.size() == 1);
    CHECK(c[0].realm == "a\"b");
    // A big header is linear and bounded.
    std::string big = "Digest ";
    for (int i = 0; i < 20000; ++i) big.append("p").append(std::to_string(i)).append("=\"v\", ");
    auto huge = parse_challenges(big);
    REQUIRE(huge.size() == 1);
    CHECK(huge[0].params.size() == 20000);
    // Quotes in user names are escaped in the Authorization header.
    auto dc = choose_challenge(parse_challenges("Digest realm=\"r\", nonce=\"n\""));
    DigestParams p{"we\"ird", "p", "GET", "/", 1, "c"};
    auto header = digest_authorization(*dc, p);
    CHECK(header.find("username=\"we\\\"ird\"") != std::string::npos);
    CHECK(parse_challenges(header)[0].param("username") == std::optional<std::string_view>("we\"ird"));
}

TEST_CASE("cnonces are fresh") {
    auto a = make_cnonce(), b = make_cnonce();
    CHECK(a.size() == 32);
    CHECK(a != b);
}
