// PG-free helpers of the apply path: parsing fid_done payloads and building the text
// forms (array literals, JSON, hex) handed to SPI. Kept out of Postgres headers on
// purpose: nlohmann::json and port.h's printf macros do not mix (style.md T17).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "waypoint/core/entry.hpp"

namespace waypoint::bgw {

// FidDone is the payload of a kFidDone entry: {"status":"ok"|"failed","messages":N,"error":"..."}.
struct FidDone {
  std::string status;
  int64_t messages = 0;
  std::string error;
};
// ParseFidDone throws std::invalid_argument with the reason when the payload is unusable.
FidDone ParseFidDone(const std::string& payload);
// ParseJobId: positive decimal job id, else std::invalid_argument.
int64_t ParseJobId(const std::string& job);

// SanitizeText makes arbitrary bytes safe as UTF-8 text: invalid sequences and NULs become '?'.
std::string SanitizeText(const std::string& s);
// FieldsJson renders stream fields (except the payload "d") as a JSON object; values that
// are not valid UTF-8 or contain NUL appear as "\\x<hex>".
std::string FieldsJson(const core::EntryFields& fields);
// ArrayLiteral renders a Postgres array literal ({"a","b",NULL}) of the given values.
std::string ArrayLiteral(const std::vector<std::optional<std::string>>& values);

}  // namespace waypoint::bgw
