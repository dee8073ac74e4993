// PG-free helpers of the apply path: the text forms (array literals, JSON) handed to
// SPI; the fid_done, job id and UTF-8 rules they rely on are core's (decode.hpp,
// text.hpp). Kept out of Postgres headers on purpose: nlohmann::json and port.h's
// printf macros do not mix.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "waypoint/core/entry.hpp"

namespace waypoint::bgw {

// FieldsJson renders stream fields (except the payload "d") as a JSON object; values that
// are not valid UTF-8 or contain NUL appear as "\\x<hex>".
std::string FieldsJson(const core::EntryFields& fields);
// ArrayLiteral renders a Postgres array literal ({"a","b",NULL}) of the given values.
std::string ArrayLiteral(const std::vector<std::optional<std::string>>& values);

}  // namespace waypoint::bgw
