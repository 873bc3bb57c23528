// The module schemas the config is validated against, owned in one place.
// SchemaLookup (config.hpp) only answers "what is module X?"; a catalog can
// also say which modules exist, so "unknown module" errors list them. The
// loader recognises a SchemaLookup made by ModuleCatalog::lookup() (through
// std::function::target) and lists the names; any other lookup still works,
// without the list.
#pragma once

#include "config/config.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace passerelle::kernel {

class ModuleCatalog {
public:
    // Replaces a schema of the same name.
    void add(ModuleSchema schema);
    const ModuleSchema* find(std::string_view name) const;
    std::vector<std::string> names() const; // sorted
    // A lookup over this catalog, valid as long as the catalog lives.
    SchemaLookup lookup() const;

    // The callable lookup() wraps; public so the loader can recognise it.
    struct Lookup {
        const ModuleCatalog* catalog;
        const ModuleSchema* operator()(std::string_view name) const { return catalog->find(name); }
    };

private:
    std::vector<ModuleSchema> schemas_;
};

// Known module names behind `lookup` when it is a ModuleCatalog's; empty otherwise.
std::vector<std::string> known_module_names(const SchemaLookup& lookup);

} // namespace passerelle::kernel
