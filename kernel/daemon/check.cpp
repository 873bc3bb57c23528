#include "daemon/check.hpp"

#include "core/instance_host.hpp"
#include "core/logging.hpp"

namespace passerelle::kernel {

ConfigIssue module_refusal(const InstanceConfig& inst, const std::string& key, const std::string& error) {
    SourcePos pos = inst.pos;
    if (!key.empty())
        if (auto it = inst.key_pos.find(key); it != inst.key_pos.end()) pos = it->second;
    return ConfigIssue{pos, "instance." + inst.name + (key.empty() ? "" : "." + key), error};
}

std::vector<ConfigIssue> validate_instances(const Config& cfg, const ModuleSet& modules) {
    std::vector<ConfigIssue> issues;
    for (const auto& inst : cfg.instances) {
        auto lib = modules.by_name.find(inst.module);
        if (lib == modules.by_name.end()) continue; // load_config already reported the unknown module
        HostServices services; // no bus, no timers, no state dir: a constructor must not need them
        services.publish = [](std::shared_ptr<Event>) {};
        services.invoke_action = [](const std::string&, const std::string&, std::string,
                                    std::function<void(int32_t, std::string)> done) {
            done(PL_ERR_INTERNAL, "actions are not run by `passerelle check`");
        };
        std::string key, error;
        {
            InstanceHost host(lib->second, inst, services);
            if (!host.create(key, error)) issues.push_back(module_refusal(inst, key, error));
        } // destroyed here, never started
    }
    return issues;
}

int check_config(const std::string& path, const ModuleSet& modules, std::ostream& out) {
    ConfigResult result = load_config(path, [&](std::string_view m) { return modules.schema(m); });
    if (!result.issues.empty() || !result.config) {
        for (const auto& issue : result.issues) out << issue.format() << '\n';
        if (result.issues.empty()) out << path << ": invalid configuration\n";
        return 2;
    }
    const Config& c = *result.config;
    // A module's message may quote a secret it was given: mask them as `run` does.
    std::vector<std::string> secrets;
    for (const auto& inst : c.instances) secrets.insert(secrets.end(), inst.secret_values.begin(), inst.secret_values.end());
    if (!c.daemon.api.token.empty()) secrets.push_back(c.daemon.api.token);
    set_log_secrets(secrets);
    std::vector<ConfigIssue> issues = validate_instances(c, modules);
    if (!issues.empty()) {
        for (const auto& issue : issues) out << issue.format() << '\n';
        return 2;
    }
    out << path << ": OK (" << c.instances.size() << (c.instances.size() == 1 ? " instance, " : " instances, ")
        << c.routes.size() << (c.routes.size() == 1 ? " route)" : " routes)") << '\n';
    return 0;
}

} // namespace passerelle::kernel
