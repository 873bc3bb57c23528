// JSON -> XML for clients that can only poll XML with XPath (eeDomus). Pure.
//
//   {"a":1,"b":{"c":"x"}}  -> <result><a>1</a><b><c>x</c></b></result>
//   {"ids":[1,2]}          -> <result><ids>1</ids><ids>2</ids></result>
//   [1,2] (top level)      -> <result><item>1</item><item>2</item></result>
//   {"a":[[1],[2,3]]}      -> <result><a><item>1</item></a><a><item>2</item><item>3</item></a></result>
//   null                   -> an empty element, true/false/numbers as JSON writes them
//
// Text is escaped and made valid XML 1.0 (invalid UTF-8 and control characters
// become U+FFFD). A key that is not a valid XML name is sanitized: every
// character outside [A-Za-z0-9_.-] becomes '_', and '_' is prepended when the
// name would start with a digit, '.', '-' or "xml" (reserved), or be empty.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <string_view>

namespace passerelle::kernel::api {

// Keys keep the order of the ordered_json (the module's order); a plain json has them sorted.
std::string json_to_xml(const nlohmann::ordered_json& value, std::string_view root = "result");
std::string json_to_xml(const nlohmann::json& value, std::string_view root = "result");

std::string xml_element_name(std::string_view key);
std::string xml_escape_text(std::string_view text);

} // namespace passerelle::kernel::api
