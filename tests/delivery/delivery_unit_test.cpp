// The pure parts (status classes, backoff, row codec) and the delivery engine
// through the in-memory queue.
#include "fake_sink.hpp"

#include "delivery/delivery_engine.hpp"
#include "delivery/job_codec.hpp"
#include "delivery/retry_policy.hpp"

#include <catch2/catch.hpp>

using namespace passerelle;
using namespace passerelle::kernel;
using namespace passerelle::test;

TEST_CASE("status codes map to delivery outcomes", "[delivery][policy]") {
    CHECK(classify_status(PL_OK) == DeliveryOutcome::delivered);
    CHECK(classify_status(PL_ERR_RETRY) == DeliveryOutcome::retry);
    CHECK(classify_status(PL_ERR_TIMEOUT) == DeliveryOutcome::retry);
    CHECK(classify_status(PL_ERR_AUTH) == DeliveryOutcome::pause_auth);
    CHECK(classify_status(kStatusSinkNotRunning) == DeliveryOutcome::paused);
    for (int32_t s : std::vector<int32_t>{PL_ERR_PERMANENT, PL_ERR_INVALID, PL_ERR_INTERNAL, PL_ERR_UNKNOWN_ACTION, 99, -1})
        CHECK(classify_status(s) == DeliveryOutcome::give_up);
}

TEST_CASE("retry_after_ms prefix is parsed, garbage ignored", "[delivery][policy]") {
    CHECK(parse_retry_after_ms("retry_after_ms=1500 HTTP 503") == 1500);
    CHECK(parse_retry_after_ms("retry_after_ms=20") == 20);
    CHECK(parse_retry_after_ms("HTTP 503 retry_after_ms=20") == 0);
    CHECK(parse_retry_after_ms("retry_after_ms=") == 0);
    CHECK(parse_retry_after_ms("retry_after_ms=-5 x") == 0);
    CHECK(parse_retry_after_ms("retry_after_ms=12x") == 0);
    CHECK(parse_retry_after_ms("retry_after_ms=99999999999999999999999 x") == 0);
    CHECK(parse_retry_after_ms("") == 0);
    CHECK(without_retry_hint("retry_after_ms=1500 HTTP 503") == "HTTP 503");
    CHECK(without_retry_hint("retry_after_ms=20") == "");
    CHECK(without_retry_hint("HTTP 503 retry_after_ms=20") == "HTTP 503 retry_after_ms=20");
    CHECK(without_retry_hint("retry_after_ms=12x y") == "retry_after_ms=12x y"); // malformed: kept whole
}

TEST_CASE("full jitter backoff stays within the doubling ceiling and the cap", "[delivery][policy]") {
    std::mt19937_64 rng(42);
    using std::chrono::milliseconds;
    for (unsigned attempt = 0; attempt < 40; ++attempt) {
        int64_t ceiling = std::min<int64_t>(500ll << std::min(attempt, 20u), 300000);
        for (int i = 0; i < 50; ++i) {
            auto d = full_jitter_backoff(milliseconds(500), milliseconds(300000), attempt, rng);
            REQUIRE(d.count() >= 0);
            REQUIRE(d.count() <= ceiling);
        }
    }
    // Jitter really spreads: 200 draws at attempt 3 are not all equal.
    std::set<int64_t> seen;
    for (int i = 0; i < 200; ++i) seen.insert(full_jitter_backoff(milliseconds(500), milliseconds(300000), 3, rng).count());
    CHECK(seen.size() > 50);
}

TEST_CASE("auth backoff doubles from 60 s to the 10 min cap", "[delivery][policy]") {
    using std::chrono::milliseconds;
    std::vector<int64_t> got;
    for (unsigned a = 0; a < 6; ++a) got.push_back(auth_backoff(milliseconds(60000), milliseconds(600000), a).count());
    CHECK(got == std::vector<int64_t>{60000, 120000, 240000, 480000, 600000, 600000});
}

