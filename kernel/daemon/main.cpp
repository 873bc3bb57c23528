// passerelle command line: run, check, modules, version.
#include "config/config.hpp"
#include "core/logging.hpp"
#include "core/module_loader.hpp"
#include "daemon/check.hpp"
#include "daemon/daemon.hpp"
#include "delivery/outbox.hpp"

#include <passerelle/event_json.hpp>

#include <csignal>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

using namespace passerelle::kernel;

namespace {

constexpr const char* kVersion = "0.1.0";

void usage(std::ostream& out) {
    out << "usage: passerelle run -c FILE [--log-format text|json]   run in the foreground\n"
           "       passerelle check -c FILE                          validate a config (exit 2 on errors)\n"
           "       passerelle modules [-c FILE | -m DIR...]          list the modules found, their keys and actions\n"
           "       passerelle outbox list -c FILE                    events waiting per sink on disk\n"
           "       passerelle outbox drop NAME -c FILE               delete a sink's waiting events\n"
           "       passerelle version\n";
}

const char* type_name(int32_t type) {
    switch (type) {
    case PL_KEY_STRING: return "string";
    case PL_KEY_INT: return "integer";
    case PL_KEY_BOOL: return "bool";
    case PL_KEY_FLOAT: return "float";
    case PL_KEY_DURATION: return "duration";
    case PL_KEY_SIZE: return "size";
    case PL_KEY_STRING_LIST: return "list of strings";
    case PL_KEY_TABLE: return "table";
    case PL_KEY_PATH: return "path";
    default: return "?";
    }
}

// `passerelle outbox list|drop NAME`: works with the daemon stopped or running.
int outbox_command(const std::string& config_path, const std::vector<std::string>& words) {
    std::vector<ConfigIssue> issues;
    DaemonConfig daemon = read_daemon_section(config_path, issues);
    if (!issues.empty()) {
        for (const auto& i : issues) std::cerr << i.format() << "\n";
        return 2;
    }
    try {
        if (words.size() == 1 && words[0] == "list") {
            auto backlogs = outbox_list(daemon.state_dir);
            if (backlogs.empty()) std::cout << "no event waiting in " << daemon.state_dir << "\n";
            for (const auto& b : backlogs)
                std::cout << b.sink << ": " << b.events << " event(s), " << b.bytes << " bytes, oldest queued "
                          << passerelle::format_rfc3339(b.oldest_ms * 1000000) << "\n";
            return 0;
        }
        if (words.size() == 2 && words[0] == "drop") {
            uint64_t n = outbox_drop(daemon.state_dir, words[1]);
            std::cout << "dropped " << n << " event(s) waiting for '" << words[1] << "'\n";
            return 0;
        }
    } catch (const std::exception& e) {
        std::cerr << "passerelle outbox: " << e.what() << "\n";
        return 1;
    }
    std::cerr << "usage: passerelle outbox list -c FILE | passerelle outbox drop NAME -c FILE\n";
    return 2;
}

int list_modules(const std::vector<std::string>& dirs) {
    ModuleSet set = load_modules(dirs.empty() ? std::vector<std::string>{default_module_dir()} : dirs);
    for (const auto& [name, lib] : set.by_name) {
        const auto& d = lib->descriptor();
        std::cout << name << " " << (d.version ? d.version : "?") << "  (ABI " << d.abi_major << "." << d.abi_minor
                  << ")  " << lib->path() << "\n";
        if (d.description) std::cout << "  " << d.description << "\n";
        std::cout << "  keys:\n";
        for (size_t i = 0; i < d.keys_count; ++i) {
            const auto& k = d.keys[i];
            std::cout << "    " << k.name << " (" << type_name(k.type);
            if (k.flags & PL_KEY_REQUIRED) std::cout << ", required";
            if (k.flags & PL_KEY_SECRET) std::cout << ", secret: also " << k.name << "_file or ${ENV}";
            if (k.default_value) std::cout << ", default \"" << k.default_value << "\"";
            std::cout << ")  " << (k.description ? k.description : "") << "\n";
        }
        std::cout << "  actions:\n";
        for (size_t i = 0; i < d.actions_count; ++i) {
            const auto& a = d.actions[i];
            std::cout << "    " << a.name << "(" << (a.params ? a.params : "") << ")  "
                      << (a.description ? a.description : "") << "\n";
        }
    }
    for (const auto& r : set.refused) std::cout << "refused " << r.path << ": " << r.reason << "\n";
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    // Signals are handled by sigwait in the main thread: block them before any thread starts.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
        usage(args.empty() ? std::cerr : std::cout);
        return args.empty() ? 2 : 0;
    }
    std::string command = args[0];
    std::vector<std::string> words; // positional words after the command (outbox list|drop NAME)
    std::string config_path;
    std::vector<std::string> module_dirs;
    LogFormat format = LogFormat::text;
    for (size_t i = 1; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&](const char* what) -> std::string {
            if (i + 1 >= args.size()) {
                std::cerr << "passerelle: " << a << " needs " << what << "\n";
                std::exit(2);
            }
            return args[++i];
        };
        if (a == "-c" || a == "--config") config_path = value("a config file");
        else if (a == "-m" || a == "--module-dir") module_dirs.push_back(value("a directory"));
        else if (a == "--log-format") {
            std::string f = value("text or json");
            if (f == "json") format = LogFormat::json;
            else if (f != "text") {
                std::cerr << "passerelle: --log-format must be text or json\n";
                return 2;
            }
        } else if (command == "outbox" && !a.empty() && a[0] != '-') {
            words.push_back(a);
        } else {
            std::cerr << "passerelle: unknown argument '" << a << "'\n";
            usage(std::cerr);
            return 2;
        }
    }

    setup_logging(format, "info");
    if (command == "version" || command == "--version") {
        std::cout << "passerelle " << kVersion << " (module ABI " << PL_ABI_MAJOR << "." << PL_ABI_MINOR << ")\n";
        return 0;
    }
    if (command == "modules") {
        if (module_dirs.empty() && !config_path.empty()) {
            std::vector<ConfigIssue> issues;
            DaemonConfig daemon = read_daemon_section(config_path, issues);
            module_dirs = daemon.module_dirs;
        }
        return list_modules(module_dirs);
    }
    if (config_path.empty()) {
        std::cerr << "passerelle: " << command << " needs -c FILE\n";
        usage(std::cerr);
        return 2;
    }
    if (command == "check") {
        std::vector<ConfigIssue> issues;
        DaemonConfig daemon = read_daemon_section(config_path, issues);
        ModuleSet modules = load_modules_for(daemon, true);
        return check_config(config_path, modules, std::cout);
    }
    if (command == "outbox") return outbox_command(config_path, words);
    if (command == "run") {
        Daemon daemon(DaemonOptions{config_path, format});
        return daemon.run();
    }
    std::cerr << "passerelle: unknown command '" << command << "'\n";
    usage(std::cerr);
    return 2;
}
