// Backpressure and trimming over the partition streams (contract 5): the backlog is
// what the apply groups have not acknowledged yet; trimming removes only entries every
// group has acknowledged (XTRIM MINID, never MAXLEN).
#pragma once

#include <cstdint>
#include <string>

#include "redis.hpp"
#include "waypoint/core/routing.hpp"

namespace waypoint::sidecar {

// StreamBacklog: max over the stream's groups of (pending + lag); XLEN when the stream
// has no group yet (nothing has consumed any of it); 0 when the stream does not exist.
uint64_t StreamBacklog(Redis& r, const std::string& stream);

// TrimAcknowledged trims entries below the minimum, over groups, of (oldest pending id,
// or last-delivered id + 1 when the group has nothing pending). No group: no trim.
// Returns the number of entries removed.
uint64_t TrimAcknowledged(Redis& r, const std::string& stream);

// TrimAllAcknowledged trims every partition stream and the backfill job stream, and counts
// what it removed in waypoint_sidecar_trimmed_entries_total. Both modes call it.
void TrimAllAcknowledged(Redis& r, const core::KeyLayout& keys, uint32_t partitions);

}  // namespace waypoint::sidecar