TEST_CASE("a job round-trips through its outbox row", "[delivery][codec]") {
    Job job = make_job(123456789012345ull, State::stop, 2500);
    auto ev = std::make_shared<Event>(*job.event);
    ev->time_ns = 1732350095123456789;
    ev->received_ns = 1732350095987654321;
    ev->attrs["region"] = "porte \"d'entrée\"\n\ttab";
    ev->attrs["empty"] = "";
    ev->attachment_mime = "image/jpeg";
    for (int i = 0; i < 300; ++i) ev->attachment.push_back(static_cast<uint8_t>(i * 7));
    ev->attachment_path = "/var/lib/x.jpg";
    job.event = ev;
    job.action = "set";
    job.params_json = R"({"id":"1234","value":"1"})";
    job.route = 7;

    std::string json = encode_job_json(job);
    std::string error;
    auto back = decode_job(json, ev->attachment.data(), ev->attachment.size(), error);
    REQUIRE(back);
    CHECK(back->action == "set");
    CHECK(back->params_json == job.params_json);
    CHECK(back->max_age_ms == 2500);
    CHECK(back->route == 7);
    const Event& b = *back->event;
    CHECK(b.id == ev->id);
    CHECK(b.time_ns == ev->time_ns);
    CHECK(b.received_ns == ev->received_ns);
    CHECK(b.source == ev->source);
    CHECK(b.module == ev->module);
    CHECK(b.type == ev->type);
    CHECK(b.code == ev->code);
    CHECK(b.channel == ev->channel);
    CHECK(b.state == State::stop);
    CHECK(b.attrs == ev->attrs);
    CHECK(b.attachment == ev->attachment);
    CHECK(b.attachment_mime == "image/jpeg");
    CHECK(b.attachment_path == "/var/lib/x.jpg");
}

TEST_CASE("invalid UTF-8 from a device still makes a readable row", "[delivery][codec][hostile]") {
    Job job = make_job(5);
    auto ev = std::make_shared<Event>(*job.event);
    ev->attrs["raw"] = std::string("ok\xff\xfe\xc3(\xed\xa0\x80 end", 15);
    ev->attrs[std::string("k\x80", 2)] = "v";
    ev->code = std::string("\xc0\xaf", 2); // overlong '/'
    job.event = ev;
    std::string json = encode_job_json(job);
    CHECK(is_valid_utf8(json));
    std::string error;
    auto back = decode_job(json, nullptr, 0, error);
    REQUIRE(back);
    CHECK(back->event->attrs.at("raw").rfind("ok", 0) == 0);
    CHECK(back->event->attrs.at("raw").find(" end") != std::string::npos);
    CHECK(back->event->attrs.size() == 3);
    // Valid multi-byte text is kept as is.
    ev->attrs["name"] = "caméra 前門 🚪";
    back = decode_job(encode_job_json(job), nullptr, 0, error);
    REQUIRE(back);
    CHECK(back->event->attrs.at("name") == "caméra 前門 🚪");
}

TEST_CASE("unreadable rows are reported, not thrown", "[delivery][codec][hostile]") {
    std::string error;
    for (std::string bad : {std::string(""), std::string("{"), std::string("[]"), std::string("{\"v\":2}"),
                            std::string("{\"v\":1}"), std::string("{\"v\":1,\"event\":5}"),
                            std::string("\x00\x01garbage", 9), std::string(100000, '[')}) {
        error.clear();
        CHECK_FALSE(decode_job(bad, nullptr, 0, error));
        CHECK_FALSE(error.empty());
    }
}

TEST_CASE("memory queue delivers in order through a window", "[delivery][memory]") {
    FakeSink sink("jeedom", 4);
    auto q = make_memory_sink_queue(sink);
    for (uint64_t i = 1; i <= 1000; ++i) q->push(make_job(i));
    REQUIRE(sink.wait_ok(1000));
    CHECK(sink.ok_ids() == iota_ids(1, 1000));
    REQUIRE(sink.wait_until([&] { return q->stats().delivered == 1000; }));
    auto s = q->stats();
    CHECK(s.depth == 0);
    CHECK(s.health == "ok");
    q->close(1s);
}

