// The stream entry: the contract between the sidecar (XADD) and the extension
// (XREADGROUP). An entry carries the node's own protobuf bytes untouched, plus a few
// small routing and tracing fields. Versioned: a reader refuses versions it does not know.
//
// Fields (all Redis strings), in this order:
//   v    format version ("1")
//   k    kind: "event" (HubEvent from Subscribe/GetEvents), "message" (Message from a
//        backfill page), "onchain" (OnChainEvent), "fname" (UserNameProof),
//        "fid_start" (a fid's backfill begins: written before its first page is read;
//        payload JSON {"types":[store names, empty = all],"fids_total":N}),
//        "fid_done" (end of one fid's backfill; payload JSON with the outcome)
//   sh   data shard the entry came from (decimal)
//   id   Snapchain event id (decimal; 0 when not from the event log)
//   fid  fid the entry belongs to (decimal)
//   src  "live", "repair" or "backfill"
//   job  backfill job id (empty for live entries)
//   ts   sidecar wall clock in Unix milliseconds when the entry was written
//   d    payload bytes
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace waypoint::core {

enum class EntryKind { kHubEvent, kMessage, kOnChainEvent, kUserNameProof, kFidDone, kFidStart };
enum class EntrySource { kLive, kRepair, kBackfill };

const char* EntryKindName(EntryKind k);
const char* EntrySourceName(EntrySource s);

struct StreamEntry {
  static constexpr int kVersion = 1;

  EntryKind kind = EntryKind::kHubEvent;
  uint32_t shard = 0;
  uint64_t event_id = 0;
  uint64_t fid = 0;
  EntrySource source = EntrySource::kLive;
  std::string job_id;
  int64_t written_at_ms = 0;
  std::string payload;
};

using EntryFields = std::vector<std::pair<std::string, std::string>>;

// EncodeEntry gives the field/value pairs for XADD, in the documented order.
EntryFields EncodeEntry(const StreamEntry& e);

// DecodeEntry parses field/value pairs read from a stream. Throws core::Error of class
// kDecode naming the offending field when the entry is malformed or of another version.
StreamEntry DecodeEntry(const EntryFields& fields);

}  // namespace waypoint::core
