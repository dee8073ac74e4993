// The test Snapchain node's data: an event log per data shard and a model of the
// node's stores, written independently of the rest of Waypoint so that comparing the
// mirror with it (docs/state-lines.md) checks one implementation against another.
//
// Everything is kept compactly: messages, on-chain events and fname proofs live once
// in tables as their final protobuf bytes, and events refer to them by index, so a
// history of a million messages fits in a few hundred megabytes. HubEvent bytes are
// assembled on demand (wire.hpp).
//
// Thread safety: none inside. The server guards a Node with a shared_mutex (readers
// share, the block producer is exclusive).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "message.pb.h"
#include "onchain_event.pb.h"
#include "username_proof.pb.h"

namespace waypoint::testnode {

using Hash20 = std::array<uint8_t, 20>;
constexpr uint32_t kNone = 0xffffffffu;
// Farcaster seconds of planned block 0; block p has timestamp kGenesisTs + p.
constexpr uint32_t kGenesisTs = 120000000;
constexpr uint64_t kMaxSeq = (1u << 14) - 1;

// The stores a message can be held in (names as in docs/state-lines.md).
enum class Store : uint8_t {
  kCast,
  kReaction,
  kLink,
  kLinkCompactState,
  kVerification,
  kUserData,
  kUsernameProof,
  kLendStorage,
  kAppKey,  // KEY_ADD per (fid, key); KEY_REMOVE deletes it and is never held
  kCount
};
constexpr size_t kStoreCount = static_cast<size_t>(Store::kCount);
const char* StoreName(Store s);
// Store of a message type; kCount for types the node does not store here.
Store StoreOfType(MessageType t);
bool IsRemoveType(MessageType t);

// Snapchain's fid -> data shard rule, written again here (independent of core).
uint32_t DataShardOf(uint64_t fid, uint32_t num_shards);

// The 20-byte message hash (BLAKE3 truncated); one call site, see node.cpp.
Hash20 MessageHashOf(const std::string& data_bytes);

// What is wrong with a forged message (Node::SubmitForged): each is something a node
// refuses to merge, and a mirror must refuse to show.
enum class Forgery : uint8_t {
  kNone,
  kHash,       // hash is not BLAKE3 of the data (signed as carried)
  kSignature,  // signature bytes altered
  kData,       // data_bytes are garbage (hashed and signed as they are)
  kNetwork,    // signed for testnet
  kSigner,     // a valid signature by a key never registered for the fid
};
const char* ForgeryName(Forgery f);
// "hash", "signature", "data", "network", "signer"; kNone for anything else.
Forgery ParseForgery(const std::string& s);

struct MsgRec {
  std::string bytes;  // serialized Message once signed; MessageData bytes before
  uint64_t fid = 0;
  uint32_t ts = 0;
  Hash20 hash{};
  uint8_t type = 0;
  uint8_t key = 0;  // index of the fid's signer key that signs it
  bool signed_ = false;
  bool with_data_bytes = false;
  Forgery forged = Forgery::kNone;
};

struct OnchainRec {
  std::string bytes;  // serialized OnChainEvent
  uint64_t fid = 0;
  uint8_t type = 0;
  uint8_t signer_event = 0;  // SignerEventType for SIGNER events
  uint8_t key = 0;           // signer key index for SIGNER events
  std::string tx_hash;
  uint32_t log_index = 0;
};

struct ProofRec {
  std::string bytes;  // serialized UserNameProof
  std::string name;
  uint64_t fid = 0;
  uint64_t ts = 0;
  std::string signature;
};

// One entry of a shard's event log. What a/b/c mean depends on type:
//   BLOCK_CONFIRMED       a = block index in the shard
//   MERGE_MESSAGE         a = message, b/c = range in deleted_pool
//   PRUNE/REVOKE_MESSAGE  a = message
//   MERGE_USERNAME_PROOF  proof_msg=false: a = new fname proof, b = deleted proof (or kNone)
//                         proof_msg=true:  a = type-12 message (or kNone), b = deleted message (or kNone)
//   MERGE_ON_CHAIN_EVENT  a = on-chain event
//   MERGE_FAILURE         a = message, c = failure code index
//   CHANNEL_OWNER_CHANGE_HINT  a = hint body
struct EventRec {
  uint64_t id = 0;
  uint32_t a = kNone;
  uint32_t b = kNone;
  uint32_t c = 0;
  uint8_t type = 0;
  bool proof_msg = false;
};

struct BlockRec {
  uint64_t height = 0;
  uint64_t ts = 0;  // Farcaster seconds
  uint32_t first_event = 0;
  uint32_t num_events = 0;  // including its BLOCK_CONFIRMED
  std::map<int32_t, uint64_t> counts;
};

struct ShardLog {
  std::vector<EventRec> events;  // sorted by id
  std::vector<BlockRec> blocks;  // height = index + 1
  uint64_t Head() const { return blocks.empty() ? 0 : blocks.back().height; }
  // Index of the first event with id >= id.
  size_t LowerBound(uint64_t id) const;
};

// Per-fid store limits per storage unit (small on purpose so pruning happens).
uint32_t StoreLimitPerUnit(Store s);

struct SignerKey {
  std::array<uint8_t, 32> pk{};
  std::array<uint8_t, 64> sk{};
};
SignerKey DeriveSignerKey(uint64_t seed, uint64_t fid, uint32_t key_index);

// Channels (docs/channels-and-keys.md 2): the registry fold, the four slot stores and the
// admission rules of shard 0, written here again (independent of the mirror's SQL).
enum class ChannelRefusal : uint8_t {
  kNone,
  kInvalid,          // a body rule (channel id width, action NONE, ...)
  kUnknownFid,       // the author has no ID_REGISTER
  kBadSigner,        // not signed by an active key of the author
  kUnknownChannel,   // no REGISTER made the label known
  kParked,           // no fid verifies the owner address: only a member leaving itself
  kUnauthorized,     // the author's role may not do it
  kInvalidTarget,    // the target's state does not allow the action
  kBanned,           // a banned target accepts only UNBAN
  kOwnerUnbannable,  // BAN of the owner fid
  kModeratorCap,     // ADD_MODERATOR with 10 live moderators
  kDuplicate,        // the message holds its slot already
};
const char* ChannelRefusalName(ChannelRefusal r);
constexpr uint32_t kChannelModeratorCap = 10;

enum class MemberState : uint8_t { kNone, kMember, kModerator, kRemoved, kBanned };
// The state a winning ChannelMemberAction gives its target (member_state_for_message).
MemberState MemberStateOf(int action);
const char* MemberStateName(MemberState s);

struct ChannelState {
  std::string id;                      // 32 bytes: keccak256 of the key (the label)
  std::string key;                     // the registered name
  std::string owner_address;           // 20 bytes
  uint64_t expiry = 0;                 // Unix seconds
  std::array<uint64_t, 3> position{};  // (block_number, tx_index, log_index) of the last event folded
  uint32_t update = kNone;             // slot holders: message indices
  int membership_mode = 2;             // of the held update, folded (APPROVAL without one)
  uint32_t pin = kNone;
  std::string pinned;                                            // the pin's cast hash (empty: none)
  std::map<uint64_t, std::pair<uint32_t, MemberState>> members;  // target fid -> (CHANNEL_MEMBER, state)
  std::map<std::string, std::pair<uint32_t, bool>> moderations;  // cast hash -> (CHANNEL_MODERATE, hidden)
};

struct FidState {
  uint32_t shard = 0;
  bool registered = false;
  uint32_t units = 0;
  std::vector<SignerKey> keys;
  std::vector<bool> key_active;  // an active on-chain signer
  std::vector<bool> key_app;     // an app key (KEY_ADD), whether held or not
  uint32_t onchain_keys = 0;
  uint32_t user_nonce = 0;                  // last nonce a KEY_ADD / KEY_REMOVE consumed
  std::map<uint32_t, uint32_t> app_scopes;  // held app key index -> MessageType bit mask
  std::vector<uint32_t> onchain;            // indices into Node::onchain, in merge order
  std::array<std::unordered_map<std::string, uint32_t>, kStoreCount> held;  // conflict key -> message
  std::vector<std::string> fnames;                        // names whose current proof points at this fid
  std::array<std::vector<uint32_t>, kStoreCount> forged;  // forged messages served in its pages
};

class Node {
 public:
  Node(uint32_t num_shards, uint64_t seed);

