#include "waypoint/core/routing.hpp"

#include <openssl/sha.h>

namespace waypoint::core {

uint32_t PartitionOf(uint64_t fid, uint32_t partitions) {
  return partitions == 0 ? 0 : static_cast<uint32_t>(fid % partitions);
}

uint32_t ShardOf(uint64_t fid, uint32_t num_shards) {
  if (num_shards == 0) return 0;
  const auto f = static_cast<uint32_t>(fid);
  const unsigned char be[4] = {static_cast<unsigned char>(f >> 24), static_cast<unsigned char>(f >> 16),
                               static_cast<unsigned char>(f >> 8), static_cast<unsigned char>(f)};
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(be, sizeof be, digest);
  const uint32_t head =
      (uint32_t{digest[0]} << 24) | (uint32_t{digest[1]} << 16) | (uint32_t{digest[2]} << 8) | uint32_t{digest[3]};
  return head % num_shards + 1;
}

std::string KeyLayout::PartitionStream(uint32_t partition) const {
  return prefix + ":{p" + std::to_string(partition) + "}:entries";
}
std::string KeyLayout::CursorKey(uint32_t shard) const { return prefix + ":cursor:shard:" + std::to_string(shard); }
std::string KeyLayout::DeadLetterStream() const { return prefix + ":dead"; }
std::string KeyLayout::BackfillJobStream() const { return prefix + ":backfill:jobs"; }
std::string KeyLayout::BackfillProgressKey(const std::string& job_id) const {
  return prefix + ":backfill:job:" + job_id;
}
std::string KeyLayout::NodeHeadKey(uint32_t shard) const {
  return prefix + ":node:shard:" + std::to_string(shard) + ":head";
}
std::string KeyLayout::SidecarHealthKey() const { return prefix + ":sidecar:health"; }

}  // namespace waypoint::core
