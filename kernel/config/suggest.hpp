// "Did you mean ...?" for a misspelled key, module, instance or action name.
// Pure: no toml++, no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace passerelle::kernel {

// Edit distance (insertions, deletions, substitutions) between a and b.
size_t edit_distance(std::string_view a, std::string_view b);

// The closest candidate when it is a near miss (distance <= 2, and <= 1 for
// words of 3 characters or less, where 2 edits would make anything "close"),
// else a candidate of 3+ characters that the word starts with or that starts
// with the word ("warning" -> "warn"); empty when nothing is close enough.
// Ties go to the earliest candidate. Case is ignored.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

// " (did you mean 'X'?)" or "" — ready to append to a message.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

} // namespace passerelle::kernel