  uint32_t num_shards() const { return num_shards_; }
  uint64_t seed() const { return seed_; }

  // Block building: every submission between BeginBlock and EndBlock lands in the
  // open block of each shard it is emitted on. A shard block that would exceed the
  // 14-bit sequence spills into a new height.
  void BeginBlock(uint64_t planned_block);
  void EndBlock();
  uint64_t planned_block() const { return planned_; }

  // A user message submitted to the node; signed by key `key` of data.fid(). Returns
  // the message index, or kNone when the store rejected it (a MERGE_FAILURE is logged).
  uint32_t SubmitMessage(const MessageData& data, uint32_t key, bool with_data_bytes);
  // A message no node would merge (see Forgery), emitted as a MERGE_MESSAGE event of the
  // fid's shard and served in the fid's backfill pages, but never part of the state.
  // Returns its index.
  uint32_t SubmitForged(MessageData data, Forgery kind);
  const std::vector<uint32_t>& Forged() const { return forged_; }
  // On-chain events. Signer adds derive the fid's next key and return its index.
  uint32_t RegisterFid(uint64_t fid, uint32_t storage_units);
  uint32_t AddSigner(uint64_t fid);
  void RemoveSigner(uint64_t fid, uint32_t key);
  // App keys (docs/channels-and-keys.md 2.7): the fid's app key number `slot` (derived
  // from the seed; its index in FidState::keys is returned by AppKeyIndex). KeyAdd merges
  // a KEY_ADD with these scopes (an upsert when the key is held) and KeyRemove a
  // KEY_REMOVE (refused when the key is not held), each with `nonce` (refused unless above
  // the fid's last one) and signed by the key itself; ts is the message timestamp.
  // Return the message index, or kNone when refused (MERGE_FAILURE).
  uint32_t AppKeyIndex(uint64_t fid, uint32_t slot);
  uint32_t KeyAdd(uint64_t fid, uint32_t slot, const std::vector<int>& scopes, uint32_t nonce, uint32_t ts);
  uint32_t KeyRemove(uint64_t fid, uint32_t slot, uint32_t nonce, uint32_t ts);
  // Whether key `key` of the fid may sign a message of this type now (on-chain, or an
  // app key whose scopes hold it).
  bool MaySign(const FidState& f, uint32_t key, int type) const;
  void RentStorage(uint64_t fid, uint32_t units);
  // An fname proof from the registry (fid 0 releases the name); emitted on every shard.
  // Returns false when it is ordered below the current proof of that name.
  bool SubmitFnameProof(const std::string& name, uint64_t fid, uint64_t unix_ts);