TEST_CASE("transient failures are retried with backoff, then delivered in order", "[delivery][memory][retry]") {
    FakeSink sink("jeedom", 1);
    sink.set_script([](const Job& j, int attempt) {
        if (j.event->id == 2 && attempt <= 2) return Answer{attempt == 1 ? PL_ERR_RETRY : PL_ERR_TIMEOUT, "HTTP 503"};
        return Answer{};
    });
    QueueOptions o;
    o.retry_base = 5ms;
    o.retry_max = 20ms;
    auto q = make_memory_sink_queue(sink, o);
    for (uint64_t i = 1; i <= 5; ++i) q->push(make_job(i));
    REQUIRE(sink.wait_ok(5));
    CHECK(sink.ok_ids() == iota_ids(1, 5));
    // Nothing after 2 was sent before 2 succeeded (window 1).
    CHECK(sink.attempt_ids() == std::vector<uint64_t>{1, 2, 2, 2, 3, 4, 5});
    REQUIRE(sink.wait_until([&] { return q->stats().delivered == 5; }));
    auto s = q->stats();
    CHECK(s.retried == 2);
    CHECK(s.given_up == 0);
    CHECK(s.health == "ok");
    CHECK(s.last_error == "HTTP 503");
    q->close(1s);
}

TEST_CASE("retry_after_ms from the module is honoured", "[delivery][memory][retry]") {
    FakeSink sink("webhook", 1);
    sink.set_script([](const Job&, int attempt) {
        return attempt == 1 ? Answer{PL_ERR_RETRY, "retry_after_ms=200 HTTP 429"} : Answer{};
    });
    QueueOptions o;
    o.retry_base = 1ms;
    o.retry_max = 2ms; // the module's delay wins over the (tiny) backoff
    auto q = make_memory_sink_queue(sink, o);
    q->push(make_job(1));
    REQUIRE(sink.wait_ok(1));
    auto times = sink.attempt_times(1);
    REQUIRE(times.size() == 2);
    CHECK(times[1] - times[0] >= 200ms);
    REQUIRE(sink.wait_until([&] { return q->stats().delivered == 1; }));
    CHECK(q->stats().retried == 1);
    q->close(1s);
}

TEST_CASE("permanent failures are given up, counted and logged with the event id", "[delivery][memory]") {
    for (int32_t status : std::vector<int32_t>{PL_ERR_PERMANENT, PL_ERR_INVALID, PL_ERR_INTERNAL, PL_ERR_UNKNOWN_ACTION}) {
        FakeSink sink("jeedom", 2);
        sink.set_script([status](const Job& j, int) {
            return j.event->id == 7002 ? Answer{status, "HTTP 404 no such command"} : Answer{};
        });
        LogCapture logs;
        QueueOptions o;
        o.log = logs.fn();
        auto q = make_memory_sink_queue(sink, o);
        for (uint64_t i = 7001; i <= 7004; ++i) q->push(make_job(i));
        REQUIRE(sink.wait_until([&] { auto s = q->stats(); return s.delivered + s.given_up == 4; }));
        auto s = q->stats();
        CHECK(s.given_up == 1);
        CHECK(s.delivered == 3);
        CHECK(s.retried == 0);
        CHECK(sink.ok_ids() == std::vector<uint64_t>{7001, 7003, 7004});
        CHECK(logs.contains("event 7002"));
        CHECK(s.last_error == "HTTP 404 no such command");
        q->close(1s);
    }
}

TEST_CASE("an auth failure pauses the sink without a tight loop, then resumes", "[delivery][memory][auth]") {
    FakeSink sink("jeedom", 1);
    std::atomic<bool> auth_ok{false};
    sink.set_script([&](const Job&, int) { return auth_ok ? Answer{} : Answer{PL_ERR_AUTH, "HTTP 401 bad apikey"}; });
    QueueOptions o;
    o.auth_retry_base = 100ms; // 60 s in production; the shape is what is tested
    o.auth_retry_max = 200ms;
    auto q = make_memory_sink_queue(sink, o);
    for (uint64_t i = 1; i <= 3; ++i) q->push(make_job(i));
    REQUIRE(sink.wait_until([&] { return q->stats().health == "auth_failed"; }));
    auto start = Clock::now();
    size_t before = sink.attempts();
    std::this_thread::sleep_for(600ms);
    size_t during = sink.attempts() - before;
    auto elapsed = Clock::now() - start;
    // At most one attempt per 100 ms (the first pause), whatever the machine speed.
    CHECK(during <= static_cast<size_t>(elapsed / 100ms) + 1);
    CHECK(during >= 1); // still trying, slowly
    for (auto id : sink.attempt_ids()) CHECK(id == 1); // the same event, nothing after it
    auto s = q->stats();
    CHECK(s.health == "auth_failed");
    CHECK(s.last_error == "HTTP 401 bad apikey");
    CHECK(s.depth == 3);
    auth_ok = true;
    REQUIRE(sink.wait_ok(3, 5s));
    CHECK(sink.ok_ids() == iota_ids(1, 3));
    REQUIRE(sink.wait_until([&] { return q->stats().delivered == 3; }));
    CHECK(q->stats().health == "ok");
    q->close(1s);
}

