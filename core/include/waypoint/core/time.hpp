// Farcaster time <-> Unix time. Message timestamps are seconds since the Farcaster
// epoch (2021-01-01T00:00:00Z); on-chain block timestamps and username-proof timestamps
// are already Unix seconds and must not be converted.
#pragma once

#include <cstdint>

namespace waypoint::core {

constexpr int64_t kFarcasterEpochUnix = 1609459200;

constexpr int64_t FarcasterToUnix(uint64_t farcaster_seconds) {
  return static_cast<int64_t>(farcaster_seconds) + kFarcasterEpochUnix;
}

constexpr int64_t UnixToFarcaster(int64_t unix_seconds) { return unix_seconds - kFarcasterEpochUnix; }

}  // namespace waypoint::core
