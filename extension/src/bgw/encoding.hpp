// The JSON form of a dead letter's stream fields (waypoint.dead_letters.fields), with
// core's UTF-8 rule (text.hpp). Kept out of Postgres headers on purpose:
// nlohmann::json and port.h's printf macros do not mix.
#pragma once

#include <string>

#include "waypoint/core/entry.hpp"

namespace waypoint::bgw {

// FieldsJson renders stream fields (except the payload "d") as a JSON object; values that
// are not valid UTF-8 or contain NUL appear as "\\x<hex>".
std::string FieldsJson(const core::EntryFields& fields);

}  // namespace waypoint::bgw