TEST_CASE("an auth pause lasts at least what the sink asks for", "[delivery][memory][auth]") {
    FakeSink sink("jeedom", 1);
    sink.set_script([](const Job&, int attempt) {
        return attempt == 1 ? Answer{PL_ERR_AUTH, "retry_after_ms=400 HTTP 404 banned"} : Answer{};
    });
    QueueOptions o;
    o.auth_retry_base = 10ms; // the sink's 400 ms wins over the (short) auth backoff
    o.auth_retry_max = 20ms;
    auto q = make_memory_sink_queue(sink, o);
    q->push(make_job(1));
    REQUIRE(sink.wait_until([&] { return q->stats().health == "auth_failed"; }));
    REQUIRE(sink.wait_ok(1, 5s));
    auto times = sink.attempt_times(1);
    REQUIRE(times.size() == 2);
    CHECK(times[1] - times[0] >= 400ms);
    CHECK(q->stats().last_error == "HTTP 404 banned"); // the hint is for the engine, not the user
    q->close(1s);
}

TEST_CASE("a sink whose instance is not running is paused, then resumes in order", "[delivery][memory][paused]") {
    FakeSink sink("jeedom", 1);
    std::atomic<bool> running{false};
    sink.set_script([&](const Job&, int) {
        return running ? Answer{} : Answer{kStatusSinkNotRunning, "instance 'jeedom' is not running"};
    });
    LogCapture logs;
    QueueOptions o;
    o.log = logs.fn();
    o.retry_max = 50ms; // the recheck is min(1 s, retry_max): keeps the test short
    auto q = make_memory_sink_queue(sink, o);
    for (uint64_t i = 1; i <= 3; ++i) q->push(make_job(i));
    REQUIRE(sink.wait_until([&] { return q->stats().health == "paused"; }));
    REQUIRE(sink.wait_until([&] { return sink.attempts() >= 4; })); // it keeps looking
    auto s = q->stats();
    CHECK(s.health == "paused");
    CHECK(s.last_error == "instance 'jeedom' is not running");
    CHECK(s.retried == 0); // not a failure of the box: no retry counted
    CHECK(s.depth == 3);
    for (auto id : sink.attempt_ids()) CHECK(id == 1);
    CHECK(logs.count("not running") == 1); // said once, not at every look
    running = true;
    REQUIRE(sink.wait_ok(3, 5s));
    CHECK(sink.ok_ids() == iota_ids(1, 3));
    REQUIRE(sink.wait_until([&] { return q->stats().health == "ok"; }));
    q->close(1s);
}

TEST_CASE("max_age gives up a stale start or pulse but always delivers a stop", "[delivery][memory][max_age]") {
    FakeSink sink("jeedom", 1);
    LogCapture logs;
    QueueOptions o;
    o.log = logs.fn();
    auto q = make_memory_sink_queue(sink, o);
    auto stale = [](uint64_t id, State st) {
        Job j = make_job(id, st, 1000);
        auto e = std::make_shared<Event>(*j.event);
        e->received_ns -= 10'000'000'000; // 10 s ago
        j.event = e;
        return j;
    };
    q->push(stale(1, State::start));
    q->push(stale(2, State::pulse));
    q->push(stale(3, State::stop));
    q->push(make_job(4, State::start, 1000)); // fresh
    q->push(stale(5, State::start));
    REQUIRE(sink.wait_until([&] { auto s = q->stats(); return s.delivered + s.given_up == 5; }));
    CHECK(sink.ok_ids() == std::vector<uint64_t>{3, 4});
    CHECK(q->stats().given_up == 3);
    CHECK(logs.contains("event 1 "));
    CHECK(logs.contains("max_age"));
    q->close(1s);
}

