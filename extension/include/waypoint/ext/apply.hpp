// The apply engine's entry point, used by the apply workers (bgw/) and by the SQL test
// surface. Applies decoded stream entries with set-based SPI statements (one per table
// per batch) inside the CALLER's open transaction, SPI already connected.
#pragma once

#include <string>
#include <vector>

#include "waypoint/core/entry.hpp"

namespace waypoint::ext {

struct EntryOutcome {
  bool applied = true;  // false: permanently rejected (undecodable/invalid), see reason
  std::string reason;   // why it was rejected (dead-letter stream and table), or, applied,
                        // why it was held (verification level full) instead
};

// ApplyEntries applies every entry it can and returns one outcome per entry, in order.
// Entries that cannot be decoded or are invalid are NOT applied and get applied=false;
// the others are applied regardless. A database error throws PgError (the caller rolls
// back and isolates the culprit, e.g. by retrying entries one by one).
// Idempotent and order-independent: any order, any duplicates, same resulting rows.
std::vector<EntryOutcome> ApplyEntries(const std::vector<core::StreamEntry>& entries);

}  // namespace waypoint::ext
