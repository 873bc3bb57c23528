// The pugixml DOM decoder of EventNotificationAlert parts that xml_scan.cpp
// replaced: the reference for the equivalence tests. Test-only.
#pragma once

#include "notification.hpp"

#include <string_view>

namespace hiktest {

passerelle::hikvision::Decoded reference_decode_xml(std::string_view body);

} // namespace hiktest
