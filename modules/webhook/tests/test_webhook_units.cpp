// The webhook's pure parts: templates, settings, request building. No socket.
// (Its error classes are the SDK's HTTP verdict: tests/sdk_helpers.)
#include "event_template.hpp"
#include "webhook_request.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace webhook;
using passerelle::Event;
using passerelle::Fields;

namespace {

Event motion() {
    Event e;
    e.id = 42;
    e.time_ns = 1'700'000'000'123'000'000;
    e.received_ns = e.time_ns + 5'000'000;
    e.source = "cam_garage";
    e.module = "dahua";
    e.type = "motion";
    e.code = "VideoMotion";
    e.channel = 2;
    e.state = passerelle::State::start;
    e.attrs["region"] = "Allée & porte";
    e.attrs["quote"] = "say \"hi\"\n";
    return e;
}

Fields cfg(const char* json) { return Fields(nlohmann::json::parse(json)); }

std::string header(const passerelle::http::Request& r, std::string_view name) {
    auto v = passerelle::http::find_header(r.headers, name);
    return v ? std::string(*v) : std::string();
}

} // namespace

TEST_CASE("template: fields are substituted, other braces stay as written") {
    auto t = EventTemplate::compile(R"({"text": "{type} {state} on {source} ch {channel}", "x": {"y": 1}, "id": {id}})");
    CHECK_FALSE(t.is_constant());
    auto out = t.render(motion(), Escape::json);
    CHECK(out == R"({"text": "motion start on cam_garage ch 2", "x": {"y": 1}, "id": 42})");
    CHECK(nlohmann::json::parse(out)["id"] == 42);
}

TEST_CASE("template: attributes, missing attributes, times") {
    auto t = EventTemplate::compile("{attrs.region}|{attrs.missing}|{time}|{received}|{time_unix}|{code}|{module}");
    CHECK(t.render(motion(), Escape::none) ==
          "Allée & porte||2023-11-14T22:13:20.123Z|2023-11-14T22:13:20.128Z|1700000000|VideoMotion|dahua");
}

TEST_CASE("template: values are escaped for a URL or a JSON string, never the literal text") {
    auto url = EventTemplate::compile("http://h/hook?r={attrs.region}&q={attrs.quote}");
    CHECK(url.render(motion(), Escape::url) == "http://h/hook?r=All%C3%A9e%20%26%20porte&q=say%20%22hi%22%0A");
    auto body = EventTemplate::compile(R"({"q": "{attrs.quote}"})");
    auto out = body.render(motion(), Escape::json);
    CHECK(nlohmann::json::parse(out)["q"] == "say \"hi\"\n");
}

TEST_CASE("template: {event} is the event JSON of the file log") {
    auto body = EventTemplate::compile(R"({"from": "passerelle", "event": {event}})");
    auto j = nlohmann::json::parse(body.render(motion(), Escape::json));
    CHECK(j["event"]["id"] == 42);
    CHECK(j["event"]["attrs"]["region"] == "Allée & porte");
    CHECK(j["event"]["state"] == "start");
}

TEST_CASE("template: value maps are refused with advice, odd braces are literal") {
    CHECK_THROWS_WITH(EventTemplate::compile("{state|start=1,stop=0}"), Catch::Contains("route's params"));
    CHECK_THROWS_AS(EventTemplate::compile("{attrs.}"), TemplateError);
    // Unclosed, unknown, nested, empty: literal text, no throw.
    for (const char* text : {"{", "}", "{}", "{type", "{unknown}", "{{type}}", "{ty pe}", "a{b{c}d}e", "{attrs.x"}) {
        auto t = EventTemplate::compile(text);
        INFO(text);
        CHECK(t.render(Event{}, Escape::none).size() <= std::string_view(text).size() + 1);
    }
    CHECK(EventTemplate::compile("{{type}}").render(motion(), Escape::none) == "{motion}");
    // Hostile: long and brace-heavy templates stay linear and bounded.
    std::string huge(200000, '{');
    CHECK(EventTemplate::compile(huge).render(motion(), Escape::none) == huge);
    std::string many;
    for (int i = 0; i < 10000; ++i) many += "{type}";
    CHECK(EventTemplate::compile(many).render(motion(), Escape::none).size() == 60000);
}

