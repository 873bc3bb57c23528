// The durable outbox: order, restart, kill -9, bounds, unwritable state_dir,
// full disk, administration, the event id sequence.
#include "fake_sink.hpp"

#include "delivery/sequence_store.hpp"

#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <csignal>
#include <fstream>
#include <sys/wait.h>

using namespace passerelle;
using namespace passerelle::kernel;
using namespace passerelle::test;

namespace {

OutboxOptions options_for(const TempDir& dir, LogCapture* logs = nullptr) {
    OutboxOptions o;
    o.state_dir = dir.str();
    if (logs) o.log = logs->fn();
    return o;
}

uint64_t rows_for(const std::string& state_dir, const std::string& sink) {
    for (auto& b : outbox_list(state_dir))
        if (b.sink == sink) return b.events;
    return 0;
}

} // namespace

TEST_CASE("outbox delivers in order and deletes acknowledged rows", "[outbox]") {
    TempDir dir;
    auto store = OutboxStore::open(options_for(dir));
    REQUIRE(store->durable());
    CHECK(store->error().empty());
    FakeSink sink("jeedom", 4);
    auto q = store->open_queue(sink);
    for (uint64_t i = 1; i <= 2000; ++i) q->push(make_job(i));
    REQUIRE(sink.wait_ok(2000));
    CHECK(sink.ok_ids() == iota_ids(1, 2000));
    REQUIRE(sink.wait_until([&] { return q->stats().delivered == 2000; }));
    store->flush();
    CHECK(rows_for(dir.str(), "jeedom") == 0);
    CHECK(store->commits() >= 1);
    CHECK(store->commits() < 2000); // group commit: not one transaction per event
    auto s = q->stats();
    CHECK(s.health == "ok");
    CHECK(s.depth == 0);
    q->close(1s);
}

TEST_CASE("stats say how many accepted jobs are not on disk yet", "[outbox][stats]") {
    TempDir dir;
    auto store = OutboxStore::open(options_for(dir));
    FakeSink sink("jeedom", 4);
    sink.hold(true); // nothing is acknowledged: the depth stays
    auto q = store->open_queue(sink);
    for (uint64_t i = 1; i <= 50; ++i) q->push(make_job(i));
    auto s = q->stats();
    CHECK(s.depth == 50);              // pushed jobs count at once...
    CHECK(s.uncommitted <= s.depth);   // ...some of them maybe not committed yet
    store->flush();
    REQUIRE(sink.wait_until([&] { return q->stats().uncommitted == 0; }));
    CHECK(q->stats().depth == 50);
    CHECK(rows_for(dir.str(), "jeedom") == 50); // uncommitted 0 means on disk
    sink.hold(false);
    REQUIRE(sink.wait_ok(50));
    q->close(1s);
}

TEST_CASE("rows left at close are delivered first, in order, after a restart", "[outbox][restart]") {
    TempDir dir;
    {
        auto store = OutboxStore::open(options_for(dir));
        FakeSink down("jeedom", 1);
        down.set_script([](const Job&, int) { return Answer{PL_ERR_RETRY, "connection refused"}; });
        QueueOptions o;
        o.retry_base = 10s; // stays down for the whole first run
        auto q = store->open_queue(down, o);
        for (uint64_t i = 1; i <= 300; ++i) {
            Job j = make_job(i);
            if (i % 100 == 0) {
                auto e = std::make_shared<Event>(*j.event);
                e->attachment_mime = "image/jpeg";
                e->attachment.assign(5000, static_cast<uint8_t>(i));
                j.event = e;
            }
            q->push(std::move(j));
        }
        REQUIRE(down.wait_until([&] { return q->stats().retried >= 1; }));
        CHECK(q->stats().health == "retrying");
        q->close(1s);
        store->flush();
        CHECK(rows_for(dir.str(), "jeedom") == 300);
    }
    LogCapture logs;
    auto store = OutboxStore::open(options_for(dir, &logs));
    FakeSink up("jeedom", 2);
    std::mutex m;
    std::map<uint64_t, std::vector<uint8_t>> attachments;
    up.set_script([&](const Job& j, int) {
        std::lock_guard lk(m);
        if (!j.event->attachment.empty()) attachments[j.event->id] = j.event->attachment;
        CHECK(j.event->attr("seq") == std::to_string(j.event->id));
        return Answer{};
    });
    up.hold(true);
    auto q = store->open_queue(up);
    CHECK(q->stats().depth == 300);
    q->push(make_job(301)); // new events come after the backlog
    up.hold(false);
    REQUIRE(up.wait_ok(301));
    CHECK(up.ok_ids() == iota_ids(1, 301));
    CHECK(logs.contains("300 events left by the previous run"));
    {
        std::lock_guard lk(m);
        REQUIRE(attachments.size() == 3);
        CHECK(attachments[200] == std::vector<uint8_t>(5000, 200));
    }
    REQUIRE(up.wait_until([&] { return q->stats().delivered == 301; }));
    q->close(1s);
    store->flush();
    CHECK(rows_for(dir.str(), "jeedom") == 0);
}

