#include "config/module_catalog.hpp"

#include <algorithm>

namespace passerelle::kernel {

void ModuleCatalog::add(ModuleSchema schema) {
    for (auto& s : schemas_) {
        if (s.name == schema.name) {
            s = std::move(schema);
            return;
        }
    }
    schemas_.push_back(std::move(schema));
}

const ModuleSchema* ModuleCatalog::find(std::string_view name) const {
    for (const auto& s : schemas_)
        if (s.name == name) return &s;
    return nullptr;
}

std::vector<std::string> ModuleCatalog::names() const {
    std::vector<std::string> out;
    out.reserve(schemas_.size());
    for (const auto& s : schemas_) out.push_back(s.name);
    std::sort(out.begin(), out.end());
    return out;
}

SchemaLookup ModuleCatalog::lookup() const { return Lookup{this}; }

std::vector<std::string> known_module_names(const SchemaLookup& lookup) {
    if (const auto* l = lookup.target<ModuleCatalog::Lookup>()) return l->catalog->names();
    return {};
}

} // namespace passerelle::kernel
