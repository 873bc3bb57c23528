// passerelle::http::classify: the one classification of an HTTP exchange every
// HTTP sink uses (webhook, Jeedom, eeDomus), and answer() onto a Reply.
#include <passerelle/http/verdict.hpp>

#include <catch2/catch.hpp>

#include <optional>
#include <vector>

using passerelle::http::classify;
using passerelle::http::ErrorKind;
using passerelle::http::Response;
using passerelle::http::Verdict;

namespace {

Response status(int code, std::optional<std::chrono::milliseconds> after = std::nullopt) {
    Response r;
    r.error = code >= 200 && code < 300 ? ErrorKind::none : ErrorKind::http_status;
    r.status = code;
    r.retry_after = after;
    return r;
}

Response failure(ErrorKind kind, int code = 0) {
    Response r;
    r.error = kind;
    r.status = code;
    r.message = "what the client said";
    return r;
}

} // namespace

TEST_CASE("verdict: 2xx is ok") {
    for (int code : {200, 201, 204, 299}) {
        INFO(code);
        CHECK(classify(status(code)).kind == Verdict::ok);
    }
}

TEST_CASE("verdict: 408, 429 and 5xx are retried, with Retry-After") {
    for (int code : {408, 429, 500, 502, 503, 504, 599}) {
        INFO(code);
        CHECK(classify(status(code)).kind == Verdict::retry);
        CHECK(classify(status(code)).retry_after_ms == 0);
    }
    CHECK(classify(status(429, std::chrono::seconds(7))).retry_after_ms == 7000);
    CHECK(classify(status(503, std::chrono::seconds(2))).retry_after_ms == 2000);
}

TEST_CASE("verdict: 401 and 403 pause the sink, other 4xx give up the event") {
    CHECK(classify(status(401)).kind == Verdict::pause);
    CHECK(classify(status(403)).kind == Verdict::pause);
    for (int code : {400, 404, 405, 410, 413, 422, 499}) {
        INFO(code);
        CHECK(classify(status(code)).kind == Verdict::give_up);
    }
    // Not a clear refusal: retried.
    for (int code : {100, 304, 600, 999}) {
        INFO(code);
        CHECK(classify(status(code)).kind == Verdict::retry);
    }
}

TEST_CASE("verdict: client error kinds") {
    struct Case {
        ErrorKind kind;
        Verdict::Kind expected;
    };
    for (const Case& c : std::vector<Case>{{ErrorKind::transport, Verdict::retry},
                                           {ErrorKind::timeout, Verdict::retry},
                                           {ErrorKind::auth_failed, Verdict::pause},
                                           {ErrorKind::tls_verify, Verdict::pause},
                                           {ErrorKind::redirect_refused, Verdict::pause},
                                           {ErrorKind::invalid_request, Verdict::give_up},
                                           {ErrorKind::too_large, Verdict::give_up}}) {
        INFO(passerelle::http::to_string(c.kind));
        const Verdict v = classify(failure(c.kind));
        CHECK(v.kind == c.expected);
        CHECK_FALSE(v.message.empty());
    }
    // tls_verify and redirects say what to change.
    CHECK(classify(failure(ErrorKind::tls_verify)).message.find("ca_file") != std::string::npos);
    CHECK(classify(failure(ErrorKind::redirect_refused)).message.find("URL") != std::string::npos);
}

TEST_CASE("verdict: too_large follows the status that arrived") {
    CHECK(classify(failure(ErrorKind::too_large, 200)).kind == Verdict::ok); // the peer took the event
    CHECK(classify(failure(ErrorKind::too_large, 503)).kind == Verdict::retry);
    CHECK(classify(failure(ErrorKind::too_large, 401)).kind == Verdict::pause);
    CHECK(classify(failure(ErrorKind::too_large, 400)).kind == Verdict::give_up);
    CHECK(classify(failure(ErrorKind::too_large, 0)).kind == Verdict::give_up); // unreadable head
}

TEST_CASE("verdict: the message names the peer and never the Retry-After detail alone") {
    const Verdict v = classify(status(503, std::chrono::seconds(3)), "Jeedom");
    CHECK(v.message.rfind("Jeedom: HTTP 503", 0) == 0);
    CHECK(classify(status(503)).message.rfind("HTTP 503", 0) == 0);
    CHECK(std::string(passerelle::http::to_string(Verdict::give_up)) == "give_up");
    CHECK(std::string(passerelle::http::to_string(Verdict::pause)) == "pause");
}

TEST_CASE("verdict: answer() maps onto the reply statuses") {
    struct Seen {
        pl_status status = PL_OK;
        std::string text;
        int calls = 0;
    };
    auto reply_into = [](Seen& seen) {
        return passerelle::Reply(
            [](void* ctx, int32_t status, pl_str text) {
                auto* s = static_cast<Seen*>(ctx);
                s->status = static_cast<pl_status>(status);
                s->text.assign(text.data, text.size);
                ++s->calls;
            },
            &seen);
    };
    struct Case {
        Verdict verdict;
        pl_status expected;
    };
    for (const Case& c : std::vector<Case>{{{Verdict::ok, "fine", 0}, PL_OK},
                                           {{Verdict::retry, "later", 1500}, PL_ERR_RETRY},
                                           {{Verdict::pause, "key refused", 0}, PL_ERR_AUTH},
                                           {{Verdict::give_up, "refused", 0}, PL_ERR_PERMANENT}}) {
        Seen seen;
        passerelle::http::answer(reply_into(seen), c.verdict, nlohmann::json{{"n", 1}});
        INFO(passerelle::http::to_string(c.verdict.kind));
        CHECK(seen.calls == 1);
        CHECK(seen.status == c.expected);
        if (c.expected == PL_OK) CHECK(seen.text == R"({"n":1})");
        else CHECK(seen.text.find(c.verdict.message) != std::string::npos);
        if (c.verdict.retry_after_ms) CHECK(seen.text.find("retry_after_ms=1500") != std::string::npos);
    }
}