TEST_CASE("a retry with a window re-sends from the first unacknowledged job", "[delivery][memory][window]") {
    FakeSink sink("mqtt", 4);
    sink.set_script([](const Job& j, int attempt) {
        return (j.event->id == 3 && attempt == 1) ? Answer{PL_ERR_RETRY, "busy"} : Answer{};
    });
    QueueOptions o;
    o.retry_base = 5ms;
    auto q = make_memory_sink_queue(sink, o);
    sink.hold(true); // let the whole window go out before any answer
    for (uint64_t i = 1; i <= 8; ++i) q->push(make_job(i));
    REQUIRE(sink.wait_until([&] { return sink.in_flight() == 4; }));
    sink.hold(false);
    REQUIRE(sink.wait_until([&] { return q->stats().delivered == 8; }));
    auto attempts = sink.attempt_ids();
    // 1..4 in flight; 3 fails; 4's answer is ignored and 3, 4, ... are sent again in order.
    REQUIRE(attempts.size() >= 10);
    CHECK(std::vector<uint64_t>(attempts.begin(), attempts.begin() + 4) == iota_ids(1, 4));
    auto second3 = std::find(attempts.begin() + 4, attempts.end(), 3);
    REQUIRE(second3 != attempts.end());
    CHECK(std::vector<uint64_t>(second3, attempts.end()) == iota_ids(3, 8));
    // The last delivery of each id is in order: the sink ends with the latest state.
    CHECK(q->stats().delivered == 8);
    CHECK(q->stats().retried == 1);
    q->close(1s);
}

TEST_CASE("the memory queue bound drops the oldest, counted and logged once per burst", "[delivery][memory][bounds]") {
    FakeSink sink("jeedom", 1);
    sink.hold(true);
    LogCapture logs;
    QueueOptions o;
    o.max_events = 10;
    o.log = logs.fn();
    auto q = make_memory_sink_queue(sink, o);
    for (uint64_t i = 1; i <= 25; ++i) q->push(make_job(i));
    auto s = q->stats();
    CHECK(s.dropped == 15);
    CHECK(s.depth == 10);
    CHECK(logs.count("dropping the oldest") == 1);
    sink.hold(false);
    REQUIRE(sink.wait_until([&] { return q->stats().delivered == 10; }));
    auto ok = sink.ok_ids();
    CHECK(ok.size() == 10);
    CHECK(strictly_increasing(ok));
    CHECK(ok.back() == 25);
    CHECK(std::vector<uint64_t>(ok.end() - 9, ok.end()) == iota_ids(17, 25));
    q->push(make_job(26)); // the burst is over: its total is logged
    CHECK(logs.contains("15 oldest events were dropped"));
    q->close(1s);
}

TEST_CASE("the byte bound counts attachments", "[delivery][memory][bounds]") {
    FakeSink sink("jeedom", 1);
    sink.hold(true);
    QueueOptions o;
    o.max_bytes = 64 * 1024;
    auto q = make_memory_sink_queue(sink, o);
    for (uint64_t i = 1; i <= 20; ++i) {
        Job j = make_job(i);
        auto e = std::make_shared<Event>(*j.event);
        e->attachment.assign(10 * 1024, 0xAB);
        j.event = e;
        q->push(std::move(j));
    }
    auto s = q->stats();
    CHECK(s.dropped >= 13);
    CHECK(s.depth <= 7);
    CHECK(s.depth + s.dropped == 20);
    sink.hold(false);
    REQUIRE(sink.wait_until([&] { return q->stats().delivered == s.depth; }));
    q->close(1s);
}

TEST_CASE("a slow sink does not delay a fast one nor push()", "[delivery][memory][isolation]") {
    FakeSink slow("slow", 1);
    FakeSink fast("fast", 1);
    slow.hold(true); // never answers until the end of the test
    auto qs = make_memory_sink_queue(slow);
    auto qf = make_memory_sink_queue(fast);
    for (uint64_t i = 1; i <= 200; ++i) {
        qs->push(make_job(i));
        qf->push(make_job(i));
    }
    REQUIRE(fast.wait_ok(200));
    CHECK(fast.ok_ids() == iota_ids(1, 200));
    CHECK(slow.ok_ids().empty());
    CHECK(qs->stats().depth == 200);
    slow.hold(false);
    REQUIRE(slow.wait_ok(200));
    qs->close(1s);
    qf->close(1s);
}

