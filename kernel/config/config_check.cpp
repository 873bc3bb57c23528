#include "config/config_check.hpp"

namespace passerelle::kernel {

int run_check(const std::string& path, const SchemaLookup& schemas, std::ostream& out) {
    ConfigResult result = load_config(path, schemas);
    if (!result.issues.empty() || !result.config) {
        for (const auto& issue : result.issues) out << issue.format() << '\n';
        if (result.issues.empty()) out << path << ": invalid configuration\n";
        return 2;
    }
    const Config& c = *result.config;
    out << path << ": OK (" << c.instances.size() << (c.instances.size() == 1 ? " instance, " : " instances, ")
        << c.routes.size() << (c.routes.size() == 1 ? " route)" : " routes)") << '\n';
    return 0;
}

} // namespace passerelle::kernel
