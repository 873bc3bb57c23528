// The ISAPI configuration documents: deviceInfo, channel lists, triggers
// (center notification on/off), motion detection, call status. Fed the real
// trigger lists of three devices and hostile text.
#include "isapi.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using namespace passerelle::hikvision;

namespace {
std::string fixture(const std::string& name) {
    std::ifstream in(std::string(PASSERELLE_SHARED_DIR) + "/fixtures/hikvision/" + name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}
} // namespace

TEST_CASE("deviceInfo and channel lists", "[hikvision][isapi]") {
    auto di = parse_device_info(
        "<?xml version=\"1.0\"?><DeviceInfo xmlns=\"http://www.hikvision.com/ver20/XMLSchema\"><deviceName>Cam</deviceName>"
        "<model>DS-2CD2185FWD-I</model><serialNumber>SN1</serialNumber><firmwareVersion>V5.5.82</firmwareVersion>"
        "<deviceType>IPCamera</deviceType></DeviceInfo>");
    REQUIRE(di);
    CHECK(di->model == "DS-2CD2185FWD-I");
    CHECK(di->serial == "SN1");
    CHECK(di->firmware == "V5.5.82");
    CHECK_FALSE(parse_device_info("<ResponseStatus/>"));
    CHECK_FALSE(parse_device_info("not xml at all <<<"));

    auto names = parse_channel_names(
        "<InputProxyChannelList><InputProxyChannel><id>1</id><name>Porte</name></InputProxyChannel>"
        "<InputProxyChannel><id>33</id><name>Jardin &amp; cour</name></InputProxyChannel>"
        "<InputProxyChannel><id>x</id><name>bad</name></InputProxyChannel></InputProxyChannelList>");
    REQUIRE(names.size() == 2);
    CHECK(names[1] == "Porte");
    CHECK(names[33] == "Jardin & cour");
    CHECK(parse_channel_names("").empty());
}

TEST_CASE("triggers: center notification read, removed and restored exactly", "[hikvision][isapi]") {
    for (const char* name : {"hiksink_triggers_cam.xml", "hiksink_triggers_nvr.xml", "hiksink_triggers_ptz.xml"}) {
        INFO(name);
        const std::string xml = fixture(name);
        auto before = parse_triggers(xml);
        REQUIRE(before);
        REQUIRE(!before->empty());
        size_t with_center = 0;
        for (const auto& [id, t] : *before) with_center += t.center;
        REQUIRE(with_center > 0);

        auto off = set_center(xml, [](const TriggerInfo&) { return std::optional<bool>(false); });
        REQUIRE(off);
        CHECK(off->changed == static_cast<int>(with_center));
        auto after_off = parse_triggers(off->xml);
        REQUIRE(after_off);
        CHECK(after_off->size() == before->size());
        for (const auto& [id, t] : *after_off) CHECK_FALSE(t.center);

        auto on = set_center(off->xml, [&](const TriggerInfo& t) -> std::optional<bool> {
            if (before->at(t.id).center) return true;
            return std::nullopt;
        });
        REQUIRE(on);
        auto restored = parse_triggers(on->xml);
        REQUIRE(restored);
        for (const auto& [id, t] : *restored) CHECK(t.center == before->at(id).center);
    }
    CHECK_FALSE(set_center("<DeviceInfo/>", [](const TriggerInfo&) { return std::optional<bool>(true); }));
    CHECK_FALSE(parse_triggers("\x01\x02garbage"));
}

TEST_CASE("motion detection, call status, ResponseStatus", "[hikvision][isapi]") {
    auto x = set_motion_enabled("<MotionDetection><enabled>true</enabled><grid><enabled>true</enabled></grid></MotionDetection>", false);
    REQUIRE(x);
    CHECK(x->find("<MotionDetection><enabled>false</enabled>") != std::string::npos);
    CHECK(x->find("<grid><enabled>true</enabled>") != std::string::npos); // only the top-level one
    CHECK_FALSE(set_motion_enabled("<MotionDetection/>", true));

    CHECK(parse_call_status(R"({"CallStatus":{"status":"ring"}})") == "ring");
    CHECK(parse_call_status(R"({"status":"onCall"})") == "onCall");
    CHECK(parse_call_status("{\"CallStatus\":{\"status\":5}}").empty());
    CHECK(parse_call_status("garbage").empty());

    CHECK(response_status_text("<ResponseStatus><statusCode>4</statusCode><statusString>Invalid Operation</statusString>"
                               "<subStatusCode>notSupport</subStatusCode></ResponseStatus>") ==
          "Invalid Operation: notSupport");
    CHECK(response_status_text("<html/>").empty());
}
