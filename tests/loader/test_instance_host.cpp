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
