// passerelle::http::url_encode and mask_secret: the query values modules build
// by hand (Jeedom's plain API, eeDomus) and the secret they carry.
#include <passerelle/http/secret_mask.hpp>
#include <passerelle/http/url.hpp>

#include <catch2/catch.hpp>

using passerelle::http::append_url_encoded;
using passerelle::http::mask_secret;
using passerelle::http::url_encode;

TEST_CASE("url_encode keeps only RFC 3986 unreserved characters") {
    CHECK(url_encode("AZaz09-_.~") == "AZaz09-_.~");
    CHECK(url_encode("a b&c=d+e/f?g#h%") == "a%20b%26c%3Dd%2Be%2Ff%3Fg%23h%25");
    CHECK(url_encode("é") == "%C3%A9");
    CHECK(url_encode(std::string("\0\xff", 2)) == "%00%FF");
    CHECK(url_encode("") == "");
    std::string out = "x=";
    append_url_encoded(out, "1 2");
    CHECK(out == "x=1%202");
    // Every byte value round-trips to either itself or %XX.
    std::string all;
    for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
    const std::string enc = url_encode(all);
    CHECK(enc.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~%") ==
          std::string::npos);
}

TEST_CASE("secrets are masked raw and percent-encoded") {
    CHECK(mask_secret("GET /x?apikey=s3cr%2Bt&k=s3cr+t", "s3cr+t") == "GET /x?apikey=***&k=***");
    CHECK(mask_secret("nothing here", "") == "nothing here");
    CHECK(mask_secret("aaaa", "aa") == "******");
    // A secret that is its own encoding is masked once, not twice.
    CHECK(mask_secret("key=abc123 and abc123", "abc123") == "key=*** and ***");
    // A huge text with many occurrences does not loop.
    std::string big;
    for (int i = 0; i < 10000; ++i) big += "k=SECRET&";
    const std::string masked = mask_secret(big, "SECRET");
    CHECK(masked.find("SECRET") == std::string::npos);
    CHECK(masked.size() == big.size() - 10000 * 3);
}