TEST_CASE("settings: defaults and checks") {
    auto s = read_settings(cfg(R"({"url": "http://127.0.0.1:1880/hook/{source}"})"));
    CHECK(s.method == "POST");
    CHECK(s.auth == Auth::none);
    CHECK(s.verify_tls);
    CHECK(s.timeout == std::chrono::seconds(10));

    auto bad = [](const char* json, const char* key) {
        INFO(json);
        try {
            read_settings(cfg(json));
            FAIL("accepted");
        } catch (const passerelle::ConfigError& e) {
            CHECK(e.key == key);
        }
    };
    bad(R"({})", "url");
    bad(R"({"url": "ftp://x/"})", "url");
    bad(R"({"url": "http://user:pw@x/"})", "url");
    bad(R"({"url": "not a url"})", "url");
    bad(R"({"url": "http://x/{state|start=1}"})", "url");
    bad(R"({"url": "http://x/", "method": "TRACE"})", "method");
    bad(R"({"url": "http://x/", "method": "GET", "body": "x"})", "body");
    bad(R"({"url": "http://x/", "auth": "ntlm"})", "auth");
    bad(R"({"url": "http://x/", "auth": "basic"})", "user");
    bad(R"({"url": "http://x/", "auth": "bearer"})", "token");
    bad(R"({"url": "http://x/", "headers": {"Bad Name": "v"}})", "headers.Bad Name");
    bad(R"({"url": "http://x/", "headers": {"X-A": "v\r\nInjected: 1"}})", "headers.X-A");
    bad(R"({"url": "http://x/", "auth": "bearer", "token": "t", "headers": {"Authorization": "x"}})",
        "headers.Authorization");
    bad(R"({"url": "http://x/", "timeout": 0})", "timeout");
}

TEST_CASE("request: POST of the event JSON by default") {
    auto s = read_settings(cfg(R"({"url": "http://127.0.0.1:1880/hook/{source}?t={type}", "headers": {"X-From": "p"}})"));
    auto r = build_request(s, motion(), Fields());
    CHECK(r.method == "POST");
    CHECK(r.url == "http://127.0.0.1:1880/hook/cam_garage?t=motion");
    CHECK(header(r, "Content-Type") == "application/json");
    CHECK(header(r, "X-From") == "p");
    auto j = nlohmann::json::parse(r.body);
    CHECK(j["id"] == 42);
    CHECK(j["source"] == "cam_garage");
    CHECK_FALSE(r.credentials);
}

TEST_CASE("request: GET has no body; a body template follows content_type") {
    auto get = read_settings(cfg(R"({"url": "http://j/core/api/jeeApi.php?id=7&value={state}", "method": "get"})"));
    auto r = build_request(get, motion(), Fields());
    CHECK(r.method == "GET");
    CHECK(r.body.empty());
    CHECK(header(r, "Content-Type").empty());

    auto form = read_settings(cfg(R"({"url": "http://x/", "body": "a={attrs.region}&b={type}",
                                      "content_type": "application/x-www-form-urlencoded"})"));
    CHECK(build_request(form, motion(), Fields()).body == "a=All%C3%A9e%20%26%20porte&b=motion");
    auto text = read_settings(cfg(R"({"url": "http://x/", "body": "{type} at {attrs.region}", "content_type": "text/plain"})"));
    CHECK(build_request(text, motion(), Fields()).body == "motion at Allée & porte");
}

TEST_CASE("request: route params replace url, body and method") {
    auto s = read_settings(cfg(R"({"url": "http://x/default"})"));
    auto r = build_request(s, motion(), cfg(R"({"url": "http://y:8123/api/webhook/abc", "body": "{\"on\": 1}", "method": "PUT"})"));
    CHECK(r.url == "http://y:8123/api/webhook/abc");
    CHECK(r.body == "{\"on\": 1}");
    CHECK(r.method == "PUT");
    CHECK_THROWS_AS(build_request(s, motion(), cfg(R"({"url": "nope"})")), RequestError);
    CHECK_THROWS_AS(build_request(s, motion(), cfg(R"({"method": "BREW"})")), RequestError);
    // A url whose host comes from the event and renders empty cannot be sent.
    auto from_event = read_settings(cfg(R"({"url": "http://{attrs.host}/x"})"));
    CHECK_THROWS_AS(build_request(from_event, motion(), Fields()), RequestError);
}

TEST_CASE("request: auth") {
    auto basic = build_request(read_settings(cfg(R"({"url": "https://x/", "auth": "basic", "user": "u", "password": "p"})")),
                               motion(), Fields());
    REQUIRE(basic.credentials);
    CHECK(basic.credentials->preemptive_basic);
    auto digest = build_request(read_settings(cfg(R"({"url": "https://x/", "auth": "digest", "user": "u", "password": "p"})")),
                                motion(), Fields());
    REQUIRE(digest.credentials);
    CHECK_FALSE(digest.credentials->preemptive_basic);
    auto bearer = build_request(read_settings(cfg(R"({"url": "https://x/", "auth": "bearer", "token": "s3cr3t"})")),
                                motion(), Fields());
    CHECK(header(bearer, "Authorization") == "Bearer s3cr3t");
    CHECK(safe_origin("https://x:8443/path?apikey=s3cr3t") == "https://x:8443");
    CHECK(safe_origin("garbage") == "(invalid url)");
}

TEST_CASE("request: {params.NAME} takes a value the route rendered") {
    auto s = read_settings(cfg(R"({"url": "http://j/core/api/jeeApi.php?apikey=K&type=event&id=12&value={params.value}",
                                   "method": "GET"})"));
    auto r = build_request(s, motion(), cfg(R"({"value": "1 & 2"})"));
    CHECK(r.url == "http://j/core/api/jeeApi.php?apikey=K&type=event&id=12&value=1%20%26%202");
    auto none = build_request(s, motion(), Fields());
    CHECK(none.url == "http://j/core/api/jeeApi.php?apikey=K&type=event&id=12&value=");
    auto number = build_request(s, motion(), cfg(R"({"value": 3})"));
    CHECK(number.url.substr(number.url.size() - 8) == "&value=3");
    CHECK_THROWS_AS(EventTemplate::compile("{params.}"), TemplateError);
}
