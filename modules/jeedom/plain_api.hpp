// Jeedom's plain HTTP API (GET /core/api/jeeApi.php?apikey=...): the target
// for updating an info command with the core key (`type=cmd&id=&value=`) or a
// Virtuel command with the Virtuel plugin key (`plugin=virtual&type=event`),
// and the classification of its text replies. The plain API has no error
// codes: a refused key is recognized by Jeedom's own sentence ("Vous n'êtes
// pas autorisé..." / "not authorized"). Pure.
#pragma once

#include "verdict.hpp"

#include <string>
#include <string_view>

namespace passerelle::jeedom {

// Path and query appended to the base URL's path ("/core/api/jeeApi.php?...").
std::string plain_event_target(std::string_view apikey, bool virtual_plugin, std::string_view id,
                               std::string_view value);

Verdict classify_plain_reply(std::string_view body);

} // namespace passerelle::jeedom
