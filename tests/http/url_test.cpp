#include <passerelle/http/types.hpp>
#include <passerelle/http/url.hpp>

#include <catch2/catch.hpp>

using namespace passerelle::http;

TEST_CASE("URLs split into host, port and target") {
    auto u = parse_url("https://cam.local/ISAPI/Event/notification/alertStream");
    REQUIRE(u);
    CHECK(u->tls);
    CHECK(u->host == "cam.local");
    CHECK(u->port == 443);
    CHECK(u->target == "/ISAPI/Event/notification/alertStream");
    CHECK(u->host_header() == "cam.local");
    CHECK(u->origin() == "https://cam.local:443");

    auto d = parse_url("HTTP://192.168.1.108:8080/cgi-bin/eventManager.cgi?action=attach&codes=[All]#frag");
    REQUIRE(d);
    CHECK_FALSE(d->tls);
    CHECK(d->port == 8080);
    CHECK(d->target == "/cgi-bin/eventManager.cgi?action=attach&codes=[All]");
    CHECK(d->host_header() == "192.168.1.108:8080");

    auto v6 = parse_url("http://[::1]:81");
    REQUIRE(v6);
    CHECK(v6->host == "::1");
    CHECK(v6->target == "/");
    CHECK(v6->host_header() == "[::1]:81");

    auto q = parse_url("http://box?x=1");
    REQUIRE(q);
    CHECK(q->target == "/?x=1");
}

TEST_CASE("bad URLs are refused") {
    for (const char* bad : {"", "ftp://x/", "http://", "http://:80/", "http://user:pw@cam/", "http://h:0/",
                            "http://h:65536/", "http://h:8a/", "http://h/a b", "http://h/\r\nX: y", "http://[::1/",
                            "http://ho st/", "cam.local/x"}) {
        INFO(bad);
        CHECK_FALSE(parse_url(bad));
    }
}

TEST_CASE("redirect locations resolve against the request URL") {
    auto base = *parse_url("http://h:81/a/b?x=1");
    CHECK(resolve_location(base, "/c")->target == "/c");
    CHECK(resolve_location(base, "/c")->port == 81);
    CHECK(resolve_location(base, "d?y")->target == "/a/d?y");
    CHECK(resolve_location(base, "https://o/")->origin() == "https://o:443");
    CHECK(resolve_location(base, "//o2:90/z")->origin() == "http://o2:90");
    CHECK_FALSE(resolve_location(base, ""));
    CHECK_FALSE(resolve_location(base, "/a\r\nb"));
}

TEST_CASE("Retry-After as seconds or HTTP-date") {
    using namespace std::chrono;
    CHECK(parse_retry_after("120") == milliseconds(120000));
    CHECK(parse_retry_after(" 0 ") == milliseconds(0));
    auto now = system_clock::from_time_t(1445412400); // Wed, 21 Oct 2015 07:26:40 GMT
    CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now) == milliseconds(80000));
    CHECK(parse_retry_after("Wed, 21 Oct 2015 07:20:00 GMT", now) == milliseconds(0));
    CHECK_FALSE(parse_retry_after("soon"));
    CHECK_FALSE(parse_retry_after("12x"));
    CHECK_FALSE(parse_retry_after(""));
    CHECK_FALSE(parse_retry_after("Wed, 21 Foo 2015 07:28:00 GMT", now));
    CHECK(parse_retry_after("99999999999") == milliseconds(365ll * 24 * 3600 * 1000)); // clamped
}

TEST_CASE("describe() and headers") {
    Response r;
    r.error = ErrorKind::http_status;
    r.status = 503;
    r.reason = "Service Unavailable";
    r.headers = {{"Retry-After", "5"}};
    CHECK(describe(r) == "HTTP 503 Service Unavailable");
    CHECK(r.header("retry-after") == std::optional<std::string_view>("5"));
    CHECK_FALSE(r.header("x"));
    Response a;
    a.error = ErrorKind::auth_failed;
    a.realm = "IP Camera(C2183)";
    CHECK(describe(a).find("IP Camera(C2183)") != std::string::npos);
    Response t;
    t.error = ErrorKind::timeout;
    t.message = "no byte received for 100 ms (read timeout)";
    CHECK(describe(t) == "timeout: no byte received for 100 ms (read timeout)");
    CHECK(std::string(to_string(ErrorKind::tls_verify)) == "tls_verify");
    CHECK(insecure_tls_warning("cam", "https://cam").find("verify_tls = false") != std::string::npos);
}