TEST_CASE("a sink answering inside deliver() does not deadlock", "[delivery][memory]") {
    struct Inline final : SinkTarget {
        std::string name = "inline";
        std::atomic<uint64_t> n{0};
        void deliver(const Job&, Done done, bool) override { ++n; done(PL_OK, "{}"); }
        const std::string& sink_name() const override { return name; }
        uint32_t max_inflight() const override { return 8; }
    } sink;
    auto q = make_memory_sink_queue(sink);
    for (uint64_t i = 1; i <= 5000; ++i) q->push(make_job(i));
    auto deadline = Clock::now() + 10s;
    while (q->stats().delivered < 5000 && Clock::now() < deadline) std::this_thread::sleep_for(2ms);
    CHECK(q->stats().delivered == 5000);
    CHECK(sink.n == 5000);
    q->close(1s);
}

TEST_CASE("jobs appended in a burst are sent at its outermost end, in order", "[delivery][memory][burst]") {
    FakeSink sink("burst", 16);
    auto q = make_memory_sink_queue(sink);
    DeliveryEngine::burst_begin();
    DeliveryEngine::burst_begin(); // nested: only the outermost end sends
    for (uint64_t i = 1; i <= 10; ++i) q->push(make_job(i));
    CHECK(q->stats().depth == 10);
    DeliveryEngine::burst_end();
    CHECK(sink.attempts() == 0);
    DeliveryEngine::burst_end();
    CHECK(sink.attempts() == 10); // deliver() ran on this thread, inside burst_end
    REQUIRE(sink.wait_ok(10));
    CHECK(sink.ok_ids() == std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
    DeliveryEngine::burst_end(); // unbalanced: ignored
    q->push(make_job(11));       // outside a burst: sent at once
    CHECK(sink.attempts() == 11);
    q->close(1s);
}

TEST_CASE("the sends of one turn tell the sink that more follow, all but the last", "[delivery][memory][burst]") {
    // What lets a sink's executor hold its wake-up until the batch is whole
    // (pl_invoke_args.more_follows): one wake-up per batch, not per event.
    struct Recording final : SinkTarget {
        std::string name = "recording";
        std::vector<bool> more;
        std::vector<Done> pending;
        void deliver(const Job&, Done done, bool more_follows) override {
            more.push_back(more_follows);
            pending.push_back(std::move(done)); // answered later: the window stays full
        }
        const std::string& sink_name() const override { return name; }
        uint32_t max_inflight() const override { return 4; }
    } sink;
    auto q = make_memory_sink_queue(sink);
    DeliveryEngine::burst_begin();
    for (uint64_t i = 1; i <= 6; ++i) q->push(make_job(i));
    DeliveryEngine::burst_end();
    CHECK(sink.more == std::vector<bool>{true, true, true, false}); // the window: 4 of 6
    auto answers = std::move(sink.pending);
    sink.pending.clear();
    for (auto& done : answers) done(PL_OK, "{}"); // each answer frees one slot: one send each
    CHECK(sink.more == std::vector<bool>{true, true, true, false, false, false});
    q->push(make_job(7)); // alone: nothing follows it
    CHECK(sink.more.back() == false);
    for (auto& done : sink.pending) done(PL_OK, "{}");
    q->close(1s);
}

// A sink that answers inside deliver(), on the driving thread.
struct InlineSink final : SinkTarget {
    InlineSink(std::string n, uint32_t w) : name(std::move(n)), window(w) {}
    std::string name;
    uint32_t window;
    std::mutex m;
    std::vector<uint64_t> ids;
    void deliver(const Job& job, Done done, bool) override {
        {
            std::lock_guard lk(m);
            ids.push_back(job.event->id);
        }
        done(PL_OK, "{}");
    }
    const std::string& sink_name() const override { return name; }
    uint32_t max_inflight() const override { return window; }
};

TEST_CASE("a flood of answers given inside deliver() keeps the order and loses nothing", "[delivery][memory][burst]") {
    // Every answer arrives while the pushing thread drives: past a few turns the
    // engine's own thread takes over. Whoever drives, the sink sees ids in order.
    InlineSink sink("inline", 4);
    auto q = make_memory_sink_queue(sink);
    std::vector<std::thread> pushers;
    std::atomic<uint64_t> next{0};
    std::mutex order; // ids are taken and pushed atomically, so the queue order is the id order
    for (int t = 0; t < 3; ++t)
        pushers.emplace_back([&] {
            for (int i = 0; i < 3000; ++i) {
                std::lock_guard lk(order);
                q->push(make_job(++next));
            }
        });
    for (auto& p : pushers) p.join();
    auto deadline = Clock::now() + 10s;
    while (q->stats().delivered < 9000 && Clock::now() < deadline) std::this_thread::sleep_for(2ms);
    CHECK(q->stats().delivered == 9000);
    std::lock_guard lk(sink.m);
    REQUIRE(sink.ids.size() == 9000);
    CHECK(strictly_increasing(sink.ids));
    q->close(1s);
}

TEST_CASE("answers from the sink's thread while another thread pushes: all delivered once, in order", "[delivery][memory][burst]") {
    FakeSink sink("threads", 8);
    auto q = make_memory_sink_queue(sink);
    for (uint64_t i = 1; i <= 4000; ++i) { // half of the jobs in bursts of 50, each one closed
        if (i % 100 == 1) DeliveryEngine::burst_begin();
        q->push(make_job(i));
        if (i % 100 == 50) DeliveryEngine::burst_end();
    }
    REQUIRE(sink.wait_ok(4000));
    CHECK(sink.attempt_ids().size() == 4000); // no duplicate, no go-back
    CHECK(strictly_increasing(sink.ok_ids()));
    q->close(1s);
}

TEST_CASE("a job appended while the driver deletes acknowledged rows is still sent", "[delivery][engine][race]") {
    // The driver releases its lock to delete rows. An append made in that gap
    // finds a driver at work and leaves the job to it: the driver must take
    // one more turn for it, or the job waits for the next event (it did).
    FakeSink sink("rows", 1);
    DeliveryEngine* engine = nullptr;
    std::atomic<int> removals{0};
    auto remove_rows = [&](std::vector<int64_t>, int64_t) {
        if (removals.fetch_add(1) != 0) return;
        std::thread other([&] {
            QueuedJob q2{std::make_shared<const Job>(make_job(2)), 2, now_ms_since_epoch(), 100};
            engine->append({std::move(q2)});
        });
        other.join(); // the append is done, and found the driver busy
    };
    DeliveryEngine e(sink, QueueOptions{}, remove_rows);
    engine = &e;
    e.append({QueuedJob{std::make_shared<const Job>(make_job(1)), 1, now_ms_since_epoch(), 100}});
    REQUIRE(sink.wait_ok(2));
    CHECK(sink.ok_ids() == std::vector<uint64_t>{1, 2});
    CHECK(removals.load() >= 1);
    e.close(1s);
}

TEST_CASE("a driver that hands over after many turns delivers what it took first", "[delivery][memory][burst][race]") {
    // A burst of 100 jobs to a sink that answers inside deliver(), one at a
    // time: the driver makes a turn per job and hands over to the engine thread
    // after 16. The job it had taken in its last turn counted as in flight; it
    // was dropped, so the window stayed shut and 84 jobs waited forever.
    InlineSink sink("inline1", 1);
    auto q = make_memory_sink_queue(sink);
    DeliveryEngine::burst_begin();
    for (uint64_t i = 1; i <= 100; ++i) q->push(make_job(i));
    DeliveryEngine::burst_end();
    auto deadline = Clock::now() + 10s;
    while (q->stats().delivered < 100 && Clock::now() < deadline) std::this_thread::sleep_for(2ms);
    CHECK(q->stats().delivered == 100);
    std::lock_guard lk(sink.m);
    CHECK(sink.ids.size() == 100);
    CHECK(strictly_increasing(sink.ids));
    q->close(1s);
}