TEST_CASE("committed events survive kill -9 and are delivered in order", "[outbox][crash]") {
    TempDir dir;
    constexpr uint64_t N = 5000;
    int pipefd[2];
    REQUIRE(pipe(pipefd) == 0);
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        close(pipefd[0]);
        // Child: a sink that acknowledges the first half, then is "down".
        auto store = OutboxStore::open(options_for(dir));
        FakeSink sink("jeedom", 8);
        sink.set_script([](const Job& j, int) {
            return j.event->id <= N / 2 ? Answer{} : Answer{PL_ERR_RETRY, "down"};
        });
        QueueOptions o;
        o.retry_base = 60s;
        auto q = store->open_queue(sink, o);
        for (uint64_t i = 1; i <= N; ++i) q->push(make_job(i));
        store->flush(); // every push is committed
        sink.wait_ok(N / 2, 20s);
        char ok = store->durable() ? 'y' : 'n';
        (void)!write(pipefd[1], &ok, 1);
        for (;;) pause(); // killed here, nothing closed
    }
    close(pipefd[1]);
    char ok = 0;
    REQUIRE(read(pipefd[0], &ok, 1) == 1);
    close(pipefd[0]);
    CHECK(ok == 'y');
    kill(child, SIGKILL);
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);

    auto store = OutboxStore::open(options_for(dir));
    REQUIRE(store->durable());
    FakeSink sink("jeedom", 8);
    sink.hold(true);
    auto q = store->open_queue(sink);
    auto depth = q->stats().depth;
    sink.hold(false);
    // At-least-once: everything not acknowledged is there; some acknowledged
    // rows may come again (their deletion had not been committed yet).
    CHECK(depth >= N / 2);
    CHECK(depth <= N);
    REQUIRE(sink.wait_ok(depth));
    auto ids = sink.ok_ids();
    CHECK(strictly_increasing(ids));
    REQUIRE_FALSE(ids.empty());
    CHECK(ids.back() == N);
    CHECK(ids.front() <= N / 2 + 1);
    CHECK(ids.size() == N - ids.front() + 1); // contiguous: nothing lost in the middle
    q->close(1s);
}

TEST_CASE("the outbox bound drops the oldest rows, on disk too", "[outbox][bounds]") {
    TempDir dir;
    LogCapture logs;
    auto store = OutboxStore::open(options_for(dir, &logs));
    FakeSink sink("eedomus", 1);
    sink.hold(true);
    QueueOptions o;
    o.max_events = 50;
    auto q = store->open_queue(sink, o);
    for (uint64_t i = 1; i <= 500; ++i) q->push(make_job(i));
    store->flush();
    REQUIRE(sink.wait_until([&] { return q->stats().dropped == 450; }));
    store->flush();
    CHECK(rows_for(dir.str(), "eedomus") == 50);
    CHECK(q->stats().depth == 50);
    CHECK(logs.contains("dropping the oldest"));
    sink.hold(false);
    REQUIRE(sink.wait_until([&] { return q->stats().delivered == 50; }));
    auto ok = sink.ok_ids();
    CHECK(strictly_increasing(ok));
    CHECK(ok.back() == 500);
    q->close(1s);
}

