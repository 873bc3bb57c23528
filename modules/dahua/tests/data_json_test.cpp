// The fast reader of Dahua's data JSON: the plain subset cameras send is read
// without nlohmann's lexer, into the very DOM nlohmann builds; everything else
// is declined and left to nlohmann (fuzz_dahua_data_json checks the same on
// arbitrary bytes).
#include "data_json.hpp"

#include <nlohmann/json.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

using passerelle::dahua::parse_data_json;
using passerelle::dahua::parse_plain_json;

namespace {

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

const std::filesystem::path kSeeds = std::filesystem::path(PASSERELLE_SOURCE_DIR) / "modules/dahua/tests/fuzz_data_json";

} // namespace

TEST_CASE("camera data objects take the fast path and equal nlohmann's DOM") {
    const char* plain[] = {
        "{\n   \"SendNs\" : 1795490123203175102,\n   \"Seq\" : 0\n}",
        "{\"Class\":\"Normal\",\"Name\":\"Rule1\",\"Object\":{\"BoundingBox\":[2992,1136,4960,5192],\"ObjectType\":\"Human\"},"
        "\"RuleId\":1,\"UTC\":1700000000}",
        "{\"SmartMotionEnable\" : false, \"x\": null, \"y\": true, \"n\": -42, \"e\": \"a\\\"b\\\\c\\/d\\n\\t\\b\\f\\r\"}",
        "{\"dup\":1,\"dup\":2,\"empty\":{},\"list\":[],\"s\":\"\"}",
        "[1, [2, [3]], {\"a\": \"b\"}]",
        "  17  ",
    };
    for (const char* text : plain) {
        INFO(text);
        auto fast = parse_plain_json(text);
        REQUIRE(fast);
        const auto reference = nlohmann::json::parse(text);
        CHECK(*fast == reference);
        CHECK(fast->dump() == reference.dump());
    }
    CHECK((*parse_plain_json("{\"dup\":1,\"dup\":2}"))["dup"] == 2); // the last one wins, as in nlohmann
    CHECK(parse_plain_json("-5")->is_number_integer());
    CHECK(parse_plain_json("5")->is_number_unsigned());
    CHECK(*parse_plain_json("18446744073709551615") == nlohmann::json::parse("18446744073709551615"));
    CHECK(*parse_plain_json("-9223372036854775808") == nlohmann::json::parse("-9223372036854775808"));
    CHECK(parse_plain_json("-9223372036854775808")->is_number_integer());
}

TEST_CASE("what the fast path declines, nlohmann decides") {
    const char* declined[] = {
        "{\"UTC\":1700000000.5}",          // fractions
        "{\"v\":1e3}",                     // exponents
        "{\"v\":-0}",                      // negative zero
        "{\"v\":18446744073709551616}",    // 2^64: nlohmann makes it a float
        "{\"v\":-9223372036854775809}",    // below INT64_MIN: a float too
        "{\"Name\":\"Entr\\u00e9e\"}",     // \u escapes
        "{\"Name\":\"Caf\xc3\xa9\"}",      // UTF-8
        "{\"Name\":\"\xff\"}",             // invalid UTF-8
        "{\"a\":1,}",                      // trailing comma
        "{\"a\":01}",                      // leading zero
        "{\"a\":\"tab\there\"}",           // raw control byte
        "{\"a\":1} x",                     // trailing garbage
        "{\"a\":",                         // truncated
        "",
        "nul",
        "{\"a\":\"\\x\"}",                 // unknown escape
    };
    for (const char* text : declined) {
        INFO(text);
        CHECK_FALSE(parse_plain_json(text));
        const auto reference = nlohmann::json::parse(text, nullptr, false);
        const auto merged = parse_data_json(text);
        CHECK(merged.is_discarded() == reference.is_discarded());
        if (!reference.is_discarded()) CHECK(merged.dump() == reference.dump());
    }
    // Nesting deeper than the fast reader goes is still parsed, by nlohmann.
    const std::string deep = std::string(100, '[') + std::string(100, ']');
    CHECK_FALSE(parse_plain_json(deep));
    CHECK(parse_data_json(deep) == nlohmann::json::parse(deep));
}

TEST_CASE("the fuzz seeds (real captures' data objects included) agree with nlohmann") {
    int files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(kSeeds)) {
        const std::string text = read_file(entry.path());
        INFO(entry.path().filename().string());
        const auto reference = nlohmann::json::parse(text, nullptr, false);
        const auto merged = parse_data_json(text);
        CHECK(merged.is_discarded() == reference.is_discarded());
        if (!reference.is_discarded()) CHECK(merged.dump() == reference.dump());
        if (auto fast = parse_plain_json(text)) CHECK(*fast == reference);
        ++files;
    }
    CHECK(files >= 10);
}
