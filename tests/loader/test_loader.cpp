// The loader refuses what is not a usable module, with a reason naming the
// versions, and keeps loading the others.
#include "core/module_loader.hpp"

#include <passerelle/abi.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

using namespace passerelle::kernel;
namespace fs = std::filesystem;

namespace {
const fs::path kModules = fs::path(TEST_MODULE_DIR);

fs::path fresh_dir(const std::string& name) {
    fs::path dir = fs::temp_directory_path() / ("passerelle-loader-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

const LoadRefusal* refusal_for(const ModuleSet& set, const std::string& file) {
    for (const auto& r : set.refused)
        if (fs::path(r.path).filename() == file) return &r;
    return nullptr;
}
} // namespace

TEST_CASE("a good module loads with its declaration") {
    std::string reason;
    auto lib = load_module_file((kModules / "probe_a.so").string(), reason);
    REQUIRE(lib);
    CHECK(reason.empty());
    CHECK(std::string(lib->descriptor().name) == "probe");
    CHECK(std::string(lib->descriptor().version) == "2.1.0");
    REQUIRE(lib->schema().keys.size() == 1);
    CHECK(std::string(lib->schema().keys[0].name) == "answer");
    REQUIRE(lib->schema().actions.size() == 2);
    CHECK(lib->schema().actions[0] == "echo");
    CHECK(lib->schema().actions[1] == "health");
}

TEST_CASE("wrong ABI major is refused naming both versions") {
    std::string reason;
    auto lib = load_module_file((kModules / "wrong_abi.so").string(), reason);
    CHECK_FALSE(lib);
    CHECK_THAT(reason, Catch::Contains("module ABI 99.3"));
    // The daemon's own version comes from the SDK header, so a minor bump never breaks this test.
    CHECK_THAT(reason, Catch::Contains("daemon ABI " + std::to_string(PL_ABI_MAJOR) + "." +
                                       std::to_string(PL_ABI_MINOR)));
}

TEST_CASE("a library without the entry point is refused") {
    std::string reason;
    CHECK_FALSE(load_module_file((kModules / "no_entry.so").string(), reason));
    CHECK_THAT(reason, Catch::Contains("no 'passerelle_module_v1' entry point"));
}

TEST_CASE("a descriptor smaller than ABI 1 needs is refused") {
    std::string reason;
    CHECK_FALSE(load_module_file((kModules / "small_descriptor.so").string(), reason));
    CHECK_THAT(reason, Catch::Contains("descriptor too small"));
}

TEST_CASE("a file that is not a shared library is refused") {
    fs::path dir = fresh_dir("text");
    std::ofstream(dir / "notes.so") << "this is not ELF\n";
    std::string reason;
    CHECK_FALSE(load_module_file((dir / "notes.so").string(), reason));
    CHECK_THAT(reason, Catch::Contains("not a loadable shared library"));
    // dlopen's own reason, not Boost.DLL's generic error code.
    CHECK_THAT(reason, Catch::Contains("invalid ELF header") || Catch::Contains("file too short"));
    CHECK_THAT(reason, !Catch::Contains("Bad file descriptor"));
    // Said once: the line already names the file.
    CHECK_THAT(reason, !Catch::Contains("notes.so"));
    std::ofstream(dir / "empty.so");
    CHECK_FALSE(load_module_file((dir / "empty.so").string(), reason));
    CHECK_THAT(reason, Catch::Contains("file too short"));
    fs::remove_all(dir);
}

TEST_CASE("scanning a directory keeps the good modules and lists every refusal") {
    fs::path dir = fresh_dir("scan");
    for (const char* f : {"probe_a.so", "probe_b.so", "wrong_abi.so", "no_entry.so", "small_descriptor.so"})
        fs::copy_file(kModules / f, dir / f);
    std::ofstream(dir / "garbage.so") << std::string(100, '\x7f');
    std::ofstream(dir / "README.txt") << "not a module, not even looked at\n";

    ModuleSet set = load_modules({dir.string(), (dir / "missing").string()});
    REQUIRE(set.by_name.size() == 1);
    CHECK(set.by_name.count("probe") == 1);
    CHECK(set.schema("probe") != nullptr);
    CHECK(set.schema("nope") == nullptr);

    const LoadRefusal* dup = refusal_for(set, "probe_b.so");
    REQUIRE(dup);
    CHECK_THAT(dup->reason, Catch::Contains("duplicate module name 'probe'"));
    CHECK(refusal_for(set, "wrong_abi.so"));
    CHECK(refusal_for(set, "no_entry.so"));
    CHECK(refusal_for(set, "small_descriptor.so"));
    CHECK(refusal_for(set, "garbage.so"));
    CHECK_FALSE(refusal_for(set, "README.txt"));
    const LoadRefusal* missing = refusal_for(set, "missing");
    REQUIRE(missing);
    CHECK_THAT(missing->reason, Catch::Contains("cannot read module directory"));
    CHECK(set.refused.size() == 6);
    fs::remove_all(dir);
}
