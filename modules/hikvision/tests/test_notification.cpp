// EventNotificationAlert (XML, any namespace) and JSON parts -> notifications.
#include "test_support.hpp"

#include <catch2/catch.hpp>

using namespace passerelle::hikvision;
using namespace hiktest;

namespace {

Notification one(const Decoded& d) {
    INFO(d.error);
    REQUIRE(d.error.empty());
    REQUIRE(d.notifications.size() == 1);
    return d.notifications[0];
}

} // namespace

TEST_CASE("eventType normalization", "[hikvision][notification]") {
    const std::pair<const char*, const char*> table[] = {
        {"VMD", "motion"}, {"vmd", "motion"}, {"motiondetection", "motion"}, {"VMDHumanVehicle", "motion"},
        {"fielddetection", "intrusion"}, {"linedetection", "line_crossing"}, {"regionEntrance", "region_entrance"},
        {"regionExiting", "region_exit"}, {"videoloss", "video_loss"}, {"tamperdetection", "tamper"},
        {"shelteralarm", "tamper"}, {"IO", "io_alarm"}, {"io", "io_alarm"}, {"facedetection", "face"},
        {"PIR", "pir"}, {"pir", "pir"}, {"diskfull", "storage_error"}, {"diskerror", "storage_error"},
        {"nicbroken", "network_error"}, {"ipconflict", "network_error"}, {"illaccess", "login_failure"},
        {"audioexception", "audio"}, {"scenechangedetection", "scene_change"}, {"unattendedBaggage", "object_left"},
        {"attendedBaggage", "object_removed"}, {"AccessControllerEvent", "door"},
        {"VideoIntercomEvent", "doorbell"}, {"somethingNew", "other"}, {"", "other"}};
    for (auto [code, type] : table) {
        INFO(code);
        CHECK(normalize_event_type(code) == type);
    }
}

TEST_CASE("device time parsing", "[hikvision][notification]") {
    const int64_t s = 1'000'000'000;
    CHECK(parse_device_time("2021-07-02T14:25:36+08:00") == 1625207136 * s);
    CHECK(parse_device_time("2021-07-02T06:25:36Z") == 1625207136 * s);
    CHECK(parse_device_time("2021-07-02T06:25:36") == 1625207136 * s); // no zone: taken as UTC
    CHECK(parse_device_time("2021-07-02 06:25:36") == 1625207136 * s);
    CHECK(parse_device_time("2021-07-02T14:25:36+0800") == 1625207136 * s);
    CHECK(parse_device_time("2021-07-02T14:25:36+08") == 1625207136 * s);
    CHECK(parse_device_time("2019-02-20T15:22:34-8:00") == 1550704954 * s);
    CHECK(parse_device_time("2021-07-02T06:25:36.250Z") == 1625207136 * s + 250'000'000);
    CHECK(parse_device_time("1969-12-31T23:59:59Z") == -1 * s);
    for (const char* bad : {"", "2021", "2021-13-02T06:25:36", "2021-07-02T06:25", "2021-07-02T06:25:36+99:00",
                            "2021-07-02T06:25:36 junk", "garbage-garbage-garbage",
                            "5355-01-01T00:00:00Z", "9999-12-31T23:59:59+14:00", "0000-01-01T00:00:00"}) {
        INFO(bad);
        CHECK_FALSE(parse_device_time(bad).has_value());
    }
}

