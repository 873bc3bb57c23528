// The kernel's side of one instance: actions reach the module only between
// start and stop (the outbox opens before the instances start, and a module
// started first may already run another instance's actions).
#include "core/instance_host.hpp"
#include "core/module_loader.hpp"

#include <passerelle/abi.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <vector>

using namespace passerelle::kernel;

namespace {

struct Answer {
    int32_t status = -1;
    std::string result;
};

// The answer may come from the module's own thread: wait for it (bounded).
Answer echo(InstanceHost& host) {
    auto answer = std::make_shared<std::promise<Answer>>();
    host.invoke("echo", R"({"q":"1"})", nullptr, [answer](int32_t status, std::string result) {
        answer->set_value(Answer{status, std::move(result)});
    });
    auto f = answer->get_future();
    REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    return f.get();
}

Answer run(InstanceHost& host, const std::string& action, const std::string& params) {
    auto answer = std::make_shared<std::promise<Answer>>();
    host.invoke(action, params, nullptr, [answer](int32_t status, std::string result) {
        answer->set_value(Answer{status, std::move(result)});
    });
    auto f = answer->get_future();
    REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    return f.get();
}

} // namespace

TEST_CASE("an instance takes actions only while it is started") {
    std::string reason;
    auto lib = load_module_file((std::filesystem::path(TEST_MODULE_DIR) / "probe_a.so").string(), reason);
    REQUIRE(lib);
    InstanceConfig cfg;
    cfg.name = "p";
    cfg.module = "probe";
    cfg.config_json = R"({"answer": 7})";
    InstanceHost host(lib, cfg, HostServices{});
    std::string key, error;
    REQUIRE(host.create(key, error));

    auto before = echo(host);
    CHECK(before.status == PL_ERR_RETRY);
    CHECK(before.result == "instance 'p' is not started");

    REQUIRE(host.start());
    auto running = echo(host);
    CHECK(running.status == PL_OK);
    CHECK(running.result.find("\"answer\":7") != std::string::npos);

    host.stop();
    CHECK(echo(host).status == PL_ERR_RETRY);
}

TEST_CASE("the device event carries the model, serial and firmware of the health info") {
    std::string reason;
    auto lib = load_module_file((std::filesystem::path(TEST_MODULE_DIR) / "probe_a.so").string(), reason);
    REQUIRE(lib);
    InstanceConfig cfg;
    cfg.name = "cam";
    cfg.module = "probe";
    cfg.config_json = R"({"answer": 1})";
    std::mutex mutex;
    std::vector<std::shared_ptr<passerelle::Event>> events;
    HostServices services;
    services.publish = [&](std::shared_ptr<passerelle::Event> e) {
        std::lock_guard lock(mutex);
        if (e->type == "device") events.push_back(std::move(e));
    };
    InstanceHost host(lib, cfg, services);
    std::string key, error;
    REQUIRE(host.create(key, error));
    REQUIRE(host.start());
    auto device_events = [&] {
        std::lock_guard lock(mutex);
        return events;
    };

    // Connected before the device info was read: no identity yet.
    REQUIRE(run(host, "health", R"({"state":"connected","info":{"url":"http://cam"}})").status == PL_OK);
    REQUIRE(device_events().size() == 1);
    CHECK(device_events()[0]->attrs.count("model") == 0);

    // The same state with the identity learnt: a new device event that carries it.
    REQUIRE(run(host, "health", R"({"state":"connected","info":{"url":"http://cam","model":"DS-2CD2143G2-I",
        "serial":"DS-2CD2143G2-I20210101AAWRF12345678","firmware":"V5.7.3","armed":{"1":true},"name":7}})")
                .status == PL_OK);
    auto after = device_events();
    REQUIRE(after.size() == 2);
    CHECK(after[1]->code == "connected");
    CHECK(after[1]->attrs.at("model") == "DS-2CD2143G2-I");
    CHECK(after[1]->attrs.at("serial") == "DS-2CD2143G2-I20210101AAWRF12345678");
    CHECK(after[1]->attrs.at("firmware") == "V5.7.3");
    CHECK(after[1]->attrs.count("name") == 0); // only the identity keys, only strings

    // Nothing new: no event. A state change, with an info that leaves the identity out, keeps it.
    REQUIRE(run(host, "health", R"({"state":"connected","info":{"model":"DS-2CD2143G2-I",
        "serial":"DS-2CD2143G2-I20210101AAWRF12345678","firmware":"V5.7.3"}})").status == PL_OK);
    CHECK(device_events().size() == 2);
    REQUIRE(run(host, "health", R"({"state":"disconnected","detail":"connection refused"})").status == PL_OK);
    auto last = device_events();
    REQUIRE(last.size() == 3);
    CHECK(last[2]->code == "disconnected");
    CHECK(last[2]->attrs.at("model") == "DS-2CD2143G2-I");
    CHECK(host.health().identity.at("serial") == "DS-2CD2143G2-I20210101AAWRF12345678");
    host.stop();
}
