#include "api/xml_format.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace passerelle::kernel::api;
using nlohmann::json;

TEST_CASE("JSON objects become nested elements, in the module's key order") {
    CHECK(json_to_xml(json::parse(R"({"a":1,"b":{"c":"x"}})")) == "<result><a>1</a><b><c>x</c></b></result>");
    CHECK(json_to_xml(nlohmann::ordered_json::parse(R"({"ok":true,"f":1.5,"n":null,"e":"","o":{}})")) ==
          "<result><ok>true</ok><f>1.5</f><n/><e/><o/></result>");
    CHECK(json_to_xml(json::object()) == "<result></result>");
}

TEST_CASE("arrays repeat the element") {
    CHECK(json_to_xml(json::parse(R"({"ids":[1,2,3]})")) == "<result><ids>1</ids><ids>2</ids><ids>3</ids></result>");
    CHECK(json_to_xml(json::parse(R"([1,"a"])")) == "<result><item>1</item><item>a</item></result>");
    CHECK(json_to_xml(json::parse(R"({"m":[[1],[2,3]]})")) ==
          "<result><m><item>1</item></m><m><item>2</item><item>3</item></m></result>");
    CHECK(json_to_xml(json::parse(R"({"cams":[{"name":"a"},{"name":"b"}]})")) ==
          "<result><cams><name>a</name></cams><cams><name>b</name></cams></result>");
    CHECK(json_to_xml(json::parse(R"({"none":[]})")) == "<result></result>");
}

TEST_CASE("scalars at the top are the root's text") {
    CHECK(json_to_xml(json("hi & bye")) == "<result>hi &amp; bye</result>");
    CHECK(json_to_xml(json(7)) == "<result>7</result>");
}

TEST_CASE("text is escaped and made valid XML") {
    CHECK(xml_escape_text("<a href=\"x\">&'</a>") == "&lt;a href=\"x\"&gt;&amp;'&lt;/a&gt;");
    CHECK(xml_escape_text("été ☃") == "été ☃");
    CHECK(xml_escape_text(std::string("a\0b\x01\tc\n", 7)) == "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\tc\n");
    CHECK(xml_escape_text("bad \xff\xfe utf8") == "bad \xEF\xBF\xBD\xEF\xBF\xBD utf8");
    CHECK(xml_escape_text("\xC3") == "\xEF\xBF\xBD");         // truncated sequence
    CHECK(xml_escape_text("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD"); // overlong '/'
    CHECK(xml_escape_text("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"); // surrogate
}

TEST_CASE("invalid element names are sanitized") {
    CHECK(xml_element_name("ok_name-1.2") == "ok_name-1.2");
    CHECK(xml_element_name("1abc") == "_1abc");
    CHECK(xml_element_name("a b<c>") == "a_b_c_");
    CHECK(xml_element_name("") == "_");
    CHECK(xml_element_name("-x") == "_-x");
    CHECK(xml_element_name("xmlfoo") == "_xmlfoo");
    CHECK(xml_element_name("XMLns") == "_XMLns");
    CHECK(xml_element_name("ns:tag") == "ns_tag");
    CHECK(xml_element_name("été") == "_t_"); // one '_' per character
    CHECK(json_to_xml(json{{"a b", 1}, {"2x", "y"}}) == "<result><_2x>y</_2x><a_b>1</a_b></result>");
}
