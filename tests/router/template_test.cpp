#include "router/router.hpp"
#include "router/template.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <passerelle/event_json.hpp>

#include <cstdlib>
#include <string>

using passerelle::Event;
using passerelle::State;
using passerelle::kernel::validate_template;
using passerelle::kernel::routing::Template;

namespace {
Event sample() {
    Event e;
    e.id = 42;
    e.time_ns = 1795422095123000000; // 2026-11-22T...
    e.received_ns = 1795422095456000000;
    e.source = "cam_garage";
    e.module = "hikvision";
    e.type = "region_entrance";
    e.code = "regionEntrance";
    e.channel = 3;
    e.state = State::start;
    e.attrs = {{"region", "1"}, {"target", "human"}};
    e.attachment_mime = "image/jpeg";
    e.attachment_path = "/var/lib/passerelle/snap/42.jpg";
    return e;
}

std::string render(std::string_view text, const Event& e) {
    Template t;
    std::string error;
    INFO("template: " << text);
    REQUIRE(Template::compile(text, t, error));
    std::string out;
    t.render(e, out);
    return out;
}

std::string error_of(std::string_view text) {
    std::string error;
    INFO("template: " << text);
    CHECK_FALSE(validate_template(text, error));
    CHECK_FALSE(error.empty());
    return error;
}
} // namespace

TEST_CASE("templates substitute every field") {
    const Event e = sample();
    CHECK(render("{id}", e) == "42");
    CHECK(render("{source}/{module}/{type}/{code}", e) == "cam_garage/hikvision/region_entrance/regionEntrance");
    CHECK(render("ch{channel} {state}", e) == "ch3 start");
    CHECK(render("{attrs.region}:{attrs.target}", e) == "1:human");
    CHECK(render("{attachment_mime} {attachment_path}", e) == "image/jpeg /var/lib/passerelle/snap/42.jpg");
    CHECK(render("{time}", e) == passerelle::format_rfc3339(e.time_ns));
    CHECK(render("{received}", e) == passerelle::format_rfc3339(e.received_ns));
    CHECK(render("{time_unix}", e) == std::to_string(e.time_ns / 1000000000));
    CHECK(render("{ type }", e) == "region_entrance");
    CHECK(render("no placeholders", e) == "no placeholders");
    CHECK(render("", e).empty());
}

TEST_CASE("time_local is the local wall time") {
    const Event e = sample();
    std::time_t t = static_cast<std::time_t>(e.time_ns / 1000000000);
    std::tm tm{};
    localtime_r(&t, &tm);
    char want[32];
    std::strftime(want, sizeof want, "%Y-%m-%d %H:%M:%S", &tm);
    CHECK(render("{time_local}", e) == want);
    CHECK(render("{time_local}", e).size() == 19);
}

TEST_CASE("missing attrs render as empty text") {
    const Event e = sample();
    CHECK(render("[{attrs.caller}]", e) == "[]");
    CHECK(render("{attrs.caller|*=unknown}", e) == "unknown");
    CHECK(render("{attrs.caller|=none}", e) == "none");
}

TEST_CASE("maps translate values, with * as the default") {
    Event e = sample();
    CHECK(render("{state|start=1,stop=0}", e) == "1");
    e.state = State::stop;
    CHECK(render("{state|start=1,stop=0}", e) == "0");
    e.state = State::pulse;
    CHECK(render("{state|start=1,stop=0}", e) == "pulse"); // no match, no `*`: the value itself
    CHECK(render("{state|start=1,stop=0,*=2}", e) == "2");
    CHECK(render("{state| start = on , *=off}", e) == "off");
    e.state = State::start;
    CHECK(render("{state| start = on , *=off}", e) == " on ");
    CHECK(render("{attrs.target|human=person,vehicle=car}", e) == "person");
    CHECK(render("{state|start=a\\,b,stop=c}", e) == "a,b");
    CHECK(render("{state|start=\\{x\\},*=y}", e) == "{x}");
    CHECK(render("{state|start=,*=y}", e).empty());
    CHECK(render("{state|start=first,start=second}", e) == "first");
    CHECK(render("{channel|3=three}", e) == "three");
}

TEST_CASE("double braces are literal braces") {
    const Event e = sample();
    CHECK(render("{{", e) == "{");
    CHECK(render("}}", e) == "}");
    CHECK(render("{{{type}}}", e) == "{region_entrance}");
    CHECK(render("{{\"a\":1}}", e) == "{\"a\":1}");
}

TEST_CASE("JSON escaping of rendered values") {
    Event e = sample();
    e.attrs["caller"] = "\"Bob\"\n\\ \t\x01";
    Template t;
    std::string error;
    REQUIRE(Template::compile("name={attrs.caller}", t, error));
    std::string out;
    t.render_json_escaped(e, out);
    CHECK(out == "name=\\\"Bob\\\"\\n\\\\ \\t\\u0001");
    auto parsed = nlohmann::json::parse("\"" + out + "\"");
    CHECK(parsed.get<std::string>() == "name=" + e.attrs["caller"]);
}

TEST_CASE("template errors") {
    CHECK(error_of("{nope}").find("unknown field 'nope'") != std::string::npos);
    CHECK(error_of("{attrs.}").find("unknown field") != std::string::npos);
    CHECK(error_of("{state").find("unclosed '{'") != std::string::npos);
    CHECK(error_of("abc {state|start=1").find("unclosed '{' at offset 4") != std::string::npos);
    CHECK(error_of("x}").find("unmatched '}' at offset 1") != std::string::npos);
    CHECK(error_of("{}").find("empty placeholder") != std::string::npos);
    CHECK(error_of("{ }").find("empty placeholder") != std::string::npos);
    CHECK(error_of("{state|start}").find("no '='") != std::string::npos);
    CHECK(error_of("{state|}").find("no '='") != std::string::npos);
    CHECK(error_of("{state|a=1,b}").find("no '='") != std::string::npos);
    CHECK(error_of("{sta{te}").find("unescaped '{'") != std::string::npos);
    CHECK(error_of("{state|a=\\").find("unclosed") != std::string::npos);
    std::string error;
    CHECK(validate_template("{state|start=1,stop=0} {attrs.x} {{}}", error));
    CHECK(validate_template(std::string(100000, 'x'), error));
    CHECK_FALSE(validate_template(std::string(100001, '{'), error)); // odd count: one brace left unclosed
}
