// Secret indirection in config values: `${ENV_VAR}` references and `KEY_file`
// files. Pure apart from the environment / file system access they name.
// Error messages name the variable or the file, never a value.
#pragma once

#include <passerelle/utf8.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace passerelle::kernel {

// Returns the variable's value or nullopt when it is not set.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The process environment (getenv).
EnvLookup process_env();

struct Expansion {
    std::string text;                  // the value with every ${NAME} replaced
    bool substituted = false;          // at least one ${NAME} was replaced
    std::vector<std::string> pieces;   // the substituted values, so logs can mask them
};

// Replaces every `${NAME}` (NAME = [A-Za-z_][A-Za-z0-9_]*) in `text`. `$${`
// writes a literal `${`; a `$` not followed by `{` is kept as is. Returns
// nullopt and sets `error` for an unset variable, an unterminated `${` or a
// bad name.
std::optional<Expansion> expand_env(std::string_view text, const EnvLookup& env, std::string& error);

// Reads a secret file: its content without the trailing newline(s). Returns
// nullopt and sets `error` ("cannot read \"PATH\": REASON") on failure.
std::optional<std::string> read_secret_file(const std::string& path, std::string& error);

// Config values end up in JSON: they must be well-formed UTF-8.
using passerelle::is_valid_utf8;

} // namespace passerelle::kernel
