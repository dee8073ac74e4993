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
//        "fid_done" (end of one fid's backfill; payload JSON with the outcome),
//        "signer" (a Signer from a backfill's GetSignersByFid page: an app key the node
//        holds, as state without its KEY_ADD message; the sidecar writes only the
//        off-chain ones),
//        "refused" (an event or message the sidecar's verification refused: payload
//        untouched, plus the fields rk, ck and why below),
//        "channel_state" (a backfill's read of one registered channel's state: the
//        node's responses of its channel reads, wrapped (core/channel_state.hpp); sh is
//        1 and id the data-shard-1 position the state counts as of; fid 0)
//   sh   data shard the entry came from (decimal)
//   id   Snapchain event id (decimal; 0 when not from the event log)
//   fid  fid the entry belongs to (decimal)
//   src  "live", "repair" or "backfill"
//   job  backfill job id (empty for live entries)
//   ts   sidecar wall clock in Unix milliseconds when the entry was written
//   d    payload bytes
//   vf   "full" when the sidecar verifies at level full: the extension applies the
//        entry's messages only once their signer is a key of their fid, and a key
//        removal revokes what the key signed after it (optional)
// Only on "refused" entries, after d:
//   rk   the kind the entry would have had ("event" or "message")
//   ck   the check that failed (core::VerifyStatusName, e.g. "bad_signature")
//   why  one sentence saying what was wrong
//   mh   hash of the refused message as carried (lowercase hex; empty if none)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace waypoint::core {

enum class EntryKind {
  kHubEvent,
  kMessage,
  kOnChainEvent,
  kUserNameProof,
  kFidDone,
  kFidStart,
  kRefused,
  kSigner,
  kChannelState
};
enum class EntrySource { kLive, kRepair, kBackfill };

const char* EntryKindName(EntryKind k);
const char* EntrySourceName(EntrySource s);
// The kind named as in field k; false for an unknown name.
bool ParseEntryKind(std::string_view name, EntryKind* out);
// The source named as in field src; false for an unknown name.
bool ParseEntrySource(std::string_view name, EntrySource* out);

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
  // Level full (field vf): hold the messages until their signer is a key of their fid.
  bool check_signer = false;
  // kRefused only: what the entry was, and why it was refused.
  EntryKind refused_kind = EntryKind::kHubEvent;
  std::string refused_check;
  std::string refused_reason;
  std::string refused_hash;  // raw bytes
};

using EntryFields = std::vector<std::pair<std::string, std::string>>;

// EncodeEntry gives the field/value pairs for XADD, in the documented order.
EntryFields EncodeEntry(const StreamEntry& e);

// DecodeEntry parses field/value pairs read from a stream. Throws core::Error of class
// kDecode naming the offending field when the entry is malformed or of another version.
StreamEntry DecodeEntry(const EntryFields& fields);

}  // namespace waypoint::core