  // Channels. A CHANNEL_REGISTER on-chain event (fid 0, emitted as the node does on the data
  // shard of fid 0 and, modelling shard 0, the next one), folded as the node folds it: the
  // label index and owner record change only when the event is valid and not older than
  // the record (docs/channels-and-keys.md 2.6). Each event gets the next chain position; a
  // mint emits a TRANSFER and then its REGISTER in one transaction (the TRANSFER, seen before
  // the label is known, changes nothing). Owner changes emit an owner-change hint (type 12)
  // on every data shard.
  void ChannelRegistryEvent(int event_type, const std::string& label, const std::string& key,
                            const std::string& owner_address, uint64_t expiry);
  void ChannelMint(const std::string& key, const std::string& owner_address, uint64_t expiry);
  static std::string ChannelIdOf(const std::string& key);  // keccak256
  // A channel message (types 18-21) submitted to shard 0: admitted by the rules of
  // docs/channels-and-keys.md 2.2-2.5 against the state now, then merged into its slot (the
  // replaced holder in deleted_messages) and emitted on every data shard. Returns the
  // message index, or kNone when refused (nothing reaches the data shards; the reason is
  // last_channel_refusal()).
  uint32_t SubmitChannelMessage(const MessageData& data, uint32_t key);
  // The same message (same bytes) submitted again: admitted again by the same rules, a
  // duplicate when it holds its slot now.
  uint32_t ResubmitChannelMessage(uint32_t msg);
  ChannelRefusal last_channel_refusal() const { return last_refusal_; }
  const ChannelState* Channel(const std::string& id) const;
  const std::map<std::string, ChannelState>& Channels() const { return channels_; }
  // The owner fid by the node's rule: the fid whose held Ethereum verification of the
  // owner address has the greatest (timestamp, hash), the lower fid on a tie; none: parked.
  std::optional<uint64_t> ChannelOwnerFid(const ChannelState& c) const;
  MemberState MemberStateIn(const ChannelState& c, uint64_t fid) const;
  // The held CHANNEL_UPDATE's body (false: the channel has none).
  bool ChannelUpdateOf(const ChannelState& c, ChannelUpdateBody* out) const;

  // Signs every message not yet signed (parallel over `threads`).
  void SignPending(unsigned threads);

