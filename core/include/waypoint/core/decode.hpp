// Snapchain bytes -> normalized rows (rows.hpp).
//
// Every function either returns the complete rows of its input or throws core::Error:
//   kDecode   the bytes are not the protobuf they claim to be
//   kInvalid  decodable but semantically unusable (missing data or body, a body that
//             does not match the message type, a hash that is not 20 bytes, ...)
// so one entry is applied entirely or not at all.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "waypoint/core/entry.hpp"
#include "waypoint/core/rows.hpp"

class Message;
class HubEvent;
class OnChainEvent;
class UserNameProof;

namespace waypoint::core {

// Lifecycle context of a message inside a payload.
// kHeld: read from a backfill page (held by the node at read time; carries no event id,
// so it never revives a tombstoned message).
enum class MessageRole { kMerged, kDropped, kPruned, kRevoked, kHeld };

// Backfill markers. A kFidStart payload: {"types":["cast",...],"fids_total":N}; types
// are the sidecar's store names (empty = every store), fids_total the size of the job
// (0 = unknown). Throws Error(kInvalid) when the payload is unusable.
struct FidStart {
  std::vector<std::string> types;
  uint64_t fids_total = 0;
};
FidStart ParseFidStart(std::string_view payload);
// A kFidDone payload: {"status":"ok"|"failed","messages":N,"error":"..."}; messages
// (default 0) a non-negative integer, error optional (ignored unless a string).
// Throws Error(kInvalid) naming what is wrong when the payload is unusable.
struct FidDone {
  std::string status;
  int64_t messages = 0;
  std::string error;
};
FidDone ParseFidDone(std::string_view payload);
// Whether a kFidDone payload reports a complete fid (ParseFidDone(payload).status is "ok").
bool FidDoneOk(std::string_view payload);
// The job id of a backfill entry (field "job"): a positive decimal of at most 18 digits.
// Throws Error(kInvalid) otherwise; the message shows the id as sanitized text.
int64_t ParseJobId(std::string_view job);

// Channel messages (types 18-21) are merged on shard 0 and replayed on every data shard,
// each copy with that shard's own event id (docs/channels-and-keys.md 4.3). The mirror
// takes them from data shard 1 only: an event of another shard that carries a channel
// message is ignored whole (no row, no tombstone), and so is a channel message in a
// backfill page (the node serves none). docs/apply-semantics.md, "Channels".
constexpr uint32_t kChannelShard = 1;

// Decodes the payload of one stream entry. kFidStart, kFidDone and ignorable hub events
// (BLOCK_CONFIRMED, MERGE_FAILURE, unknown types) give an empty RowSet.
RowSet DecodeStreamEntry(const StreamEntry& entry);

// The same, per payload kind.
// event_id: the entry's Snapchain event id; 0 = use the HubEvent's own id. shard: the
// data shard the event came from (channel messages count from kChannelShard only).
RowSet DecodeHubEventBytes(std::string_view bytes, uint64_t event_id = 0, uint32_t shard = kChannelShard);
RowSet DecodeMessageBytes(std::string_view bytes);
RowSet DecodeOnChainEventBytes(std::string_view bytes);
RowSet DecodeUserNameProofBytes(std::string_view bytes);
// A Signer of a GetSignersByFid page (entry kind "signer"): an OFFCHAIN one becomes an
// AppKeyStateRow; an ONCHAIN one gives nothing (the backfill reads the key registry's
// events themselves). `entry_fid` is the fid the entry belongs to: a Signer of another
// fid, without a 32-byte key, or without added_at or nonce is invalid.
RowSet DecodeSignerBytes(std::string_view bytes, uint64_t entry_fid);

// Lower level, for callers that already hold parsed protobufs. `raw` is the node's
// bytes of that message (re-serialized when empty). event_unix: see MessageRow;
// event_id: the id of the event that carried the message (merge or tombstone; ignored
// for kHeld).
void AddMessage(const ::Message& msg, MessageRole role, int64_t event_unix, std::string_view raw, RowSet& out,
                int64_t event_id = 0);
void AddHubEvent(const ::HubEvent& ev, RowSet& out, uint64_t event_id = 0, uint32_t shard = kChannelShard);
void AddOnChainEvent(const ::OnChainEvent& ev, std::string_view raw, RowSet& out);
// event_id: the MERGE_USERNAME_PROOF event's id (nullopt: a backfill page).
void AddProof(const ::UserNameProof& p, bool deleted, std::string_view raw, RowSet& out,
              std::optional<int64_t> event_id = std::nullopt);

}  // namespace waypoint::core
