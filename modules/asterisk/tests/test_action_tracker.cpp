// ActionTracker: responses, EventLists and OriginateResponse matched by
// ActionID; timeouts; connection loss fails every waiting action.
#include "action_tracker.hpp"
#include "fixtures.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace passerelle::asterisk;
using namespace passerelle::asterisk::testing;
using Clock = ActionTracker::Clock;
using namespace std::chrono_literals;

namespace {
std::string rename_ids(std::string bytes, const std::string& from, const std::string& to) {
    std::string needle = "ActionID: " + from + "\r\n";
    for (size_t pos = 0; (pos = bytes.find(needle, pos)) != std::string::npos;) {
        bytes.replace(pos, needle.size(), "ActionID: " + to + "\r\n");
        pos += to.size();
    }
    return bytes;
}
} // namespace

TEST_CASE("ActionIDs are unique") {
    ActionTracker a, b;
    std::set<std::string> ids;
    for (int i = 0; i < 1000; ++i) {
        ids.insert(a.next_id());
        ids.insert(b.next_id());
    }
    CHECK(ids.size() == 2000);
}

TEST_CASE("responses, errors, EventList and OriginateResponse from the captures") {
    ActionTracker t;
    auto now = Clock::now();
    std::map<std::string, ActionResult> done;
    auto cb = [&](std::string id) { return [&, id](ActionResult&& r) { done[id] = std::move(r); }; };

    SECTION("CoreShowChannels list: 2 items + Complete") {
        t.expect("csc-1", now + 5s, cb("csc-1"));
        t.expect("csc-empty", now + 5s, cb("csc-empty"));
        for (auto& p : parse_all(server_capture("20.20.1", "13-coreshowchannels-eventlist"))) t.on_packet(p);
        REQUIRE(done.count("csc-1"));
        CHECK(done["csc-1"].ok);
        CHECK(done["csc-1"].events.size() == 3);
        CHECK(done["csc-1"].events.back().event() == "CoreShowChannelsComplete");
        CHECK(done["csc-empty"].events.size() == 1);
        CHECK(t.waiting() == 0);
    }
    SECTION("async originate: queued, then OriginateResponse Success / Failure with Reason") {
        auto ps = parse_all(server_capture("20.20.1", "11-originate-async-responses"));
        std::vector<std::string> ids;
        for (auto& p : ps)
            if (p.is_event("OriginateResponse")) ids.emplace_back(p.action_id());
        REQUIRE(ids.size() == 4);
        for (auto& id : ids) t.expect(id, now + 60s, cb(id), "OriginateResponse");
        for (auto& p : ps) t.on_packet(p);
        CHECK(done[ids[0]].ok);
        CHECK(done[ids[0]].events.at(0).get("Reason") == "4");
        CHECK(!done[ids[1]].ok);
        CHECK(done[ids[1]].events.at(0).get("Reason") == "0");
        CHECK(done[ids[2]].events.at(0).get("Reason") == "5");
        CHECK(done[ids[3]].events.at(0).get("Reason") == "3");
    }
    SECTION("immediate errors: Extension does not exist., Permission denied") {
        auto ps = parse_all(server_capture("20.20.1", "10-originate-failures-sync"));
        for (auto& p : ps)
            if (p.kind == AmiPacket::Kind::response && !p.action_id().empty()) t.expect(std::string(p.action_id()), now + 5s, cb(std::string(p.action_id())));
        for (auto& p : ps) t.on_packet(p);
        bool found = false;
        for (auto& [id, r] : done)
            if (!r.ok && r.error == "Extension does not exist.") found = true;
        CHECK(found);
        auto denied = parse_all(server_capture("20.20.1", "08-eecallus-privileges"));
        t.expect("cmd", now + 5s, cb("cmd"));
        for (auto& p : denied) t.on_packet(p);
        CHECK(!done["cmd"].ok);
        CHECK(done["cmd"].error == "Permission denied");
    }
    SECTION("Asterisk 13 Response: Follows completes the Command") {
        t.expect("cmd-1", now + 5s, cb("cmd-1"));
        for (auto& p : parse_all(server_capture("13.38.3", "20-command-action-admin"))) t.on_packet(p);
        CHECK(done["cmd-1"].ok);
        CHECK(done["cmd-1"].response.get("Output").find("Asterisk 13.38.3") == 0);
    }
    SECTION("a foreign ActionID and an event without one are not consumed") {
        t.expect("mine", now + 5s, cb("mine"));
        auto bytes = rename_ids(server_capture("20.20.1", "01-banner-login-ping-logoff"), "login-1", "other");
        for (auto& p : parse_all(bytes)) CHECK_FALSE((p.action_id() != "mine" && t.on_packet(p)));
        CHECK(t.waiting() == 1);
    }
}

TEST_CASE("timeouts and connection loss fail waiting actions with a clear error") {
    ActionTracker t;
    auto now = Clock::now();
    std::vector<std::string> errors;
    auto cb = [&](ActionResult&& r) {
        CHECK(!r.ok);
        errors.push_back(r.error);
    };
    t.expect("a", now + 1s, cb);
    t.expect("b", now + 3s, cb, "OriginateResponse");
    t.expect("c", now + 10s, cb);
    CHECK(*t.next_deadline() == now + 1s);
    t.expire(now + 500ms);
    CHECK(errors.empty());
    t.expire(now + 1s);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].find("timeout") != std::string::npos);
    // b gets its "queued" response, then no OriginateResponse: the error says why.
    AmiPacket queued;
    queued.kind = AmiPacket::Kind::response;
    queued.fields = {{"Response", "Success"}, {"ActionID", "b"}, {"Message", "Originate successfully queued"}};
    CHECK(t.on_packet(queued));
    t.expire(now + 4s);
    REQUIRE(errors.size() == 2);
    CHECK(errors[1].find("OriginateResponse") != std::string::npos);
    t.fail_all("AMI connection lost");
    REQUIRE(errors.size() == 3);
    CHECK(errors[2] == "AMI connection lost");
    CHECK(t.waiting() == 0);
    CHECK(!t.next_deadline());
}

TEST_CASE("a callback may start a new action while expiring") {
    ActionTracker t;
    auto now = Clock::now();
    int calls = 0;
    t.expect("x", now, [&](ActionResult&&) {
        ++calls;
        t.expect("y", now + 10s, [&](ActionResult&&) { ++calls; });
    });
    t.expire(now);
    CHECK(calls == 1);
    CHECK(t.waiting() == 1);
}