TEST_CASE("hikvision_next fixtures: IO, smart events with targets, no namespace, psialliance, PIR",
          "[hikvision][notification]") {
    auto io = one(decode_xml(fixture("hikvision_next_fixtures/cam1_DS-2CD2T46G2-ISU_io_notification.xml")));
    CHECK(io.event.type == "io_alarm");
    CHECK(io.event.code == "IO");
    CHECK(io.event.channel == 1);
    CHECK(io.event.attr("input_port") == "1");
    CHECK(io.event.attr("channel_name") == "Cam 1");
    CHECK(io.event.attr("mac") == "4f:e4:2f:81:cd:1b");
    CHECK(io.event.attr("ip_address").empty());
    CHECK(io.activity == Activity::active);
    CHECK(io.event.module == "hikvision");

    auto human = one(decode_xml(fixture("hikvision_next_fixtures/fielddetection_human.xml")));
    CHECK(human.event.type == "intrusion");
    CHECK(human.event.attr("region") == "3");
    CHECK(human.event.attr("target") == "human");
    CHECK(human.event.attr("channel_name") == "COUR NORD");
    CHECK(human.pictures_expected == 1);
    CHECK(human.event.time_ns == 1643633585LL * 1'000'000'000);
    auto vehicle = one(decode_xml(fixture("hikvision_next_fixtures/fielddetection_vehicle.xml")));
    CHECK(vehicle.event.attr("region") == "2");
    CHECK(vehicle.event.attr("target") == "vehicle");

    auto duration = one(decode_xml(fixture("hikvision_next_fixtures/ipc_1_fielddetection.xml")));
    CHECK(duration.event.code == "duration");
    CHECK(duration.event.type == "intrusion");
    CHECK(duration.event.attr("relation_event") == "fielddetection");

    auto bare = one(decode_xml(fixture("hikvision_next_fixtures/ipc_thermometry_motiondetection.xml")));
    CHECK(bare.event.type == "motion");
    CHECK(bare.event.channel == 2);
    CHECK(bare.event.attr("channel_name") == "Camera 02");

    auto nvr = one(decode_xml(fixture("hikvision_next_fixtures/nvr_2_fielddetection.xml")));
    CHECK(nvr.event.type == "intrusion");
    CHECK(nvr.event.channel == 34);
    CHECK(nvr.event.attr("active_post_count") == "174");

    auto pir = one(decode_xml(fixture("hikvision_next_fixtures/pir.xml")));
    CHECK(pir.event.type == "pir");
    CHECK(pir.event.attr("channel_name") == "Bedroom");
}

TEST_CASE("heartbeat and ver10 / std-cgi / isapi.com namespaces", "[hikvision][notification]") {
    auto hb = one(decode_xml(strip_comment_lines(fixture("hikvision-isapi-guide_heartbeat_example.xml"))));
    CHECK(hb.heartbeat);
    CHECK(hb.activity == Activity::inactive);
    CHECK(hb.event.type == "video_loss");

    auto pyhik = fixture("pyhik-62_wifi_cam_ver10_videoloss_fielddetection.txt");
    auto first = one(decode_xml(pyhik.substr(0, pyhik.find("--boundary"))));
    CHECK(first.heartbeat);
    CHECK(first.event.attr("channel_name").empty()); // <channelName></channelName>

    auto human = one(decode_xml(fixture("pyhik-62_DS-2CD_fielddetection_human_complete.xml")));
    CHECK(human.event.type == "intrusion");
    CHECK(human.event.attr("target") == "human");
    CHECK(human.event.attr("region") == "1");
    CHECK(human.event.attr("channel_name") == "Driveway");
    CHECK(human.pictures_expected == 0);

    auto unifi = strip_comment_lines(fixture("unifi-cam-proxy-145_std-cgi_oem_vmd_inactive.txt"));
    auto vmd = one(decode_xml(unifi.substr(0, unifi.find("--boundary"))));
    CHECK(vmd.event.type == "motion");
    CHECK(vmd.activity == Activity::inactive);
    CHECK_FALSE(vmd.heartbeat);
}

TEST_CASE("XML quirks: prefixes, unescaped &, several regions, empty elements", "[hikvision][notification]") {
    auto prefixed = one(decode_xml(
        "<?xml version=\"1.0\"?><hik:EventNotificationAlert xmlns:hik=\"http://www.hikvision.com/ver20/XMLSchema\">"
        "<hik:channelID>3</hik:channelID><hik:eventType>linedetection</hik:eventType>"
        "<hik:eventState>active</hik:eventState></hik:EventNotificationAlert>"));
    CHECK(prefixed.event.type == "line_crossing");
    CHECK(prefixed.event.channel == 3);

    auto amp = one(decode_xml("<EventNotificationAlert><channelID>1</channelID><channelName>Garage & Drive &amp; "
                              "co</channelName><eventType>VMD</eventType><eventState>active</eventState>"
                              "<activePostCount/></EventNotificationAlert>"));
    CHECK(amp.event.attr("channel_name") == "Garage & Drive & co");
    CHECK(amp.event.attrs.count("active_post_count") == 0);

    auto io = one(decode_xml("<EventNotificationAlert><channelID/><dynChannelID></dynChannelID>"
                             "<inputIOPortID>4</inputIOPortID><eventType>IO</eventType></EventNotificationAlert>"));
    CHECK(io.event.channel == 4);
    CHECK(io.activity == Activity::none);

    auto multi = decode_xml("<EventNotificationAlert><channelID>2</channelID><eventType>regionEntrance</eventType>"
                            "<eventState>active</eventState><DetectionRegionList>"
                            "<DetectionRegionEntry><regionID>1</regionID><detectionTarget>human</detectionTarget>"
                            "</DetectionRegionEntry><DetectionRegionEntry><regionID>2</regionID>"
                            "<targetType>vehicle</targetType></DetectionRegionEntry><DetectionRegionEntry>"
                            "<regionID/></DetectionRegionEntry></DetectionRegionList></EventNotificationAlert>");
    REQUIRE(multi.notifications.size() == 2);
    CHECK(multi.notifications[0].event.attr("region") == "1");
    CHECK(multi.notifications[0].event.attr("target") == "human");
    CHECK(multi.notifications[1].event.attr("region") == "2");
    CHECK(multi.notifications[1].event.attr("target") == "vehicle");
    CHECK(multi.notifications[1].event.type == "region_entrance");

    auto acs = one(decode_xml("<EventNotificationAlert xmlns=\"http://www.isapi.org/ver20/XMLSchema\">"
                              "<eventType>AccessControllerEvent</eventType><eventState>active</eventState>"
                              "<Extensions><a><b>1</b></a></Extensions>"
                              "<AccessControllerEvent><majorEventType>5</majorEventType><doorNo>2</doorNo>"
                              "</AccessControllerEvent></EventNotificationAlert>"));
    CHECK(acs.event.type == "door");
    CHECK(acs.event.attr("major_event_type") == "5");
    CHECK(acs.event.attr("door_no") == "2");
    CHECK(acs.activity == Activity::none);
}

TEST_CASE("XML errors are reported, never thrown", "[hikvision][notification][hostile]") {
    for (const char* bad : {"", "   ", "<EventNotificationAlert>", "<EventNotificationAlert><eventType>VMD</eventType>",
                            "not xml at all", "<ResponseStatus><statusCode>4</statusCode></ResponseStatus>",
                            "<EventNotificationAlert><channelID>1</channelID></EventNotificationAlert>",
                            "<EventNotificationAlert><eventType>VMD</eventTyp></EventNotificationAlert>",
                            "<a><b></a>", "\xFF\xFE<\x00x\x00"}) {
        INFO(bad);
        auto d = decode_xml(bad);
        CHECK_FALSE(d.error.empty());
        CHECK(d.notifications.empty());
    }
}

TEST_CASE("JSON parts: AccessControllerEvent, intercom, heartbeat, errors", "[hikvision][notification]") {
    auto acs = one(decode_json(fixture("pergolafabio-177_DS-K1T502_AccessControllerEvent.json")));
    CHECK(acs.event.type == "door");
    CHECK(acs.event.code == "AccessControllerEvent");
    CHECK(acs.activity == Activity::none); // a pulse
    CHECK(acs.event.channel == 1);         // doorNo
    CHECK(acs.event.attr("major_event_type") == "5");
    CHECK(acs.event.attr("sub_event_type") == "21");
    CHECK(acs.event.attr("device_name") == "DS-K1T502DBFWX-C");
    CHECK(acs.event.attr("current_event") == "true");
    CHECK(acs.event.attr("active_post_count") == "1");
    CHECK(acs.event.time_ns == 1724671948LL * 1'000'000'000);

    auto ring = one(decode_json("{\"EventNotificationAlert\":{\"eventType\":\"VideoIntercomEvent\",\"eventState\":"
                                "\"active\",\"channelID\":\"1\",\"VideoIntercomEvent\":{\"eventType\":1,\"callType\":2}}}"));
    CHECK(ring.event.type == "doorbell");
    CHECK(ring.event.channel == 1);
    CHECK(ring.event.attr("call_type") == "2");

    auto hb = one(decode_json("{\"eventType\":\"heartBeat\",\"dateTime\":\"2024-01-01T00:00:00Z\"}"));
    CHECK(hb.heartbeat);

    for (const char* bad : {"", "{", "[1,2]", "{\"eventState\":\"active\"}", "{\"eventType\":5}", "null"}) {
        INFO(bad);
        CHECK_FALSE(decode_json(bad).error.empty());
    }
    Part p;
    p.media_type = "text/plain";
    p.body = "Heartbeat";
    CHECK_FALSE(decode_part(p).error.empty());
}
