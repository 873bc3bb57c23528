// `passerelle check`: the config's schema, then each module's own validation.
// A module validates its instance in its constructor (ConfigError with the key);
// `run` does that before starting anything, so `check` must do it too, or it
// says OK to a file that `run` refuses.
#pragma once

#include "config/config.hpp"
#include "core/module_loader.hpp"

#include <ostream>
#include <string>
#include <vector>

namespace passerelle::kernel {

// A module's refusal of an instance, placed at the refused key when the
// module named one (`instance.NAME.KEY`), else at the [instance.NAME] header.
ConfigIssue module_refusal(const InstanceConfig& inst, const std::string& key, const std::string& error);

// Creates every instance of `cfg` and destroys it without starting it: the
// module's constructor runs, on_start never does. Nothing is published, no
// timer runs, and no state directory is created (the instances see an empty
// state_dir). Returns one issue per refused instance.
std::vector<ConfigIssue> validate_instances(const Config& cfg, const ModuleSet& modules);

// Loads and validates `path` (schema, then the modules' validation), prints
// every issue one per line (FILE:LINE:COLUMN: key.path: message) and returns 2,
// or prints "FILE: OK (N instances, M routes)" and returns 0.
int check_config(const std::string& path, const ModuleSet& modules, std::ostream& out);

} // namespace passerelle::kernel
