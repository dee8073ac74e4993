// Normalized rows: what one Snapchain payload becomes before it is written to
// PostgreSQL. Pure C++ (no Postgres headers), shared by the extension, the tests and
// anything else that needs to know what a message means.
//
// Vocabulary:
//   store      a node message store with its own conflict key (docs/apply-semantics.md)
//   candidate  any message seen for a key (merged, deleted, pruned/revoked payload,
//              backfill page); the row of a key holds the highest candidate (crdt.hpp)
//   lifecycle  pruned / revoked / dropped flags of one message hash; they are
//              tombstones, ordered against the message's merges by event id: a
//              later merge of the same message revives it (crdt.hpp)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace waypoint::core {

enum class Store {
  kNone,  // kept in waypoint.messages only (frame actions, unknown)
  kCast,
  kReaction,
  kLink,
  kLinkCompactState,
  kVerification,
  kUserData,
  kUsernameProof,  // message type 12
  kLendStorage,
  kAppKey,   // KEY_ADD (16); a KEY_REMOVE (17) is not stored, it ends its key's KEY_ADD
  kChannel,  // CHANNEL_UPDATE / MEMBER / PIN / MODERATE (18-21): slots keyed by channel
};

// Name used in state lines (docs/state-lines.md); "" for kNone.
const char* StoreName(Store s);
// Store a MessageType number belongs to.
Store StoreOfMessageType(int message_type);
// Whether a MessageType number is a remove (cast/reaction/link/verification remove).
bool IsRemoveType(int message_type);
// Whether a MessageType number is one of the four channel types (18-21).
bool IsChannelType(int message_type);

// One message, as kept in waypoint.messages.
struct MessageRow {
  std::string hash;  // 20 bytes
  uint64_t fid = 0;
  int32_t type = 0;
  uint32_t timestamp = 0;  // Farcaster seconds
  int32_t network = 0;
  std::string signer;
  std::string raw;  // the node's Message bytes
  // Lifecycle seen in this payload. event_unix: when the event that set a flag happened
  // (Unix seconds; 0 = unknown, the database uses now()).
  bool pruned = false;
  bool revoked = false;
  bool dropped = false;  // reported deleted from the node's store (deleted_messages etc.)
  int64_t event_unix = 0;
  // Snapchain event ids (per fid totally ordered: one shard). merge_event: the MERGE event
  // that carried the message (absent for backfill pages and tombstones); death_event: the
  // event of a tombstone (prune, revoke, superseded). An event without an id counts as 0.
  // The message is dead while its latest tombstone is at or after its latest merge.
  std::optional<int64_t> merge_event;
  std::optional<int64_t> death_event;
};

// Fields every store row has: the candidate's identity and order.
struct Candidate {
  std::string message_hash;
  uint64_t fid = 0;
  uint32_t timestamp = 0;  // Farcaster seconds
  bool removed = false;
};

struct CastRow {
  Candidate c;
  std::string cast_hash;  // key with c.fid: the add's own hash or the remove's target
  std::optional<std::string> text;
  std::optional<uint64_t> parent_fid;
  std::optional<std::string> parent_hash;
  std::optional<std::string> parent_url;
  std::optional<std::string> embeds_json;         // JSON array
  std::optional<std::string> mentions;            // Postgres array literal of bigint
  std::optional<std::string> mentions_positions;  // Postgres array literal of int
  std::optional<int32_t> cast_type;
  std::string Key() const;
};

struct ReactionRow {
  Candidate c;
  int32_t reaction_type = 0;
  std::string target_key;  // opaque key: cast target (fid, hash) or url
  std::optional<uint64_t> target_cast_fid;
  std::optional<std::string> target_cast_hash;
  std::optional<std::string> target_url;
  std::string Key() const;
};

struct LinkRow {
  Candidate c;
  std::string link_type;
  uint64_t target_fid = 0;
  std::optional<uint32_t> display_timestamp;  // Farcaster seconds
  std::string Key() const;
};

struct LinkCompactStateRow {
  Candidate c;
  std::string link_type;
  std::vector<uint64_t> target_fids;
  std::string TargetFidsLiteral() const;  // Postgres array literal
  std::string Key() const;
};

struct VerificationRow {
  Candidate c;
  std::string address;
  int32_t protocol = 0;
  std::optional<std::string> claim_signature;
  std::optional<std::string> block_hash;
  std::optional<int32_t> verification_type;
  std::optional<int64_t> chain_id;
  std::string Key() const;
};

struct UserDataRow {
  Candidate c;
  int32_t user_data_type = 0;
  std::string value;
  std::string Key() const;
};

