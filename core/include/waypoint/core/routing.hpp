// Where things go: fid -> partition stream (Waypoint's own layout) and fid -> data
// shard (Snapchain's rule, which must never change), plus every Redis key name both
// halves use. Keys of one partition share a hash tag so the layout works on Redis Cluster.
#pragma once

#include <cstdint>
#include <string>

namespace waypoint::core {

// Partition of a fid: fid mod P. All entries of one fid land in one partition, which
// one worker applies at a time, so a fid's messages are never applied concurrently.
uint32_t PartitionOf(uint64_t fid, uint32_t partitions);

// Snapchain's data shard of a fid: SHA-256 of the fid as a big-endian u32, first four
// bytes as a big-endian u32, mod num_shards, plus one (shard 0 is the metadata shard).
uint32_t ShardOf(uint64_t fid, uint32_t num_shards);

// Snapchain event ids: (block_height << 14) | seq; seq 0 is BLOCK_CONFIRMED.
constexpr uint64_t EventBlock(uint64_t event_id) { return event_id >> 14; }
constexpr uint64_t EventSeq(uint64_t event_id) { return event_id & ((1u << 14) - 1); }
constexpr uint64_t MakeEventId(uint64_t block, uint64_t seq) { return (block << 14) | seq; }

// KeyLayout names every Redis key; neither half spells a key by hand (the list, with
// each key's fields, is in docs/sidecar.md, "Redis keys"). `prefix` lets several
// deployments share one Redis.
struct KeyLayout {
  std::string prefix = "waypoint";

  // Stream of entries for one fid partition: "<prefix>:{p<N>}:entries".
  std::string PartitionStream(uint32_t partition) const;
  // Consumer group of the apply workers on every partition stream.
  static constexpr const char* kApplyGroup = "apply";
  // Last event id of a data shard durably written to Redis (decimal string).
  std::string CursorKey(uint32_t shard) const;
  // Entries that could not be decoded or applied, with the reason.
  std::string DeadLetterStream() const;
  // Backfill jobs moved here from the database outbox; consumed by the sidecar.
  std::string BackfillJobStream() const;
  static constexpr const char* kBackfillGroup = "backfill";
  // Progress of one backfill job (hash, written by the sidecar): "<prefix>:backfill:job:<id>".
  std::string BackfillProgressKey(const std::string& job_id) const;
  // Head of a data shard as the sidecar last saw it (hash block, event_id, ts):
  // "<prefix>:node:shard:<n>:head"; read by waypoint.node_heads.
  std::string NodeHeadKey(uint32_t shard) const;
  // What the sidecar reports every second (hash), read by waypoint.sidecar_health:
  // "<prefix>:sidecar:health".
  std::string SidecarHealthKey() const;
};

}  // namespace waypoint::core