TEST_CASE("an unwritable state_dir is said loudly and events still flow in memory", "[outbox][degraded]") {
    TempDir dir;
    auto file = dir.path / "not-a-directory";
    std::ofstream(file) << "x";
    // A path under a regular file fails with ENOTDIR even for root (chmod would not).
    std::string state_dir = (file / "state").string();
    LogCapture logs;
    OutboxOptions o;
    o.state_dir = state_dir;
    o.log = logs.fn();
    auto store = OutboxStore::open(o);
    CHECK_FALSE(store->durable());
    CHECK(store->error().find("state_dir " + state_dir + " is not writable") != std::string::npos);
    CHECK(store->error().find("events are kept in memory only and will be lost on restart") != std::string::npos);
    CHECK(logs.contains("is not writable"));
    FakeSink sink("jeedom", 1);
    auto q = store->open_queue(sink);
    for (uint64_t i = 1; i <= 100; ++i) q->push(make_job(i));
    REQUIRE(sink.wait_ok(100));
    CHECK(sink.ok_ids() == iota_ids(1, 100));
    REQUIRE(sink.wait_until([&] { return q->stats().delivered == 100; }));
    auto s = q->stats();
    CHECK(s.health == "degraded");
    CHECK(s.last_error.find("lost on restart") != std::string::npos);
    CHECK_THROWS_AS(store->list(), OutboxError);
    CHECK_THROWS_AS(outbox_list(state_dir), OutboxError);
    q->close(1s);
}

TEST_CASE("a full disk turns commits into memory delivery, said in the stats", "[outbox][degraded]") {
    TempDir dir;
    LogCapture logs;
    auto o = options_for(dir, &logs);
    o.max_page_count = 40; // a ~160 KiB database: the "disk" is full after a few attachments
    auto store = OutboxStore::open(o);
    REQUIRE(store->durable());
    FakeSink sink("jeedom", 1);
    sink.hold(true);
    auto q = store->open_queue(sink);
    for (uint64_t i = 1; i <= 60; ++i) {
        Job j = make_job(i);
        auto e = std::make_shared<Event>(*j.event);
        e->attachment.assign(8000, 1);
        j.event = e;
        q->push(std::move(j));
        if (i % 10 == 0) store->flush(); // several commits: some fit, then the disk is full
    }
    store->flush();
    CHECK_FALSE(store->durable());
    CHECK(store->error().find("lost on restart") != std::string::npos);
    CHECK(logs.contains("outbox commit to"));
    auto s = q->stats();
    CHECK(s.health == "degraded");
    CHECK(s.depth == 60);
    sink.hold(false);
    REQUIRE(sink.wait_ok(60));
    CHECK(sink.ok_ids() == iota_ids(1, 60));
    q->close(1s);
}

TEST_CASE("a slow outbox sink does not delay a fast one", "[outbox][isolation]") {
    TempDir dir;
    auto store = OutboxStore::open(options_for(dir));
    FakeSink slow("slow", 1);
    FakeSink fast("fast", 1);
    slow.hold(true);
    auto qs = store->open_queue(slow);
    auto qf = store->open_queue(fast);
    for (uint64_t i = 1; i <= 300; ++i) {
        qs->push(make_job(i));
        qf->push(make_job(i));
    }
    REQUIRE(fast.wait_ok(300));
    CHECK(fast.ok_ids() == iota_ids(1, 300));
    CHECK(slow.ok_ids().empty());
    CHECK(qs->stats().depth == 300);
    slow.hold(false);
    REQUIRE(slow.wait_ok(300));
    qs->close(1s);
    qf->close(1s);
}

