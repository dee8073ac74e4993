// See encoding.hpp. No Postgres headers in this file.
#include "encoding.hpp"

#include <nlohmann/json.hpp>

#include "waypoint/core/hash.hpp"
#include "waypoint/core/text.hpp"

namespace waypoint::bgw {

std::string FieldsJson(const core::EntryFields& fields) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, value] : fields) {
    if (name == "d") continue;
    const std::string key = core::PostgresText(name) ? name : "\\x" + core::ToHex(name);
    j[key] = core::PostgresText(value) ? value : "\\x" + core::ToHex(value);
  }
  return j.dump();
}

}  // namespace waypoint::bgw
