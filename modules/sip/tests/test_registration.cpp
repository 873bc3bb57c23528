#include "registration.hpp"

#include <passerelle/http/digest.hpp>

#include <catch2/catch.hpp>

using namespace sip;
using namespace std::chrono_literals;
using tp = Registration::time_point;

namespace {

Account account() {
    Account a;
    a.user = "passerelle";
    a.auth_user = "passerelle";
    a.password = "secretp";
    a.registrar = parse_uri("sip:127.0.0.1:5070");
    a.local_ip = "127.0.0.1";
    a.local_port = 5062;
    return a;
}

TokenSource counter() {
    auto n = std::make_shared<int>(0);
    return [n] {
        std::string token = "t";
        token += std::to_string(++*n);
        return token;
    };
}

Message response(const Message& req, int status, std::string extra = {}) {
    std::string text = "SIP/2.0 " + std::to_string(status) + " X\r\nVia: " + req.value("Via") + "\r\nFrom: " + req.value("From") +
                       "\r\nTo: " + req.value("To") + ";tag=r\r\nCall-ID: " + req.value("Call-ID") + "\r\nCSeq: " +
                       req.value("CSeq") + "\r\n" + extra + "Content-Length: 0\r\n\r\n";
    auto r = parse(text);
    REQUIRE(r.message);
    return *r.message;
}

const std::string kChallenge = "WWW-Authenticate: Digest realm=\"127.0.0.1\", nonce=\"n1\", qop=\"auth\", opaque=\"op\"\r\n";

} // namespace

TEST_CASE("register with a 401 challenge, refresh at 80% of the granted expiry") {
    Registration reg(account(), 3600s, counter());
    tp t{};
    auto r1 = reg.start(t);
    REQUIRE(r1);
    CHECK(reg.state() == RegState::registering);
    CHECK(r1->uri == "sip:127.0.0.1:5070");
    CHECK_FALSE(r1->get("Authorization"));
    auto r2 = reg.on_response(response(*r1, 401, kChallenge), t);
    REQUIRE(r2);
    const std::string* auth = r2->get("Authorization");
    REQUIRE(auth);
    CHECK(auth->find("opaque=\"op\"") != std::string::npos);
    CHECK(auth->find("qop=auth") != std::string::npos);
    CHECK(auth->find("username=\"passerelle\"") != std::string::npos);
    CHECK(r2->cseq_number() == r1->cseq_number() + 1);
    CHECK(r2->value("Call-ID") == r1->value("Call-ID"));
    // Contact's own expires wins over the Expires header.
    auto none = reg.on_response(response(*r2, 200, "Contact: <sip:passerelle@127.0.0.1:5062>;expires=30\r\nExpires: 3600\r\n"), t);
    CHECK_FALSE(none);
    CHECK(reg.state() == RegState::registered);
    CHECK(reg.granted() == 30s);
    REQUIRE(reg.next_action());
    CHECK(*reg.next_action() == t + 24s);
    CHECK_FALSE(reg.on_time(t + 23s));
    auto r3 = reg.on_time(t + 24s);
    REQUIRE(r3);
    CHECK(reg.state() == RegState::registering);
    CHECK(r3->get("Authorization"));  // the cached challenge, nc=2
    CHECK(r3->get("Authorization")->find("nc=00000002") != std::string::npos);
}

TEST_CASE("Expires header when our Contact has no expires; qop-less challenge (Asterisk)") {
    Registration reg(account(), 600s, counter());
    auto r1 = reg.start({});
    auto r2 = reg.on_response(response(*r1, 401, "WWW-Authenticate: Digest realm=\"asterisk\", nonce=\"abc\"\r\n"), {});
    REQUIRE(r2);
    CHECK(r2->value("Authorization").find("qop") == std::string::npos);
    reg.on_response(response(*r2, 200, "Contact: <sip:other@1.2.3.4>;expires=10\r\nExpires: 120\r\n"), {});
    CHECK(reg.granted() == 120s);
}

TEST_CASE("a re-challenge to fresh credentials is a wrong password: FAILED with backoff") {
    Registration reg(account(), 3600s, counter());
    tp t{};
    auto r1 = reg.start(t);
    auto r2 = reg.on_response(response(*r1, 401, kChallenge), t);
    REQUIRE(r2);
    auto r3 = reg.on_response(response(*r2, 401, kChallenge), t);
    CHECK_FALSE(r3);
    CHECK(reg.state() == RegState::failed);
    CHECK(reg.auth_failed());
    CHECK(*reg.next_action() == t + 30s);
    // Each failed attempt doubles the wait, up to 10 minutes.
    std::vector<long> waits;
    for (int i = 0; i < 8; ++i) {
        t = *reg.next_action();
        auto a = reg.on_time(t);
        REQUIRE(a);
        auto b = reg.on_response(response(*a, 401, kChallenge), t);
        REQUIRE(b);
        reg.on_response(response(*b, 403), t);
        waits.push_back(std::chrono::duration_cast<std::chrono::seconds>(*reg.next_action() - t).count());
    }
    CHECK(waits == std::vector<long>{60, 120, 240, 480, 600, 600, 600, 600});
}

TEST_CASE("stale=true is a fresh nonce, not a failure") {
    Registration reg(account(), 3600s, counter());
    auto r1 = reg.start({});
    auto r2 = reg.on_response(response(*r1, 401, kChallenge), {});
    auto r3 = reg.on_response(response(*r2, 401, "WWW-Authenticate: Digest realm=\"127.0.0.1\", nonce=\"n2\", stale=true, qop=\"auth\"\r\n"), {});
    REQUIRE(r3);
    CHECK(r3->value("Authorization").find("nonce=\"n2\"") != std::string::npos);
    CHECK(reg.state() == RegState::registering);
}

TEST_CASE("423 raises expires to Min-Expires; 407 uses Proxy-Authorization") {
    Registration reg(account(), 30s, counter());
    auto r1 = reg.start({});
    auto r2 = reg.on_response(response(*r1, 423, "Min-Expires: 120\r\n"), {});
    REQUIRE(r2);
    CHECK(r2->value("Expires") == "120");
    auto r3 = reg.on_response(response(*r2, 407, "Proxy-Authenticate: Digest realm=\"r\", nonce=\"n\"\r\n"), {});
    REQUIRE(r3);
    CHECK(r3->get("Proxy-Authorization"));
}

TEST_CASE("responses to older requests are ignored; stop un-registers") {
    Registration reg(account(), 3600s, counter());
    auto r1 = reg.start({});
    auto r2 = reg.on_response(response(*r1, 401, kChallenge), {});
    CHECK_FALSE(reg.on_response(response(*r1, 200), {}));  // the answer to r1, late
    CHECK(reg.state() == RegState::registering);
    reg.on_response(response(*r2, 200), {});
    CHECK(reg.state() == RegState::registered);
    auto bye = reg.stop();
    REQUIRE(bye);
    CHECK(bye->value("Expires") == "0");
    CHECK(reg.state() == RegState::deregistering);
    reg.on_response(response(*bye, 200), {});
    CHECK(reg.state() == RegState::inactive);
}

TEST_CASE("timeouts and server errors fail with a backoff, not a hammer") {
    Registration reg(account(), 3600s, counter());
    tp t{};
    reg.start(t);
    reg.on_timeout(t);
    CHECK(reg.state() == RegState::failed);
    CHECK_FALSE(reg.auth_failed());
    CHECK(*reg.next_action() == t + 30s);
}