TEST_CASE("outbox administration: list, orphans, drop", "[outbox][admin]") {
    TempDir dir;
    {
        auto store = OutboxStore::open(options_for(dir));
        FakeSink a("jeedom", 1), b("old_box", 1);
        a.hold(true);
        b.hold(true);
        auto qa = store->open_queue(a);
        auto qb = store->open_queue(b);
        CHECK_THROWS_AS(store->open_queue(a), OutboxError); // one queue per sink
        for (uint64_t i = 1; i <= 7; ++i) qa->push(make_job(i));
        for (uint64_t i = 1; i <= 3; ++i) qb->push(make_job(i));
        store->flush();
        CHECK_THROWS_AS(store->drop("jeedom"), OutboxError); // in use
        auto list = store->list();
        REQUIRE(list.size() == 2);
        CHECK(list[0].sink == "jeedom");
        CHECK(list[0].events == 7);
        CHECK(list[0].bytes > 0);
        CHECK(list[0].oldest_ms > 0);
        CHECK(list[1].sink == "old_box");
        CHECK(list[1].events == 3);
        auto orphans = store->orphans({"jeedom"});
        REQUIRE(orphans.size() == 1);
        CHECK(orphan_message(orphans[0]) ==
              "outbox for 'old_box' holds 3 events but no instance 'old_box' is configured; drop it with "
              "`passerelle outbox drop old_box`");
        qa->close(0ms);
        qb->close(0ms);
        CHECK(store->drop("old_box") == 3);
        CHECK(store->drop("old_box") == 0);
    }
    // Offline, as the CLI does it.
    auto list = outbox_list(dir.str());
    REQUIRE(list.size() == 1);
    CHECK(list[0].events == 7);
    CHECK(outbox_orphans(dir.str(), {"jeedom"}).empty());
    CHECK(outbox_orphans(dir.str(), {}).size() == 1);
    CHECK(outbox_drop(dir.str(), "jeedom") == 7);
    CHECK(outbox_list(dir.str()).empty());
    TempDir empty;
    CHECK_THROWS_AS(outbox_list(empty.str()), OutboxError);
}

TEST_CASE("an unreadable row is logged and deleted; the others are delivered", "[outbox][hostile]") {
    TempDir dir;
    {
        auto store = OutboxStore::open(options_for(dir));
        FakeSink sink("jeedom", 1);
        sink.hold(true);
        auto q = store->open_queue(sink);
        for (uint64_t i = 1; i <= 3; ++i) q->push(make_job(i));
        store->flush();
        q->close(0ms);
    }
    {
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open((dir.path / "outbox.sqlite").c_str(), &db) == SQLITE_OK);
        REQUIRE(sqlite3_exec(db, "UPDATE outbox SET job = '{\"v\":1,\"event\":[' WHERE id = (SELECT MIN(id) + 1 FROM outbox)",
                             nullptr, nullptr, nullptr) == SQLITE_OK);
        sqlite3_close(db);
    }
    LogCapture logs;
    auto store = OutboxStore::open(options_for(dir, &logs));
    FakeSink sink("jeedom", 1);
    auto q = store->open_queue(sink);
    REQUIRE(sink.wait_ok(2));
    CHECK(sink.ok_ids() == std::vector<uint64_t>{1, 3});
    CHECK(logs.contains("unreadable"));
    REQUIRE(sink.wait_until([&] { return q->stats().delivered == 2; }));
    store->flush();
    CHECK(rows_for(dir.str(), "jeedom") == 0);
    q->close(1s);
}

TEST_CASE("event ids are unique and increase across restarts", "[sequence]") {
    TempDir dir;
    uint64_t last = 0;
    for (int run = 0; run < 3; ++run) {
        auto seq = SequenceStore::open(dir.str(), {}, 100);
        CHECK(seq->durable());
        uint64_t first = seq->next();
        CHECK(first > last);
        last = first;
        for (int i = 0; i < 250; ++i) { // crosses block boundaries
            uint64_t id = seq->next();
            REQUIRE(id == last + 1);
            last = id;
        }
    }
    // Concurrent callers never share an id.
    auto seq = SequenceStore::open(dir.str(), {}, 1000);
    std::vector<std::vector<uint64_t>> got(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] { for (int i = 0; i < 5000; ++i) got[t].push_back(seq->next()); });
    for (auto& th : threads) th.join();
    std::set<uint64_t> all;
    for (auto& v : got) {
        CHECK(strictly_increasing(v));
        all.insert(v.begin(), v.end());
    }
    CHECK(all.size() == 20000);
    CHECK(*all.begin() > last);
}

TEST_CASE("the sequence works from the clock when state_dir is unwritable", "[sequence][degraded]") {
    TempDir dir;
    auto file = dir.path / "file";
    std::ofstream(file) << "x";
    LogCapture logs;
    auto seq = SequenceStore::open((file / "state").string(), logs.fn());
    CHECK_FALSE(seq->durable());
    CHECK(logs.contains("not writable"));
    uint64_t a = seq->next(), b = seq->next();
    CHECK(b == a + 1);
    // A database written later by a durable run still starts above.
    auto seq2 = SequenceStore::open(dir.str());
    CHECK(seq2->next() > b);
}
