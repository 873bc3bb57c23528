// Finds module files in the configured directories and loads them with
// Boost.DLL. A file that is not a usable module is refused with one clear log
// line and the daemon goes on with the others.
#pragma once

#include "config/config.hpp"

#include <passerelle/abi.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace passerelle::kernel {

// A loaded module library. Instances keep a shared_ptr to it so the code
// stays mapped as long as any instance of it lives.
class ModuleLibrary {
public:
    virtual ~ModuleLibrary() = default;
    virtual const pl_module_descriptor& descriptor() const = 0;
    virtual const std::string& path() const = 0;
    const ModuleSchema& schema() const { return schema_; }

protected:
    ModuleSchema schema_;
};

struct LoadRefusal {
    std::string path;
    std::string reason; // includes versions where relevant
};

struct ModuleSet {
    std::map<std::string, std::shared_ptr<ModuleLibrary>> by_name;
    std::vector<LoadRefusal> refused;
    const ModuleSchema* schema(std::string_view name) const {
        auto it = by_name.find(std::string(name));
        return it == by_name.end() ? nullptr : &it->second->schema();
    }
};

// The default module directory: ../lib/passerelle relative to the executable.
std::string default_module_dir();

// Loads every *.so in `dirs` (a missing or unreadable dir is a refusal too).
ModuleSet load_modules(const std::vector<std::string>& dirs);

// Loads one file; nullptr and `reason` set when refused.
std::shared_ptr<ModuleLibrary> load_module_file(const std::string& path, std::string& reason);

} // namespace passerelle::kernel
