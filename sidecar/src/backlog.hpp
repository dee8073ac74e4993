// Backpressure and trimming over the partition streams (contract 5): the backlog is
// what the apply groups have not acknowledged yet; trimming removes only entries every
// group has acknowledged (XTRIM MINID, never MAXLEN).
#pragma once

#include <cstdint>
#include <string>

#include "redis.hpp"

namespace waypoint::sidecar {

// StreamBacklog: max over the stream's groups of (pending + lag); XLEN when the stream
// has no group yet (nothing has consumed any of it); 0 when the stream does not exist.
uint64_t StreamBacklog(Redis& r, const std::string& stream);

// TrimAcknowledged trims entries below the minimum, over groups, of (oldest pending id,
// or last-delivered id + 1 when the group has nothing pending). No group: no trim.
// Returns the number of entries removed.
uint64_t TrimAcknowledged(Redis& r, const std::string& stream);

}  // namespace waypoint::sidecar
