#include "core/module_loader.hpp"

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

#include <dlfcn.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <system_error>

namespace passerelle::kernel {
namespace {

class DllModule final : public ModuleLibrary {
public:
    DllModule(boost::dll::shared_library lib, const pl_module_descriptor* d, std::string path)
        : lib_(std::move(lib)), descriptor_(d), path_(std::move(path)) {
        schema_.name = d->name;
        for (size_t i = 0; d->keys && i < d->keys_count; ++i) schema_.keys.push_back(d->keys[i]);
        for (size_t i = 0; d->actions && i < d->actions_count; ++i) schema_.actions.emplace_back(d->actions[i].name);
    }
    const pl_module_descriptor& descriptor() const override { return *descriptor_; }
    const std::string& path() const override { return path_; }

private:
    boost::dll::shared_library lib_;
    const pl_module_descriptor* descriptor_;
    std::string path_;
};

// The smallest descriptor this daemon can use: everything up to `invoke`.
constexpr size_t kMinDescriptorSize = offsetof(pl_module_descriptor, invoke) + sizeof(void*);

// Why dlopen refuses `path` ("invalid ELF header", "file too short", an
// undefined symbol...). Boost.DLL clears dlerror and only keeps a generic
// error code ("Bad file descriptor"), so ask dlopen again, once, on failure.
std::string dlopen_reason(const std::string& path, const std::string& fallback) {
    dlerror();
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle) {
        dlclose(handle);
        return fallback;
    }
    const char* err = dlerror();
    if (!err || !*err) return fallback;
    std::string text = err;
    // dlerror says "PATH: reason"; the refusal line names the file already.
    if (text.rfind(path + ": ", 0) == 0) text.erase(0, path.size() + 2);
    return text;
}

} // namespace

std::string default_module_dir() {
    auto exe = boost::dll::program_location();
    return (exe.parent_path().parent_path() / "lib" / "passerelle").string();
}

std::shared_ptr<ModuleLibrary> load_module_file(const std::string& path, std::string& reason) {
    boost::dll::shared_library lib;
    boost::system::error_code ec;
    lib.load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
    if (ec) {
        reason = "not a loadable shared library (" + dlopen_reason(path, ec.message()) + ")";
        return nullptr;
    }
    if (!lib.has(PL_ENTRY_SYMBOL)) {
        reason = "not a passerelle module: no '" PL_ENTRY_SYMBOL "' entry point";
        return nullptr;
    }
    auto entry = lib.get<const pl_module_descriptor*()>(PL_ENTRY_SYMBOL);
    const pl_module_descriptor* d = entry();
    std::string daemon_abi = std::to_string(PL_ABI_MAJOR) + "." + std::to_string(PL_ABI_MINOR);
    if (!d) {
        reason = "its entry point returned no descriptor";
        return nullptr;
    }
    if (d->abi_major != PL_ABI_MAJOR) {
        reason = "module ABI " + std::to_string(d->abi_major) + "." + std::to_string(d->abi_minor) +
                 ", daemon ABI " + daemon_abi + ": rebuild the module against this SDK";
        return nullptr;
    }
    if (d->struct_size < kMinDescriptorSize) {
        reason = "descriptor too small (" + std::to_string(d->struct_size) + " bytes, need " +
                 std::to_string(kMinDescriptorSize) + "; module ABI " + std::to_string(d->abi_major) + "." +
                 std::to_string(d->abi_minor) + ", daemon ABI " + daemon_abi + ")";
        return nullptr;
    }
    if (!d->name || !*d->name || !d->create || !d->start || !d->stop || !d->destroy || !d->invoke) {
        reason = "descriptor is incomplete (missing name or function pointers)";
        return nullptr;
    }
    return std::make_shared<DllModule>(std::move(lib), d, path);
}

ModuleSet load_modules(const std::vector<std::string>& dirs) {
    ModuleSet set;
    for (const auto& dir : dirs) {
        std::error_code ec;
        std::vector<std::filesystem::path> files;
        std::filesystem::directory_iterator it(dir, ec);
        if (ec) {
            set.refused.push_back({dir, "cannot read module directory: " + ec.message()});
            continue;
        }
        for (const auto& entry : it) {
            if (entry.path().extension() == ".so" && entry.is_regular_file(ec)) files.push_back(entry.path());
        }
        std::sort(files.begin(), files.end());
        for (const auto& file : files) {
            std::string reason;
            auto lib = load_module_file(file.string(), reason);
            if (!lib) {
                set.refused.push_back({file.string(), reason});
                continue;
            }
            std::string name = lib->descriptor().name;
            if (auto existing = set.by_name.find(name); existing != set.by_name.end()) {
                set.refused.push_back({file.string(), "duplicate module name '" + name + "' (already loaded from " +
                                                          existing->second->path() + ")"});
                continue;
            }
            set.by_name.emplace(name, std::move(lib));
        }
    }
    return set;
}

} // namespace passerelle::kernel
