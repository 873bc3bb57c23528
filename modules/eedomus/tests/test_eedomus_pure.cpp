// eeDomus request URLs and reply classification.
#include "eedomus_api.hpp"

#include <catch2/catch.hpp>

using namespace passerelle::eedomus;

namespace {
Api local() {
    std::string err;
    return *make_api("http://192.168.1.20/", "user", "s3c r&t", err);
}
} // namespace

TEST_CASE("local and cloud URLs") {
    std::string err;
    auto box = make_api("http://192.168.1.20", "u", "s", err);
    REQUIRE(box);
    CHECK_FALSE(box->cloud);
    auto cloud = make_api("https://api.eedomus.com", "u", "s", err);
    REQUIRE(cloud);
    CHECK(cloud->cloud);
    CHECK_FALSE(make_api("https://api.eedomus.com.evil.example", "u", "s", err)->cloud);
    CHECK_FALSE(make_api("ftp://box", "u", "s", err));
    CHECK_FALSE(make_api("http://box/?x=1", "u", "s", err));
    CHECK(set_url(local(), "1234", "1", "2024-07-01 14:00:00") ==
          "http://192.168.1.20/api/set?action=periph.value&periph_id=1234&value=1"
          "&value_date=2024-07-01%2014%3A00%3A00&api_user=user&api_secret=s3c%20r%26t");
    CHECK(set_url(*cloud, "1", "a b", "") ==
          "https://api.eedomus.com/set?action=periph.value&periph_id=1&value=a%20b&api_user=u&api_secret=s");
    CHECK(get_url(local(), "77") ==
          "http://192.168.1.20/api/get?action=periph.caract&periph_id=77&api_user=user&api_secret=s3c%20r%26t");
}

TEST_CASE("success as a number or a string") {
    for (const char* raw : {R"({"success":1,"body":{"result":"[OK]"}})", R"({"success":"1","body":{"result":"[OK]"}})",
                            R"({"success":true,"body":{}})"}) {
        auto r = classify_reply(raw, "periph 1");
        CHECK(r.verdict.kind == Verdict::ok);
    }
    CHECK(classify_reply(R"({"success":"1","body":{"result":"[OK]"}})", "p").body["result"] == "[OK]");
}

TEST_CASE("Latin-1 bodies are read as Latin-1") {
    const std::string raw = "{\"success\":1,\"body\":{\"name\":\"D\xe9tecteur\",\"last_value\":\"1\"}}";
    auto r = classify_reply(raw, "periph 1");
    REQUIRE(r.verdict.kind == Verdict::ok);
    CHECK(r.body["name"] == "D\xc3\xa9tecteur");
    const std::string err = "{\"success\":\"0\",\"body\":{\"error_code\":\"5\",\"error_msg\":\"P\xe9riph\xe9rique inconnu\"}}";
    auto u = classify_reply(err, "periph 9");
    CHECK(u.verdict.kind == Verdict::give_up);
    CHECK(u.code == 5);
    CHECK(u.verdict.message.find("P\xc3\xa9riph\xc3\xa9rique inconnu") != std::string::npos);
}

TEST_CASE("authentication errors pause, other errors are permanent") {
    for (const char* raw :
         {R"({"success":0,"body":{"error_code":6,"error_msg":"Authentification failed: api_user or api_secret invalid"}})",
          R"({"success":"0","body":{"error_code":"1","error_msg":"Unauthorized"}})"}) {
        CHECK(classify_reply(raw, "p").verdict.kind == Verdict::pause);
    }
    CHECK(classify_reply(R"({"success":0,"body":{"error_code":3,"error_msg":"Action inconnue"}})", "p").verdict.kind ==
          Verdict::give_up);
    CHECK(classify_reply(R"({"success":0})", "p").verdict.kind == Verdict::give_up);
}

TEST_CASE("what is not eeDomus JSON is retried, never a crash") {
    for (std::string raw : {std::string(""), std::string("<html>502</html>"), std::string("{\"body\":1}"),
                            std::string("[]"), std::string(200000, '['), std::string("{\"success\":", 11),
                            std::string("\x00\x01\xff", 3)}) {
        auto r = classify_reply(raw, "p");
        CHECK(r.verdict.kind == Verdict::retry);
        CHECK(r.verdict.message.size() < 300);
    }
    CHECK(loose_int(nlohmann::json("12")) == 12);
    CHECK_FALSE(loose_int(nlohmann::json("12x")));
    CHECK_FALSE(loose_int(nlohmann::json::array()));
}