struct UsernameProofMessageRow {
  Candidate c;
  std::string name;  // UTF-8
  uint64_t proof_fid = 0;
  uint64_t proof_timestamp = 0;  // Unix seconds
  std::string owner;
  std::string signature;
  int32_t proof_type = 0;
  std::string Key() const;
};

struct LendStorageRow {
  Candidate c;
  uint64_t to_fid = 0;
  uint64_t num_units = 0;
  int32_t unit_type = 0;
  std::string Key() const;
};

// A KEY_ADD (app key), keyed by (fid, key). The node keeps one KEY_ADD per key and
// deletes it on KEY_REMOVE without storing the remove (docs/apply-semantics.md): a KEY_ADD
// carried in the deleted_messages of a KEY_REMOVE's merge names that remove here.
struct AppKeyRow {
  Candidate c;
  std::string key;  // 32-byte Ed25519 public key
  uint32_t key_type = 0;
  std::string scopes;  // Postgres array literal of int (MessageType values)
  uint32_t ttl = 0;    // seconds
  uint32_t nonce = 0;
  uint32_t deadline = 0;
  std::optional<uint64_t> request_fid;     // from the SignedKeyRequest metadata, when it decodes
  std::optional<std::string> remove_hash;  // the KEY_REMOVE that deleted it
  std::optional<uint32_t> remove_ts;       // its timestamp (Farcaster seconds)
  std::string Key() const;
};

// An app key as the node's state lists it (a Signer of source OFFCHAIN from a backfill's
// GetSignersByFid page): no message, hash or signature, so no standing in
// waypoint.messages. The KEY_ADD's user nonce orders it against KEY_ADD messages of the
// same key (docs/apply-semantics.md, "App keys from a backfill").
struct AppKeyStateRow {
  uint64_t fid = 0;
  std::string key;  // 32-byte Ed25519 public key
  uint32_t key_type = 0;
  std::string scopes;     // Postgres array literal of int
  uint32_t ttl = 0;       // seconds
  uint32_t nonce = 0;     // the KEY_ADD's user nonce
  uint64_t added_at = 0;  // Unix seconds: the KEY_ADD's timestamp
  std::optional<uint64_t> request_fid;
  // Unix seconds: the node's anchor of the key's sliding TTL (the KEY_ADD's timestamp,
  // moved by each message the key signed); absent when the node does not say.
  std::optional<uint64_t> last_used_at;
  std::string Key() const { return std::to_string(fid) + '/' + key; }
};

// Channel slots (docs/apply-semantics.md, "Channels"): one row per slot, keyed by channel
// (not by fid: any author may take a slot). Only a merge makes a candidate, and the newest
// merge holds the slot whatever the timestamps: merge_event is the id of the data-shard-1
// event that merged it (the mirror takes channel messages from that shard only).
struct ChannelSlot {
  std::string channel_id;    // 32 bytes (keccak256 of the registry name)
  uint64_t author_fid = 0;   // the message's fid: who did it
  std::string message_hash;  // 20 bytes
  uint32_t timestamp = 0;    // Farcaster seconds
  int64_t merge_event = 0;
};

// CHANNEL_UPDATE (18), one slot per channel: the whole configuration. Modes are the
// node's values after folding an absent or NONE mode to its default (MEMBERS_ONLY 2,
// APPROVAL 2).
struct ChannelUpdateRow {
  ChannelSlot s;
  std::optional<std::string> name, description, image_url, header, rules;
  int32_t casting_mode = 2;
  int32_t membership_mode = 2;
  std::string Key() const { return s.channel_id; }
};

// CHANNEL_MEMBER (19), one slot per (channel, target fid).
struct ChannelMemberRow {
  ChannelSlot s;
  uint64_t member_fid = 0;
  int32_t action = 0;  // ChannelMemberAction (1..6)
  std::string Key() const;
};

// CHANNEL_PIN (20), one slot per channel; cast_hash empty = unpinned.
struct ChannelPinRow {
  ChannelSlot s;
  std::string cast_hash;
  std::string Key() const { return s.channel_id; }
};

// CHANNEL_MODERATE (21), one slot per (channel, cast hash).
struct ChannelModerationRow {
  ChannelSlot s;
  std::string cast_hash;  // 20 bytes
  int32_t action = 0;     // ChannelModerateAction (1 hide, 2 unhide)
  std::string Key() const { return s.channel_id + cast_hash; }
};

// A CHANNEL_REGISTER on-chain event (type 6), kept whole; waypoint.channels folds them.
struct ChannelRegistryRow {
  std::string tx_hash;
  uint32_t log_index = 0;
  uint32_t block_number = 0;
  uint32_t tx_index = 0;
  uint64_t block_timestamp = 0;    // Unix seconds
  int32_t event_type = 0;          // ChannelRegisterEventType (1 register, 2 renew, 3 transfer)
  std::string label;               // channel id: keccak256(name), 32 bytes when valid
  std::string channel_key;         // the name (empty for transfers)
  uint64_t expiry = 0;             // Unix seconds (0 for transfers)
  std::string owner_address;       // registrant / receiver (empty for renews)
  bool key_matches_label = false;  // keccak256(channel_key) == label
  std::string Key() const;
};

