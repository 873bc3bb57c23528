// `passerelle check FILE`: validate a config and print every issue.
#pragma once

#include "config/config.hpp"

#include <ostream>
#include <string>

namespace passerelle::kernel {

// Prints every issue, one per line (ConfigIssue::format), and returns 2; or
// prints "FILE: OK (N instances, M routes)" and returns 0.
int run_check(const std::string& path, const SchemaLookup& schemas, std::ostream& out);

} // namespace passerelle::kernel