  // Read side.
  const FidState* Fid(uint64_t fid) const;
  const std::vector<uint64_t>& FidsOfShard(uint32_t shard) const { return fids_by_shard_.at(shard); }
  const ShardLog* Log(uint32_t shard) const;
  const MsgRec& Msg(uint32_t i) const { return msgs_[i]; }
  const OnchainRec& Onchain(uint32_t i) const { return onchain_[i]; }
  const ProofRec& Proof(uint32_t i) const { return proofs_[i]; }
  // Current fname proof index of a name (kNone if never seen).
  uint32_t FnameProof(const std::string& name) const;
  std::vector<uint32_t> DeletedOf(const EventRec& e) const;
  static const char* FailureCode(uint32_t c);
  static const char* FailureReason(uint32_t c);
  // Held messages of a fid in one store, ordered by (timestamp, hash).
  std::vector<uint32_t> HeldSorted(uint64_t fid, Store s) const;
  // The same plus the fid's forged messages of that store: what its pages serve.
  std::vector<uint32_t> ServedSorted(uint64_t fid, Store s) const;
  // The fid's gasless key records (the KEY_ADD held per key), ordered by public key: what
  // GetSignersByFid lists after the on-chain signers.
  std::vector<std::pair<std::string, MessageData>> HeldAppKeys(uint64_t fid) const;
  uint64_t NumHeldMessages() const { return num_held_; }
  uint64_t NumHeldMessagesInShard(uint32_t shard) const { return held_by_shard_.at(shard); }
  uint64_t NumFids() const { return num_registered_; }
  size_t NumMessages() const { return msgs_.size(); }

  // HubEvent bytes of an event of a shard's log.
  std::string EventBytes(uint32_t shard, const EventRec& e) const;

  // docs/state-lines.md lines of the current state, sorted bytewise.
  std::vector<std::string> StateLines() const;

 private:
  void AppendThreadLines(std::vector<std::string>& lines) const;
  void AppendChannelLines(std::vector<std::string>& lines) const;
  ChannelRefusal AdmitChannel(const MessageData& d, const ChannelState** channel) const;
  void RegistryEvent(int event_type, const std::string& label, const std::string& key, const std::string& owner_address,
                     uint64_t expiry, uint64_t n, uint32_t log_index);
  uint32_t MergeChannel(uint32_t idx, const MessageData& d);
  FidState& MutFid(uint64_t fid);
  void Emit(uint32_t shard, uint8_t type, uint32_t a, uint32_t b = kNone, uint32_t c = 0, bool proof_msg = false);
  void EmitOnchain(uint64_t fid, uint32_t onchain_index);
  void Unhold(FidState& f, Store s, const std::string& key);
  void PruneIfFull(uint64_t fid, Store s);
  uint32_t Fail(uint32_t shard, uint32_t msg, uint32_t code);
  uint32_t AddOnchain(uint64_t fid, OnChainEvent ev, bool keep_position = false);
  std::string ConflictKey(const MessageData& d, const Hash20& hash) const;
  bool Beats(const MsgRec& a, const MsgRec& b, Store s) const;

  uint32_t num_shards_;
  uint64_t seed_;
  uint64_t planned_ = 0;
  bool open_ = false;
  std::vector<ShardLog> logs_;  // index = shard - 1
  std::vector<MsgRec> msgs_;
  std::vector<OnchainRec> onchain_;
  std::vector<ProofRec> proofs_;
  std::vector<uint32_t> deleted_pool_;
  std::unordered_map<uint64_t, FidState> fids_;
  std::map<uint32_t, std::vector<uint64_t>> fids_by_shard_;
  std::unordered_map<std::string, uint32_t> fname_current_;  // name -> proof index
  std::unordered_map<std::string, uint32_t> dedupe_;         // hash -> message (duplicates)
  std::vector<uint32_t> unsigned_;
  std::vector<uint32_t> forged_;
  uint64_t num_held_ = 0;
  uint64_t num_registered_ = 0;
  std::map<uint32_t, uint64_t> held_by_shard_;
  uint32_t next_log_index_ = 0;
  std::map<std::string, ChannelState> channels_;                      // by channel id, once known
  std::unordered_map<std::string, std::string> labels_;               // label -> key (the node's label index)
  std::unordered_map<std::string, std::vector<uint64_t>> verifiers_;  // 20-byte address -> fids that verified it
  std::vector<std::string> hints_;                                    // ChannelOwnerChangeHintBody bytes
  uint64_t channel_block_ = 0;                                        // chain position of registry events
  ChannelRefusal last_refusal_ = ChannelRefusal::kNone;
};

}  // namespace waypoint::testnode