// A backfill's read of one channel's state (entry kind channel_state; docs/apply-semantics.md,
// "Channel backfill"): what the node's state reads return, with no message, hash or
// timestamp. as_of is the data-shard-1 position it counts as of: every merge up to it is
// reflected, a merge after it may be or not.
struct ChannelStateRow {
  std::string channel_id;  // 32 bytes
  int64_t as_of = 0;
  // GetChannelMetadata: the folded update (an absent field unset), modes resolved.
  std::optional<std::string> name, description, image_url, header, rules;
  int32_t casting_mode = 2;
  int32_t membership_mode = 2;
  // GetChannelPin: empty cast_hash = no pin.
  std::string pin_cast_hash;
  uint64_t pin_author_fid = 0;
  // GetChannelMembers (every state), by target fid: state 1 member, 2 moderator, 3 removed,
  // 4 banned (ChannelMemberState).
  std::vector<std::pair<uint64_t, int32_t>> members;
  // GetChannelModerations: (cast hash, action 1 hide / 2 unhide, author fid).
  struct Moderation {
    std::string cast_hash;
    int32_t action = 0;
    uint64_t author_fid = 0;
  };
  std::vector<Moderation> moderations;
};

// A UserNameProof from MERGE_USERNAME_PROOF or a backfill page, keyed by name.
struct ProofRow {
  std::string name;        // UTF-8
  uint64_t fid = 0;        // 0 = released
  uint64_t timestamp = 0;  // Unix seconds
  std::string owner;
  std::string signature;
  int32_t proof_type = 0;
  bool deleted = false;  // carried as deleted_username_proof
  std::string raw;
  // As MessageRow: the event that merged it (username_proof) or deleted it
  // (deleted_username_proof); none for backfill pages.
  std::optional<int64_t> merge_event;
  std::optional<int64_t> death_event;
};

struct OnChainRow {
  int32_t type = 0;
  uint32_t chain_id = 0;
  uint32_t block_number = 0;
  std::string block_hash;
  uint64_t block_timestamp = 0;  // Unix seconds
  std::string tx_hash;
  uint32_t log_index = 0;
  uint32_t tx_index = 0;
  uint64_t fid = 0;
  uint32_t version = 0;
  std::string raw;
  // SIGNER
  std::optional<std::string> signer_key;
  std::optional<int64_t> signer_key_type;
  std::optional<int32_t> signer_event_type;
  std::optional<std::string> signer_metadata;
  std::optional<int64_t> signer_metadata_type;
  // SIGNER_MIGRATED
  std::optional<int64_t> migrated_at;  // Unix seconds
  // ID_REGISTER
  std::optional<std::string> id_to;
  std::optional<int32_t> id_event_type;
  std::optional<std::string> id_from;
  std::optional<std::string> id_recovery;
  // STORAGE_RENT
  std::optional<std::string> rent_payer;
  std::optional<int64_t> rent_units;
  std::optional<int64_t> rent_expiry;  // Unix seconds
  // TIER_PURCHASE
  std::optional<int32_t> tier_type;
  std::optional<int64_t> tier_for_days;
  std::optional<std::string> tier_payer;
  // CHANNEL_REGISTER
  std::optional<std::string> channel_key;
  std::string Key() const;  // (tx_hash, log_index)
};

// Everything one or more payloads turn into.
struct RowSet {
  std::vector<MessageRow> messages;
  std::vector<CastRow> casts;
  std::vector<ReactionRow> reactions;
  std::vector<LinkRow> links;
  std::vector<LinkCompactStateRow> link_compact_states;
  std::vector<VerificationRow> verifications;
  std::vector<UserDataRow> user_data;
  std::vector<UsernameProofMessageRow> username_proof_messages;
  std::vector<LendStorageRow> lend_storage;
  std::vector<AppKeyRow> app_keys;
  std::vector<AppKeyStateRow> app_key_states;
  std::vector<ChannelUpdateRow> channel_updates;
  std::vector<ChannelMemberRow> channel_members;
  std::vector<ChannelPinRow> channel_pins;
  std::vector<ChannelModerationRow> channel_moderations;
  std::vector<ChannelRegistryRow> channel_registry;
  std::vector<ChannelStateRow> channel_states;
  std::vector<ProofRow> proofs;
  std::vector<OnChainRow> onchain;

  void Append(RowSet&& other);
  bool Empty() const;
};

}  // namespace waypoint::core
