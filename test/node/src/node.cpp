#include "waypoint/testnode/node.hpp"

#include <openssl/sha.h>
#include <sodium.h>

#include <algorithm>
#include <stdexcept>
#include <thread>
#include <unordered_set>

#include "hub_event.pb.h"
#include "waypoint/core/hash.hpp"
#include "waypoint/core/keccak.hpp"
#include "waypoint/testnode/wire.hpp"

namespace waypoint::testnode {

namespace {

std::string Sha256(const std::string& in) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(in.data()), in.size(), d);
  return std::string(reinterpret_cast<char*>(d), sizeof d);
}

std::string Le(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(v >> (8 * i));
  return s;
}

std::string Be(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[7 - i] = static_cast<char>(v >> (8 * i));
  return s;
}

std::string HashStr(const Hash20& h) { return std::string(reinterpret_cast<const char*>(h.data()), h.size()); }

std::string Hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() * 2);
  for (unsigned char c : s) {
    out.push_back(d[c >> 4]);
    out.push_back(d[c & 15]);
  }
  return out;
}

// MessageData of a record, signed (full Message bytes) or not yet (data bytes).
MessageData DataOf(const MsgRec& m) {
  MessageData d;
  if (m.signed_) {
    Message full;
    full.ParseFromString(m.bytes);
    d = full.data();
  } else {
    d.ParseFromString(m.bytes);
  }
  return d;
}

// Stable order used for pruning and listing: (timestamp, hash).
bool TsHashLess(const MsgRec& a, const MsgRec& b) {
  if (a.ts != b.ts) return a.ts < b.ts;
  return a.hash < b.hash;
}

struct Failure {
  const char* code;
  const char* reason;
};
constexpr Failure kFailures[] = {
    {"bad_request.duplicate", "message has already been merged"},
    {"bad_request.conflict", "message conflicts with a more recent message"},
    {"bad_request.prunable", "message would be pruned"},
    {"bad_request.validation_failure", "invalid signer"},
    {"bad_request.validation_failure", "unknown fid"},
    {"bad_request.validation_failure", "nonce is not greater than the stored nonce"},
    {"bad_request.validation_failure", "key is not registered"},
};
enum FailureIndex : uint32_t { kDuplicate, kConflict, kPrunable, kBadSigner, kUnknownFid, kStaleNonce, kKeyNotHeld };

uint32_t ScopeMask(const google::protobuf::RepeatedField<int32_t>& scopes) {
  uint32_t m = 0;
  for (int32_t t : scopes)
    if (t > 0 && t < 32) m |= 1u << t;
  return m;
}

}  // namespace

const char* StoreName(Store s) {
  switch (s) {
    case Store::kCast: return "cast";
    case Store::kReaction: return "reaction";
    case Store::kLink: return "link";
    case Store::kLinkCompactState: return "link_compact_state";
    case Store::kVerification: return "verification";
    case Store::kUserData: return "user_data";
    case Store::kUsernameProof: return "username_proof";
    case Store::kLendStorage: return "lend_storage";
    case Store::kAppKey: return "app_key";
    default: return "?";
  }
}

Store StoreOfType(MessageType t) {
  switch (t) {
    case MESSAGE_TYPE_CAST_ADD:
    case MESSAGE_TYPE_CAST_REMOVE: return Store::kCast;
    case MESSAGE_TYPE_REACTION_ADD:
    case MESSAGE_TYPE_REACTION_REMOVE: return Store::kReaction;
    case MESSAGE_TYPE_LINK_ADD:
    case MESSAGE_TYPE_LINK_REMOVE: return Store::kLink;
    case MESSAGE_TYPE_LINK_COMPACT_STATE: return Store::kLinkCompactState;
    case MESSAGE_TYPE_VERIFICATION_ADD_ETH_ADDRESS:
    case MESSAGE_TYPE_VERIFICATION_REMOVE: return Store::kVerification;
    case MESSAGE_TYPE_USER_DATA_ADD: return Store::kUserData;
    case MESSAGE_TYPE_USERNAME_PROOF: return Store::kUsernameProof;
    case MESSAGE_TYPE_LEND_STORAGE: return Store::kLendStorage;
    case MESSAGE_TYPE_KEY_ADD: return Store::kAppKey;
    default: return Store::kCount;
  }
}

bool IsRemoveType(MessageType t) {
  return t == MESSAGE_TYPE_CAST_REMOVE || t == MESSAGE_TYPE_REACTION_REMOVE || t == MESSAGE_TYPE_LINK_REMOVE ||
         t == MESSAGE_TYPE_VERIFICATION_REMOVE;
}

uint32_t DataShardOf(uint64_t fid, uint32_t num_shards) {
  const auto f = static_cast<uint32_t>(fid);
  std::string be(4, '\0');
  for (int i = 0; i < 4; ++i) be[3 - i] = static_cast<char>(f >> (8 * i));
  const std::string d = Sha256(be);
  uint32_t head = 0;
  for (int i = 0; i < 4; ++i) head = (head << 8) | static_cast<unsigned char>(d[i]);
  return head % num_shards + 1;
}

Hash20 MessageHashOf(const std::string& data_bytes) { return waypoint::core::MessageHash(data_bytes); }

uint32_t StoreLimitPerUnit(Store s) {
  switch (s) {
    case Store::kCast: return 4;
    case Store::kReaction: return 3;
    case Store::kLink: return 3;
    case Store::kVerification: return 2;
    case Store::kUserData: return 4;
    case Store::kUsernameProof: return 2;
    case Store::kLendStorage: return 2;
    default: return 0;  // no limit
  }
}

SignerKey DeriveSignerKey(uint64_t seed, uint64_t fid, uint32_t key_index) {
  const std::string s = Sha256("waypoint-test-node signer" + Le(seed) + Le(fid) + Le(key_index));
  SignerKey k;
  crypto_sign_seed_keypair(k.pk.data(), k.sk.data(), reinterpret_cast<const unsigned char*>(s.data()));
  return k;
}

const char* ForgeryName(Forgery f) {
  switch (f) {
    case Forgery::kNone: return "none";
    case Forgery::kHash: return "hash";
    case Forgery::kSignature: return "signature";
    case Forgery::kData: return "data";
    case Forgery::kNetwork: return "network";
    case Forgery::kSigner: return "signer";
  }
  return "?";
}

Forgery ParseForgery(const std::string& s) {
  for (Forgery f : {Forgery::kHash, Forgery::kSignature, Forgery::kData, Forgery::kNetwork, Forgery::kSigner})
    if (s == ForgeryName(f)) return f;
  return Forgery::kNone;
}

size_t ShardLog::LowerBound(uint64_t id) const {
  auto it = std::lower_bound(events.begin(), events.end(), id, [](const EventRec& e, uint64_t v) { return e.id < v; });
  return static_cast<size_t>(it - events.begin());
}

Node::Node(uint32_t num_shards, uint64_t seed) : num_shards_(num_shards), seed_(seed) {
  if (num_shards == 0) throw std::invalid_argument("at least one data shard");
  if (sodium_init() < 0) throw std::runtime_error("libsodium init failed");
  logs_.resize(num_shards);
  for (uint32_t s = 1; s <= num_shards; ++s) {
    fids_by_shard_[s];
    held_by_shard_[s] = 0;
  }
}

// ---- blocks and events ------------------------------------------------------------

void Node::BeginBlock(uint64_t planned_block) {
  if (open_) throw std::logic_error("block already open");
  planned_ = planned_block;
  open_ = true;
  for (uint32_t s = 1; s <= num_shards_; ++s) {
    ShardLog& log = logs_[s - 1];
    BlockRec b;
    b.height = log.Head() + 1;
    b.ts = kGenesisTs + planned_block;
    b.first_event = static_cast<uint32_t>(log.events.size());
    b.num_events = 1;
    EventRec bc;
    bc.id = (b.height << 14) | 0;
    bc.type = HUB_EVENT_TYPE_BLOCK_CONFIRMED;
    bc.a = static_cast<uint32_t>(log.blocks.size());
    log.blocks.push_back(std::move(b));
    log.events.push_back(bc);
  }
}

void Node::EndBlock() {
  if (!open_) throw std::logic_error("no open block");
  open_ = false;
}

void Node::Emit(uint32_t shard, uint8_t type, uint32_t a, uint32_t b, uint32_t c, bool proof_msg) {
  if (!open_) throw std::logic_error("event outside a block");
  ShardLog& log = logs_.at(shard - 1);
  if (log.blocks.back().num_events > kMaxSeq) {
    // The 14-bit sequence is full: continue in a new height with the same timestamp.
    BlockRec nb;
    nb.height = log.Head() + 1;
    nb.ts = log.blocks.back().ts;
    nb.first_event = static_cast<uint32_t>(log.events.size());
    nb.num_events = 1;
    EventRec bc;
    bc.id = nb.height << 14;
    bc.type = HUB_EVENT_TYPE_BLOCK_CONFIRMED;
    bc.a = static_cast<uint32_t>(log.blocks.size());
    log.blocks.push_back(std::move(nb));
    log.events.push_back(bc);
  }
  BlockRec& blk = log.blocks.back();
  EventRec e;
  e.id = (blk.height << 14) | blk.num_events;
  e.type = type;
  e.a = a;
  e.b = b;
  e.c = c;
  e.proof_msg = proof_msg;
  log.events.push_back(e);
  blk.num_events++;
  blk.counts[type]++;
}

// ---- store model ------------------------------------------------------------------

FidState& Node::MutFid(uint64_t fid) {
  auto it = fids_.find(fid);
  if (it != fids_.end()) return it->second;
  FidState& f = fids_[fid];
  f.shard = DataShardOf(fid, num_shards_);
  return f;
}

const FidState* Node::Fid(uint64_t fid) const {
  auto it = fids_.find(fid);
  return it == fids_.end() ? nullptr : &it->second;
}

const ShardLog* Node::Log(uint32_t shard) const {
  if (shard == 0 || shard > num_shards_) return nullptr;
  return &logs_[shard - 1];
}

std::string Node::ConflictKey(const MessageData& d, const Hash20& hash) const {
  switch (d.type()) {
    case MESSAGE_TYPE_CAST_ADD: return HashStr(hash);
    case MESSAGE_TYPE_CAST_REMOVE: return d.cast_remove_body().target_hash();
    case MESSAGE_TYPE_REACTION_ADD:
    case MESSAGE_TYPE_REACTION_REMOVE: {
      const auto& r = d.reaction_body();
      std::string k(1, static_cast<char>(r.type()));
      if (r.has_target_cast_id()) {
        k += "c" + Be(r.target_cast_id().fid()) + r.target_cast_id().hash();
      } else {
        k += "u" + r.target_url();
      }
      return k;
    }
    case MESSAGE_TYPE_LINK_ADD:
    case MESSAGE_TYPE_LINK_REMOVE: return d.link_body().type() + '\0' + Be(d.link_body().target_fid());
    case MESSAGE_TYPE_LINK_COMPACT_STATE: return d.link_compact_state_body().type();
    case MESSAGE_TYPE_VERIFICATION_ADD_ETH_ADDRESS: return d.verification_add_address_body().address();
    case MESSAGE_TYPE_VERIFICATION_REMOVE: return d.verification_remove_body().address();
    case MESSAGE_TYPE_USER_DATA_ADD: return Be(d.user_data_body().type());
    case MESSAGE_TYPE_USERNAME_PROOF: return d.username_proof_body().name();
    case MESSAGE_TYPE_LEND_STORAGE: return Be(d.lend_storage_body().to_fid());
    default: return {};
  }
}

// a > b in the store's order (docs/apply-semantics.md, "Store order").
bool Node::Beats(const MsgRec& a, const MsgRec& b, Store s) const {
  const bool ar = IsRemoveType(static_cast<MessageType>(a.type));
  const bool br = IsRemoveType(static_cast<MessageType>(b.type));
  if (s == Store::kCast && ar != br) return ar;  // casts: a remove beats an add whatever the time
  if (a.ts != b.ts) return a.ts > b.ts;
  if (ar != br) return ar;
  return a.hash > b.hash;
}

void Node::Unhold(FidState& f, Store s, const std::string& key) {
  if (f.held[static_cast<size_t>(s)].erase(key) > 0) {
    num_held_--;
    held_by_shard_[f.shard]--;
  }
}

uint32_t Node::Fail(uint32_t shard, uint32_t msg, uint32_t code) {
  Emit(shard, HUB_EVENT_TYPE_MERGE_FAILURE, msg, kNone, code);
  return kNone;
}

uint32_t Node::SubmitForged(MessageData data, Forgery kind) {
  const Store s = StoreOfType(data.type());
  if (s == Store::kCount || kind == Forgery::kNone) throw std::invalid_argument("not a forgeable message");
  FidState& f = MutFid(data.fid());
  if (!f.registered || f.keys.empty()) throw std::invalid_argument("forged messages need a registered fid");
  if (kind == Forgery::kNetwork) data.set_network(FARCASTER_NETWORK_TESTNET);
  MsgRec rec;
  rec.bytes = data.SerializeAsString();
  rec.ts = data.timestamp();
  if (kind == Forgery::kData) rec.bytes = "\xff\xff\xff\xff\x0f not a MessageData " + rec.bytes;
  rec.hash = MessageHashOf(rec.bytes);
  if (kind == Forgery::kHash) rec.hash[19] ^= 0x01;
  rec.fid = data.fid();
  rec.type = static_cast<uint8_t>(data.type());
  // The fid's newest key signs (an active one unless it was just removed).
  uint32_t newest = static_cast<uint32_t>(f.keys.size() - 1);
  while (newest > 0 && f.key_app[newest]) --newest;
  rec.key = static_cast<uint8_t>(newest);
  rec.with_data_bytes = true;
  rec.forged = kind;
  const uint32_t idx = static_cast<uint32_t>(msgs_.size());
  msgs_.push_back(std::move(rec));
  unsigned_.push_back(idx);
  forged_.push_back(idx);
  f.forged[static_cast<size_t>(s)].push_back(idx);
  Emit(f.shard, HUB_EVENT_TYPE_MERGE_MESSAGE, idx);
  return idx;
}

uint32_t Node::SubmitMessage(const MessageData& data, uint32_t key, bool with_data_bytes) {
  const Store s = StoreOfType(data.type());
  if (s == Store::kCount) throw std::invalid_argument("message type not modelled");
  MsgRec rec;
  rec.bytes = data.SerializeAsString();
  rec.hash = MessageHashOf(rec.bytes);
  rec.fid = data.fid();
  rec.ts = data.timestamp();
  rec.type = static_cast<uint8_t>(data.type());
  rec.key = static_cast<uint8_t>(key);
  rec.with_data_bytes = with_data_bytes;
  const uint32_t idx = static_cast<uint32_t>(msgs_.size());
  msgs_.push_back(std::move(rec));
  unsigned_.push_back(idx);
  const MsgRec& m = msgs_[idx];

  FidState& f = MutFid(data.fid());
  if (!f.registered) return Fail(f.shard, idx, kUnknownFid);
  if (!MaySign(f, key, data.type())) return Fail(f.shard, idx, kBadSigner);

  auto& held = f.held[static_cast<size_t>(s)];
  const std::string ckey = ConflictKey(data, m.hash);
  std::vector<uint32_t> deleted;

  auto existing = held.find(ckey);
  if (existing != held.end()) {
    const MsgRec& old = msgs_[existing->second];
    if (old.hash == m.hash) return Fail(f.shard, idx, kDuplicate);
    if (!Beats(m, old, s)) return Fail(f.shard, idx, kConflict);
  }

  if (s == Store::kLink) {
    // A compact state newer than (or as old as) this link decides it.
    auto cs = f.held[static_cast<size_t>(Store::kLinkCompactState)].find(data.link_body().type());
    if (cs != f.held[static_cast<size_t>(Store::kLinkCompactState)].end()) {
      const MsgRec& csm = msgs_[cs->second];
      if (m.ts <= csm.ts) {
        bool listed = false;
        if (data.type() == MESSAGE_TYPE_LINK_ADD) {
          const MessageData csd = DataOf(csm);
          for (uint64_t t : csd.link_compact_state_body().target_fids()) listed |= t == data.link_body().target_fid();
        }
        if (!listed) return Fail(f.shard, idx, kConflict);
      }
    }
  }

  // Storage limit: a full store refuses a message older than everything it holds.
  const uint32_t limit = StoreLimitPerUnit(s) * std::max<uint32_t>(f.units, 1);
  if (limit > 0) {
    size_t count = held.size() - (existing != held.end() ? 1 : 0);
    if (count >= limit) {
      const MsgRec* earliest = nullptr;
      for (const auto& [k, v] : held) {
        if (existing != held.end() && v == existing->second) continue;
        if (!earliest || TsHashLess(msgs_[v], *earliest)) earliest = &msgs_[v];
      }
      if (earliest && TsHashLess(m, *earliest)) return Fail(f.shard, idx, kPrunable);
    }
  }

  if (existing != held.end()) {
    deleted.push_back(existing->second);
    Unhold(f, s, ckey);
  }

  if (s == Store::kLinkCompactState) {
    // Drop link removes, and adds of unlisted targets, at or before the compact state.
    std::unordered_set<uint64_t> listed(data.link_compact_state_body().target_fids().begin(),
                                        data.link_compact_state_body().target_fids().end());
    auto& links = f.held[static_cast<size_t>(Store::kLink)];
    std::vector<std::string> drop;
    for (const auto& [k, v] : links) {
      const MsgRec& lm = msgs_[v];
      if (lm.ts > m.ts) continue;
      const std::string& type = data.link_compact_state_body().type();
      if (k.compare(0, type.size() + 1, type + '\0') != 0) continue;
      uint64_t target = 0;
      for (size_t i = type.size() + 1; i < k.size(); ++i) target = (target << 8) | static_cast<unsigned char>(k[i]);
      if (lm.type == MESSAGE_TYPE_LINK_REMOVE || listed.count(target) == 0) drop.push_back(k);
    }
    for (const auto& k : drop) Unhold(f, Store::kLink, k);
    // The node empties deleted_messages of compact-state merges (rewrite_hub_event).
    deleted.clear();
  }

  held[ckey] = idx;
  num_held_++;
  held_by_shard_[f.shard]++;
  if (data.type() == MESSAGE_TYPE_VERIFICATION_ADD_ETH_ADDRESS &&
      data.verification_add_address_body().protocol() == PROTOCOL_ETHEREUM && ckey.size() == 20) {
    auto& fids = verifiers_[ckey];  // the channel owner resolution looks here
    if (std::find(fids.begin(), fids.end(), data.fid()) == fids.end()) fids.push_back(data.fid());
  }

  if (s == Store::kUsernameProof) {
    Emit(f.shard, HUB_EVENT_TYPE_MERGE_USERNAME_PROOF, idx, deleted.empty() ? kNone : deleted[0], 0, true);
  } else {
    const uint32_t start = static_cast<uint32_t>(deleted_pool_.size());
    deleted_pool_.insert(deleted_pool_.end(), deleted.begin(), deleted.end());
    Emit(f.shard, HUB_EVENT_TYPE_MERGE_MESSAGE, idx, start, static_cast<uint32_t>(deleted.size()));
  }
  PruneIfFull(data.fid(), s);
  return idx;
}

void Node::PruneIfFull(uint64_t fid, Store s) {
  FidState& f = MutFid(fid);
  const uint32_t limit = StoreLimitPerUnit(s) * std::max<uint32_t>(f.units, 1);
  if (limit == 0) return;
  auto& held = f.held[static_cast<size_t>(s)];
  while (held.size() > limit) {
    auto victim = held.begin();
    for (auto it = held.begin(); it != held.end(); ++it) {
      if (TsHashLess(msgs_[it->second], msgs_[victim->second])) victim = it;
    }
    const uint32_t idx = victim->second;
    Unhold(f, s, victim->first);
    if (s == Store::kUsernameProof) {
      Emit(f.shard, HUB_EVENT_TYPE_MERGE_USERNAME_PROOF, kNone, idx, 0, true);
    } else {
      Emit(f.shard, HUB_EVENT_TYPE_PRUNE_MESSAGE, idx);
    }
  }
}

// ---- on-chain events and fnames -----------------------------------------------------

uint32_t Node::AddOnchain(uint64_t fid, OnChainEvent ev, bool keep_position) {
  ev.set_chain_id(10);
  ev.set_block_timestamp(static_cast<uint64_t>(kGenesisTs + planned_) + 1609459200);
  if (!keep_position) {  // (channel registry events come with their own chain position)
    const uint32_t n = next_log_index_++;
    ev.set_block_number(130000000 + n / 4);
    ev.set_block_hash(Sha256("eth block" + Le(seed_) + Le(n / 4)));
    ev.set_transaction_hash(Sha256("eth tx" + Le(seed_) + Le(n)));
    ev.set_log_index(n % 4);
    ev.set_tx_index(n % 7);
  }
  ev.set_fid(fid);
  ev.set_version(2);
  OnchainRec r;
  r.fid = fid;
  r.type = static_cast<uint8_t>(ev.type());
  r.tx_hash = ev.transaction_hash();
  r.log_index = ev.log_index();
  if (ev.has_signer_event_body()) r.signer_event = static_cast<uint8_t>(ev.signer_event_body().event_type());
  r.bytes = ev.SerializeAsString();
  const uint32_t idx = static_cast<uint32_t>(onchain_.size());
  onchain_.push_back(std::move(r));
  MutFid(fid).onchain.push_back(idx);
  return idx;
}

void Node::EmitOnchain(uint64_t fid, uint32_t onchain_index) {
  const uint32_t shard = MutFid(fid).shard;
  Emit(shard, HUB_EVENT_TYPE_MERGE_ON_CHAIN_EVENT, onchain_index);
  // The real node emits on-chain events on shard 0 and the fid's shard; shard 0 cannot
  // be subscribed, so model the duplication on another data shard.
  if (num_shards_ > 1) Emit(shard % num_shards_ + 1, HUB_EVENT_TYPE_MERGE_ON_CHAIN_EVENT, onchain_index);
}

uint32_t Node::RegisterFid(uint64_t fid, uint32_t storage_units) {
  FidState& f = MutFid(fid);
  if (f.registered) throw std::logic_error("fid registered twice");
  OnChainEvent ev;
  ev.set_type(EVENT_TYPE_ID_REGISTER);
  auto* b = ev.mutable_id_register_event_body();
  b->set_to(Sha256("custody" + Le(seed_) + Le(fid)).substr(0, 20));
  b->set_event_type(ID_REGISTER_EVENT_TYPE_REGISTER);
  b->set_recovery_address(Sha256("recovery" + Le(seed_) + Le(fid)).substr(0, 20));
  f.registered = true;
  num_registered_++;
  auto& list = fids_by_shard_[f.shard];
  list.insert(std::upper_bound(list.begin(), list.end(), fid), fid);
  EmitOnchain(fid, AddOnchain(fid, std::move(ev)));
  RentStorage(fid, storage_units);
  return AddSigner(fid);
}

uint32_t Node::AddSigner(uint64_t fid) {
  FidState& f = MutFid(fid);
  const uint32_t k = static_cast<uint32_t>(f.keys.size());
  f.keys.push_back(DeriveSignerKey(seed_, fid, k));
  f.key_active.push_back(true);
  f.key_app.push_back(false);
  f.onchain_keys++;
  OnChainEvent ev;
  ev.set_type(EVENT_TYPE_SIGNER);
  auto* b = ev.mutable_signer_event_body();
  b->set_key(std::string(reinterpret_cast<const char*>(f.keys[k].pk.data()), 32));
  b->set_key_type(1);
  b->set_event_type(SIGNER_EVENT_TYPE_ADD);
  b->set_metadata(Sha256("metadata" + Le(fid) + Le(k)));
  b->set_metadata_type(1);
  const uint32_t oi = AddOnchain(fid, std::move(ev));
  onchain_[oi].key = static_cast<uint8_t>(k);
  EmitOnchain(fid, oi);
  return k;
}

void Node::RemoveSigner(uint64_t fid, uint32_t key) {
  FidState& f = MutFid(fid);
  if (key >= f.keys.size() || !f.key_active[key]) throw std::logic_error("signer not active");
  f.key_active[key] = false;
  OnChainEvent ev;
  ev.set_type(EVENT_TYPE_SIGNER);
  auto* b = ev.mutable_signer_event_body();
  b->set_key(std::string(reinterpret_cast<const char*>(f.keys[key].pk.data()), 32));
  b->set_key_type(1);
  b->set_event_type(SIGNER_EVENT_TYPE_REMOVE);
  const uint32_t oi = AddOnchain(fid, std::move(ev));
  onchain_[oi].key = static_cast<uint8_t>(key);
  EmitOnchain(fid, oi);
  // Revoke everything the key signed, in submission order.
  for (size_t si = 0; si < kStoreCount; ++si) {
    std::vector<std::pair<uint32_t, std::string>> victims;
    for (const auto& [k, v] : f.held[si]) {
      if (msgs_[v].key == key) victims.emplace_back(v, k);
    }
    std::sort(victims.begin(), victims.end());
    for (const auto& [v, k] : victims) {
      Unhold(f, static_cast<Store>(si), k);
      if (static_cast<Store>(si) == Store::kUsernameProof) {
        Emit(f.shard, HUB_EVENT_TYPE_MERGE_USERNAME_PROOF, kNone, v, 0, true);
      } else {
        Emit(f.shard, HUB_EVENT_TYPE_REVOKE_MESSAGE, v);
      }
    }
  }
}

// ---- app keys (KEY_ADD / KEY_REMOVE) ------------------------------------------------

bool Node::MaySign(const FidState& f, uint32_t key, int type) const {
  if (key >= f.keys.size()) return false;
  if (f.key_active[key]) return true;
  auto it = f.app_scopes.find(key);
  return it != f.app_scopes.end() && type > 0 && type < 32 && (it->second >> type & 1u);
}

uint32_t Node::AppKeyIndex(uint64_t fid, uint32_t slot) {
  FidState& f = MutFid(fid);
  const SignerKey k = DeriveSignerKey(seed_, fid, 500 + slot);
  for (uint32_t i = 0; i < f.keys.size(); ++i)
    if (f.key_app[i] && f.keys[i].pk == k.pk) return i;
  f.keys.push_back(k);
  f.key_active.push_back(false);
  f.key_app.push_back(true);
  return static_cast<uint32_t>(f.keys.size() - 1);
}

namespace {
// An ABI-encoded SignedKeyRequestMetadata(requestFid, requestSigner, signature, deadline).
std::string KeyRequestMetadata(uint64_t request_fid, const std::string& signer) {
  auto word = [](uint64_t v) { return std::string(24, '\0') + Be(v); };
  return word(32) + word(request_fid) + std::string(12, '\0') + signer.substr(0, 20) + word(128) + word(1900000000) +
         word(65) + Sha256("request sig" + Le(request_fid)) + Sha256("2" + Le(request_fid)) + std::string(1, '\x1b') +
         std::string(31, '\0');
}
}  // namespace

uint32_t Node::KeyAdd(uint64_t fid, uint32_t slot, const std::vector<int>& scopes, uint32_t nonce, uint32_t ts) {
  const uint32_t key = AppKeyIndex(fid, slot);
  FidState& f = MutFid(fid);
  const std::string pk(reinterpret_cast<const char*>(f.keys[key].pk.data()), 32);
  MessageData d;
  d.set_type(MESSAGE_TYPE_KEY_ADD);
  d.set_fid(fid);
  d.set_timestamp(ts);
  d.set_network(FARCASTER_NETWORK_MAINNET);
  auto* b = d.mutable_key_add_body();
  b->set_key(pk);
  b->set_key_type(1);
  b->set_custody_signature(Sha256("custody sig" + pk + Le(nonce)) + Sha256("2" + pk) + std::string(1, '\x1c'));
  b->set_deadline(1900000000);
  b->set_nonce(nonce);
  b->set_metadata(KeyRequestMetadata(1 + fid % 7, Sha256("app" + Le(fid % 7))));
  b->set_metadata_type(1);
  for (int t : scopes) b->add_scopes(t);
  b->set_ttl(7776000);
  MsgRec rec;
  rec.bytes = d.SerializeAsString();
  rec.hash = MessageHashOf(rec.bytes);
  rec.fid = fid;
  rec.ts = ts;
  rec.type = MESSAGE_TYPE_KEY_ADD;
  rec.key = static_cast<uint8_t>(key);  // the envelope is signed by the key being added
  const uint32_t idx = static_cast<uint32_t>(msgs_.size());
  msgs_.push_back(std::move(rec));
  unsigned_.push_back(idx);
  if (!f.registered) return Fail(f.shard, idx, kUnknownFid);
  if (nonce <= f.user_nonce) return Fail(f.shard, idx, kStaleNonce);
  f.user_nonce = nonce;
  auto& held = f.held[static_cast<size_t>(Store::kAppKey)];
  std::vector<uint32_t> deleted;
  auto existing = held.find(pk);
  if (existing != held.end()) {
    deleted.push_back(existing->second);  // an upsert: the previous KEY_ADD goes
    Unhold(f, Store::kAppKey, pk);
  }
  held[pk] = idx;
  num_held_++;
  held_by_shard_[f.shard]++;
  f.app_scopes[key] = ScopeMask(d.key_add_body().scopes());
  const uint32_t start = static_cast<uint32_t>(deleted_pool_.size());
  deleted_pool_.insert(deleted_pool_.end(), deleted.begin(), deleted.end());
  Emit(f.shard, HUB_EVENT_TYPE_MERGE_MESSAGE, idx, start, static_cast<uint32_t>(deleted.size()));
  return idx;
}

uint32_t Node::KeyRemove(uint64_t fid, uint32_t slot, uint32_t nonce, uint32_t ts) {
  const uint32_t key = AppKeyIndex(fid, slot);
  FidState& f = MutFid(fid);
  const std::string pk(reinterpret_cast<const char*>(f.keys[key].pk.data()), 32);
  MessageData d;
  d.set_type(MESSAGE_TYPE_KEY_REMOVE);
  d.set_fid(fid);
  d.set_timestamp(ts);
  d.set_network(FARCASTER_NETWORK_MAINNET);
  auto* b = d.mutable_key_remove_body();
  b->set_key(pk);
  b->set_signature(Sha256("remove sig" + pk + Le(nonce)) + Sha256("2" + pk) + std::string(1, '\x1c'));
  b->set_signature_type(1);
  b->set_deadline(1900000000);
  b->set_nonce(nonce);
  MsgRec rec;
  rec.bytes = d.SerializeAsString();
  rec.hash = MessageHashOf(rec.bytes);
  rec.fid = fid;
  rec.ts = ts;
  rec.type = MESSAGE_TYPE_KEY_REMOVE;
  rec.key = static_cast<uint8_t>(key);
  const uint32_t idx = static_cast<uint32_t>(msgs_.size());
  msgs_.push_back(std::move(rec));
  unsigned_.push_back(idx);
  if (!f.registered) return Fail(f.shard, idx, kUnknownFid);
  if (nonce <= f.user_nonce) return Fail(f.shard, idx, kStaleNonce);
  auto& held = f.held[static_cast<size_t>(Store::kAppKey)];
  auto existing = held.find(pk);
  if (existing == held.end()) return Fail(f.shard, idx, kKeyNotHeld);
  f.user_nonce = nonce;
  // The node deletes the KEY_ADD and does not store the KEY_REMOVE; what the key signed
  // stays.
  const uint32_t start = static_cast<uint32_t>(deleted_pool_.size());
  deleted_pool_.push_back(existing->second);
  Unhold(f, Store::kAppKey, pk);
  f.app_scopes.erase(key);
  Emit(f.shard, HUB_EVENT_TYPE_MERGE_MESSAGE, idx, start, 1);
  return idx;
}

void Node::RentStorage(uint64_t fid, uint32_t units) {
  FidState& f = MutFid(fid);
  OnChainEvent ev;
  ev.set_type(EVENT_TYPE_STORAGE_RENT);
  auto* b = ev.mutable_storage_rent_event_body();
  b->set_payer(Sha256("payer" + Le(seed_) + Le(fid)).substr(0, 20));
  b->set_units(units);
  b->set_expiry(static_cast<uint32_t>(kGenesisTs + planned_ + 1609459200 + 365 * 86400));
  f.units += units;
  EmitOnchain(fid, AddOnchain(fid, std::move(ev)));
}

uint32_t Node::FnameProof(const std::string& name) const {
  auto it = fname_current_.find(name);
  return it == fname_current_.end() ? kNone : it->second;
}

bool Node::SubmitFnameProof(const std::string& name, uint64_t fid, uint64_t unix_ts) {
  ProofRec p;
  p.name = name;
  p.fid = fid;
  p.ts = unix_ts;
  p.signature = Sha256("fname sig" + name + Le(fid) + Le(unix_ts)) + Sha256("2" + name + Le(fid) + Le(unix_ts));
  p.signature.push_back('\x1b');
  const uint32_t prev = FnameProof(name);
  if (prev != kNone) {
    const ProofRec& o = proofs_[prev];
    if (std::tie(p.ts, p.signature) <= std::tie(o.ts, o.signature)) return false;
  }
  UserNameProof up;
  up.set_timestamp(unix_ts);
  up.set_name(name);
  up.set_owner(Sha256("custody" + Le(seed_) + Le(fid)).substr(0, 20));
  up.set_signature(p.signature);
  up.set_fid(fid);
  up.set_type(USERNAME_TYPE_FNAME);
  p.bytes = up.SerializeAsString();
  const uint32_t idx = static_cast<uint32_t>(proofs_.size());
  proofs_.push_back(std::move(p));
  if (prev != kNone) {
    const uint64_t old_fid = proofs_[prev].fid;
    if (old_fid != 0) {
      auto& names = MutFid(old_fid).fnames;
      names.erase(std::remove(names.begin(), names.end(), name), names.end());
    }
  }
  if (fid != 0) MutFid(fid).fnames.push_back(name);
  fname_current_[name] = idx;
  // Fname transfers reach every data shard (route_mempool_message).
  for (uint32_t s = 1; s <= num_shards_; ++s) Emit(s, HUB_EVENT_TYPE_MERGE_USERNAME_PROOF, idx, prev, 0, false);
  return true;
}

// ---- channels (docs/channels-and-keys.md 2) -----------------------------------------

const char* ChannelRefusalName(ChannelRefusal r) {
  switch (r) {
    case ChannelRefusal::kNone: return "none";
    case ChannelRefusal::kInvalid: return "invalid body";
    case ChannelRefusal::kUnknownFid: return "unknown fid";
    case ChannelRefusal::kBadSigner: return "invalid signer";
    case ChannelRefusal::kUnknownChannel: return "unknown channel";
    case ChannelRefusal::kParked: return "channel is parked";
    case ChannelRefusal::kUnauthorized: return "unauthorized channel action";
    case ChannelRefusal::kInvalidTarget: return "invalid channel target state";
    case ChannelRefusal::kBanned: return "channel member is banned";
    case ChannelRefusal::kOwnerUnbannable: return "channel owner cannot be banned";
    case ChannelRefusal::kModeratorCap: return "channel moderator cap reached";
    case ChannelRefusal::kDuplicate: return "message has already been merged";
  }
  return "?";
}

MemberState MemberStateOf(int action) {
  switch (action) {
    case CHANNEL_MEMBER_ACTION_ADD_MEMBER:
    case CHANNEL_MEMBER_ACTION_REMOVE_MODERATOR: return MemberState::kMember;
    case CHANNEL_MEMBER_ACTION_ADD_MODERATOR: return MemberState::kModerator;
    case CHANNEL_MEMBER_ACTION_REMOVE_MEMBER:
    case CHANNEL_MEMBER_ACTION_UNBAN: return MemberState::kRemoved;
    case CHANNEL_MEMBER_ACTION_BAN: return MemberState::kBanned;
    default: return MemberState::kNone;
  }
}

const char* MemberStateName(MemberState s) {
  switch (s) {
    case MemberState::kMember: return "member";
    case MemberState::kModerator: return "moderator";
    case MemberState::kRemoved: return "removed";
    case MemberState::kBanned: return "banned";
    case MemberState::kNone: break;
  }
  return "none";
}

std::string Node::ChannelIdOf(const std::string& key) {
  const auto h = waypoint::core::Keccak256(key);
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}

const ChannelState* Node::Channel(const std::string& id) const {
  auto it = channels_.find(id);
  return it == channels_.end() ? nullptr : &it->second;
}

void Node::ChannelRegistryEvent(int event_type, const std::string& label, const std::string& key,
                                const std::string& owner_address, uint64_t expiry) {
  RegistryEvent(event_type, label, key, owner_address, expiry, channel_block_++, 0);
}

void Node::RegistryEvent(int event_type, const std::string& label, const std::string& key,
                         const std::string& owner_address, uint64_t expiry, uint64_t n, uint32_t log_index) {
  OnChainEvent ev;
  ev.set_type(EVENT_TYPE_CHANNEL_REGISTER);
  // Chain positions grow with n: the node receives registry events in chain order.
  ev.set_block_number(140000000 + n);
  ev.set_block_hash(Sha256("channel block" + Le(seed_) + Le(n)));
  ev.set_transaction_hash(Sha256("channel tx" + Le(seed_) + Le(n)));
  ev.set_tx_index(static_cast<uint32_t>(n % 5));
  ev.set_log_index(log_index);
  auto* b = ev.mutable_channel_register_event_body();
  b->set_channel_key(key);
  b->set_expiry(expiry);
  b->set_owner_address(owner_address);
  b->set_event_type(static_cast<ChannelRegisterEventType>(event_type));
  b->set_label(label);
  const uint32_t idx = AddOnchain(0, ev, true);
  EmitOnchain(0, idx);

  // The fold (build_secondary_indices_for_channel_register): the raw event is kept whatever
  // it decides.
  if (label.size() != 32) return;
  const std::array<uint64_t, 3> pos = {ev.block_number(), ev.tx_index(), ev.log_index()};
  int cause = 0;
  if (event_type == CHANNEL_REGISTER_EVENT_TYPE_REGISTER) {
    if (owner_address.size() != 20 || ChannelIdOf(key) != label) return;
    auto it = channels_.find(label);
    if (it != channels_.end() && pos < it->second.position) return;
    ChannelState& c = channels_[label];
    c.id = label;
    c.key = key;
    c.owner_address = owner_address;
    c.expiry = expiry;
    c.position = pos;
    labels_[label] = key;
    cause = CHANNEL_OWNER_CHANGE_CAUSE_REGISTER;
  } else if (event_type == CHANNEL_REGISTER_EVENT_TYPE_RENEW) {
    if (ChannelIdOf(key) != label) return;
    auto it = channels_.find(label);
    if (it == channels_.end() || pos < it->second.position) return;
    it->second.expiry = expiry;
    it->second.position = pos;
  } else if (event_type == CHANNEL_REGISTER_EVENT_TYPE_TRANSFER) {
    if (owner_address.size() != 20 || labels_.count(label) == 0) return;  // a mint seen first: skipped
    auto it = channels_.find(label);
    if (it == channels_.end() || pos < it->second.position) return;
    it->second.owner_address = owner_address;
    it->second.position = pos;
    cause = CHANNEL_OWNER_CHANGE_CAUSE_TRANSFER;
  }
  if (cause != 0) {
    // Trie-free hints on every data shard ("re-read GetChannelOwner"); the mirror ignores them.
    ChannelOwnerChangeHintBody h;
    h.set_channel_key(channels_[label].key);
    h.set_owner_address(owner_address);
    h.set_cause(static_cast<ChannelOwnerChangeCause>(cause));
    hints_.push_back(h.SerializeAsString());
    for (uint32_t s = 1; s <= num_shards_; ++s)
      Emit(s, HUB_EVENT_TYPE_CHANNEL_OWNER_CHANGE_HINT, static_cast<uint32_t>(hints_.size() - 1));
  }
}

void Node::ChannelMint(const std::string& key, const std::string& owner_address, uint64_t expiry) {
  const std::string label = ChannelIdOf(key);
  // One transaction: the ERC-721 mint's Transfer log comes first, when the label is not
  // known yet, so it is skipped; the NameRegistered log follows.
  const uint64_t n = channel_block_++;
  RegistryEvent(CHANNEL_REGISTER_EVENT_TYPE_TRANSFER, label, "", owner_address, 0, n, 0);
  RegistryEvent(CHANNEL_REGISTER_EVENT_TYPE_REGISTER, label, key, owner_address, expiry, n, 1);
}

std::optional<uint64_t> Node::ChannelOwnerFid(const ChannelState& c) const {
  auto it = verifiers_.find(c.owner_address);
  if (it == verifiers_.end()) return std::nullopt;
  std::optional<std::tuple<uint32_t, Hash20, uint64_t>> best;  // (ts, hash, fid)
  for (uint64_t fid : it->second) {
    const FidState* f = Fid(fid);
    if (!f) continue;
    auto v = f->held[static_cast<size_t>(Store::kVerification)].find(c.owner_address);
    if (v == f->held[static_cast<size_t>(Store::kVerification)].end()) continue;
    const MsgRec& m = msgs_[v->second];
    if (m.type != MESSAGE_TYPE_VERIFICATION_ADD_ETH_ADDRESS) continue;
    // Greatest (timestamp, hash); on a tie the lower fid (select_verification_address_winner).
    if (!best || std::tie(m.ts, m.hash) > std::tie(std::get<0>(*best), std::get<1>(*best)) ||
        (std::tie(m.ts, m.hash) == std::tie(std::get<0>(*best), std::get<1>(*best)) && fid < std::get<2>(*best)))
      best = std::make_tuple(m.ts, m.hash, fid);
  }
  if (!best) return std::nullopt;
  return std::get<2>(*best);
}

MemberState Node::MemberStateIn(const ChannelState& c, uint64_t fid) const {
  auto it = c.members.find(fid);
  return it == c.members.end() ? MemberState::kNone : it->second.second;
}

namespace {
const std::string& ChannelIdOfData(const MessageData& d) {
  switch (d.type()) {
    case MESSAGE_TYPE_CHANNEL_UPDATE: return d.channel_update_body().channel_id();
    case MESSAGE_TYPE_CHANNEL_MEMBER: return d.channel_member_body().channel_id();
    case MESSAGE_TYPE_CHANNEL_PIN: return d.channel_pin_body().channel_id();
    default: return d.channel_moderate_body().channel_id();
  }
}

bool ChannelBodyValid(const MessageData& d) {
  switch (d.type()) {
    case MESSAGE_TYPE_CHANNEL_UPDATE: {
      if (!d.has_channel_update_body()) return false;
      const auto& b = d.channel_update_body();
      return b.channel_id().size() == 32 && b.casting_mode() >= 0 && b.casting_mode() <= 3 &&
             b.membership_mode() >= 0 && b.membership_mode() <= 2;
    }
    case MESSAGE_TYPE_CHANNEL_MEMBER: {
      if (!d.has_channel_member_body()) return false;
      const auto& b = d.channel_member_body();
      return b.channel_id().size() == 32 && b.fid() != 0 && b.fid() <= 0xffffffffULL &&
             b.action() >= CHANNEL_MEMBER_ACTION_ADD_MEMBER && b.action() <= CHANNEL_MEMBER_ACTION_UNBAN;
    }
    case MESSAGE_TYPE_CHANNEL_PIN: {
      if (!d.has_channel_pin_body()) return false;
      const auto& b = d.channel_pin_body();
      return b.channel_id().size() == 32 && (b.cast_hash().empty() || b.cast_hash().size() == 20);
    }
    case MESSAGE_TYPE_CHANNEL_MODERATE: {
      if (!d.has_channel_moderate_body()) return false;
      const auto& b = d.channel_moderate_body();
      return b.channel_id().size() == 32 && b.cast_hash().size() == 20 &&
             (b.action() == CHANNEL_MODERATE_ACTION_HIDE || b.action() == CHANNEL_MODERATE_ACTION_UNHIDE);
    }
    default: return false;
  }
}
}  // namespace

// Shard-0 admission (validate_channel_message and channel_member_authority), against the
// state now. Authority is never checked again later.
ChannelRefusal Node::AdmitChannel(const MessageData& d, const ChannelState** channel) const {
  if (!ChannelBodyValid(d)) return ChannelRefusal::kInvalid;
  auto it = channels_.find(ChannelIdOfData(d));
  if (it == channels_.end()) return ChannelRefusal::kUnknownChannel;
  const ChannelState& c = it->second;
  *channel = &c;
  const std::optional<uint64_t> owner = ChannelOwnerFid(c);
  const bool member_msg = d.type() == MESSAGE_TYPE_CHANNEL_MEMBER;
  const int action = member_msg ? d.channel_member_body().action() : 0;
  const uint64_t target = member_msg ? d.channel_member_body().fid() : 0;
  const bool is_self = member_msg && target == d.fid();
  // Parked: frozen for everyone but a member leaving itself (a self-add under OPEN too).
  if (!owner && !(action == CHANNEL_MEMBER_ACTION_REMOVE_MEMBER && is_self)) return ChannelRefusal::kParked;
  enum Role { kOwner, kModerator, kMember, kOther };
  Role role = kOther;
  if (owner && *owner == d.fid()) {
    role = kOwner;
  } else {
    const MemberState st = MemberStateIn(c, d.fid());
    role = st == MemberState::kModerator ? kModerator : st == MemberState::kMember ? kMember : kOther;
  }
  switch (d.type()) {
    case MESSAGE_TYPE_CHANNEL_UPDATE: return role == kOwner ? ChannelRefusal::kNone : ChannelRefusal::kUnauthorized;
    case MESSAGE_TYPE_CHANNEL_PIN:
    case MESSAGE_TYPE_CHANNEL_MODERATE:
      return role == kOwner || role == kModerator ? ChannelRefusal::kNone : ChannelRefusal::kUnauthorized;
    default: break;
  }
  const MemberState ts = MemberStateIn(c, target);
  const bool owner_or_mod = role == kOwner || role == kModerator;
  if (action == CHANNEL_MEMBER_ACTION_BAN && owner && *owner == target) return ChannelRefusal::kOwnerUnbannable;
  if (ts == MemberState::kBanned && action != CHANNEL_MEMBER_ACTION_UNBAN) return ChannelRefusal::kBanned;
  switch (action) {
    case CHANNEL_MEMBER_ACTION_ADD_MEMBER:
      if (ts != MemberState::kNone && ts != MemberState::kRemoved) return ChannelRefusal::kInvalidTarget;
      if (owner_or_mod || (is_self && c.membership_mode == MEMBERSHIP_MODE_OPEN)) return ChannelRefusal::kNone;
      return ChannelRefusal::kUnauthorized;
    case CHANNEL_MEMBER_ACTION_REMOVE_MEMBER:
      if (ts == MemberState::kMember && (owner_or_mod || is_self)) return ChannelRefusal::kNone;
      if (ts == MemberState::kModerator && is_self) return ChannelRefusal::kNone;
      return ChannelRefusal::kInvalidTarget;
    case CHANNEL_MEMBER_ACTION_ADD_MODERATOR: {
      if (ts == MemberState::kModerator) return ChannelRefusal::kInvalidTarget;
      if (role != kOwner) return ChannelRefusal::kUnauthorized;
      uint32_t live = 0;
      for (const auto& [fid, slot] : c.members) live += slot.second == MemberState::kModerator;
      return live >= kChannelModeratorCap ? ChannelRefusal::kModeratorCap : ChannelRefusal::kNone;
    }
    case CHANNEL_MEMBER_ACTION_REMOVE_MODERATOR:
      if (ts != MemberState::kModerator) return ChannelRefusal::kInvalidTarget;
      return role == kOwner ? ChannelRefusal::kNone : ChannelRefusal::kUnauthorized;
    case CHANNEL_MEMBER_ACTION_BAN:
      if (ts == MemberState::kModerator) return role == kOwner ? ChannelRefusal::kNone : ChannelRefusal::kUnauthorized;
      return owner_or_mod ? ChannelRefusal::kNone : ChannelRefusal::kUnauthorized;
    case CHANNEL_MEMBER_ACTION_UNBAN:
      if (ts != MemberState::kBanned) return ChannelRefusal::kInvalidTarget;
      return owner_or_mod ? ChannelRefusal::kNone : ChannelRefusal::kUnauthorized;
    default: return ChannelRefusal::kInvalid;
  }
}

// merge_slot: the newest merge takes the slot unconditionally; the replaced holder (any
// author's) goes out in deleted_messages. Replayed on every data shard, in shard-0 order.
uint32_t Node::MergeChannel(uint32_t idx, const MessageData& d) {
  ChannelState& c = channels_.at(ChannelIdOfData(d));
  uint32_t old = kNone;
  switch (d.type()) {
    case MESSAGE_TYPE_CHANNEL_UPDATE: {
      old = c.update;
      c.update = idx;
      const int m = d.channel_update_body().has_membership_mode() ? d.channel_update_body().membership_mode() : 0;
      c.membership_mode = m == 0 ? MEMBERSHIP_MODE_APPROVAL : m;
      break;
    }
    case MESSAGE_TYPE_CHANNEL_MEMBER: {
      auto [it, fresh] = c.members.try_emplace(d.channel_member_body().fid(), kNone, MemberState::kNone);
      old = fresh ? kNone : it->second.first;
      it->second = {idx, MemberStateOf(d.channel_member_body().action())};
      break;
    }
    case MESSAGE_TYPE_CHANNEL_PIN:
      old = c.pin;
      c.pin = idx;
      c.pinned = d.channel_pin_body().cast_hash();
      break;
    default: {
      auto [it, fresh] = c.moderations.try_emplace(d.channel_moderate_body().cast_hash(), kNone, false);
      old = fresh ? kNone : it->second.first;
      it->second = {idx, d.channel_moderate_body().action() == CHANNEL_MODERATE_ACTION_HIDE};
      break;
    }
  }
  const uint32_t start = static_cast<uint32_t>(deleted_pool_.size());
  if (old != kNone) deleted_pool_.push_back(old);
  for (uint32_t s = 1; s <= num_shards_; ++s) Emit(s, HUB_EVENT_TYPE_MERGE_MESSAGE, idx, start, old != kNone ? 1 : 0);
  return idx;
}

uint32_t Node::SubmitChannelMessage(const MessageData& data, uint32_t key) {
  MsgRec rec;
  rec.bytes = data.SerializeAsString();
  rec.hash = MessageHashOf(rec.bytes);
  rec.fid = data.fid();
  rec.ts = data.timestamp();
  rec.type = static_cast<uint8_t>(data.type());
  rec.key = static_cast<uint8_t>(key);
  const uint32_t idx = static_cast<uint32_t>(msgs_.size());
  msgs_.push_back(std::move(rec));
  unsigned_.push_back(idx);
  return ResubmitChannelMessage(idx);
}

uint32_t Node::ResubmitChannelMessage(uint32_t idx) {
  const MsgRec& m = msgs_.at(idx);
  const MessageData d = DataOf(m);
  last_refusal_ = ChannelRefusal::kNone;
  FidState& f = MutFid(d.fid());
  auto refuse = [this](ChannelRefusal r) {
    last_refusal_ = r;  // a MERGE_FAILURE on shard 0 only, which no subscriber sees
    return kNone;
  };
  if (!f.registered) return refuse(ChannelRefusal::kUnknownFid);
  if (!MaySign(f, m.key, d.type())) return refuse(ChannelRefusal::kBadSigner);
  const ChannelState* c = nullptr;
  const ChannelRefusal r = AdmitChannel(d, &c);
  if (r != ChannelRefusal::kNone) return refuse(r);
  // merge_slot: the same message holding its slot is a duplicate.
  uint32_t holder = kNone;
  switch (d.type()) {
    case MESSAGE_TYPE_CHANNEL_UPDATE: holder = c->update; break;
    case MESSAGE_TYPE_CHANNEL_MEMBER: {
      auto it = c->members.find(d.channel_member_body().fid());
      if (it != c->members.end()) holder = it->second.first;
      break;
    }
    case MESSAGE_TYPE_CHANNEL_PIN: holder = c->pin; break;
    default: {
      auto it = c->moderations.find(d.channel_moderate_body().cast_hash());
      if (it != c->moderations.end()) holder = it->second.first;
      break;
    }
  }
  if (holder != kNone && msgs_[holder].hash == m.hash && msgs_[holder].fid == m.fid)
    return refuse(ChannelRefusal::kDuplicate);
  return MergeChannel(idx, d);
}

bool Node::ChannelUpdateOf(const ChannelState& c, ChannelUpdateBody* out) const {
  if (c.update == kNone) return false;
  const MsgRec& m = msgs_[c.update];
  MessageData d;
  if (m.signed_) {
    Message msg;
    msg.ParseFromString(m.bytes);
    if (msg.has_data())
      d = msg.data();
    else
      d.ParseFromString(msg.data_bytes());
  } else {
    d.ParseFromString(m.bytes);
  }
  *out = d.channel_update_body();
  return true;
}

namespace {
// The text fields of a channel_meta line: hex of the UTF-8 bytes, "-" when unset.
std::string MetaText(bool has, const std::string& v) { return has ? Hex(v) : "-"; }
const char* CastingModeName(int m) { return m == 1 ? "everyone" : m == 3 ? "recommended" : "members_only"; }
}  // namespace

void Node::AppendChannelLines(std::vector<std::string>& lines) const {
  for (const auto& [id, c] : channels_) {
    const std::optional<uint64_t> owner = ChannelOwnerFid(c);
    lines.push_back("channel\t" + Hex(id) + "\t" + c.key + "\t" + Hex(c.owner_address) + "\t" +
                    std::to_string(c.expiry) + "\t" + std::to_string(owner.value_or(0)));
    ChannelUpdateBody u;
    if (ChannelUpdateOf(c, &u))
      lines.push_back("channel_meta\t" + Hex(id) + "\t" +
                      CastingModeName(u.has_casting_mode() ? static_cast<int>(u.casting_mode()) : 0) + "\t" +
                      (c.membership_mode == 1 ? "open" : "approval") + "\t" + MetaText(u.has_name(), u.name()) + "\t" +
                      MetaText(u.has_description(), u.description()) + "\t" +
                      MetaText(u.has_image_url(), u.image_url()) + "\t" + MetaText(u.has_header(), u.header()) + "\t" +
                      MetaText(u.has_rules(), u.rules()) + "\t" + Hex(HashStr(msgs_[c.update].hash)));
    for (const auto& [fid, slot] : c.members)
      lines.push_back("channel_member\t" + Hex(id) + "\t" + std::to_string(fid) + "\t" + MemberStateName(slot.second) +
                      "\t" + Hex(HashStr(msgs_[slot.first].hash)));
    if (c.pin != kNone)
      lines.push_back("channel_pin\t" + Hex(id) + "\t" + Hex(c.pinned) + "\t" + std::to_string(msgs_[c.pin].fid) +
                      "\t" + Hex(HashStr(msgs_[c.pin].hash)));
    for (const auto& [cast, slot] : c.moderations)
      lines.push_back("channel_moderation\t" + Hex(id) + "\t" + Hex(cast) + "\t" +
                      (slot.second ? "hidden" : "visible") + "\t" + std::to_string(msgs_[slot.first].fid) + "\t" +
                      Hex(HashStr(msgs_[slot.first].hash)));
  }
}

// ---- signing ----------------------------------------------------------------------

void Node::SignPending(unsigned threads) {
  if (unsigned_.empty()) return;
  threads = std::max(1u, threads);
  auto work = [this](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      MsgRec& m = msgs_[unsigned_[i]];
      // A key never registered for the fid (derived far beyond its real keys).
      const SignerKey stranger =
          m.forged == Forgery::kSigner ? DeriveSignerKey(seed_, m.fid, 1000 + unsigned_[i]) : SignerKey{};
      const SignerKey& key = m.forged == Forgery::kSigner ? stranger : fids_.at(m.fid).keys.at(m.key);
      unsigned char sig[crypto_sign_BYTES];
      crypto_sign_detached(sig, nullptr, m.hash.data(), m.hash.size(), key.sk.data());
      if (m.forged == Forgery::kSignature) sig[7] ^= 0x20;
      std::string out;
      out.reserve(m.bytes.size() * (m.with_data_bytes ? 2 : 1) + 140);
      if (m.forged != Forgery::kData) wire::PutBytes(out, 1, m.bytes);  // garbage travels as data_bytes only
      wire::PutBytes(out, 2, HashStr(m.hash));
      wire::PutUint(out, 3, HASH_SCHEME_BLAKE3);
      wire::PutBytes(out, 4, std::string_view(reinterpret_cast<char*>(sig), sizeof sig));
      wire::PutUint(out, 5, SIGNATURE_SCHEME_ED25519);
      wire::PutBytes(out, 6, std::string_view(reinterpret_cast<const char*>(key.pk.data()), 32));
      if (m.with_data_bytes) wire::PutBytes(out, 7, m.bytes);
      m.bytes = std::move(out);
      m.signed_ = true;
    }
  };
  // Messages of unregistered fids have no key: sign those with a throwaway key so
  // their MERGE_FAILURE still carries a well-formed message.
  for (uint32_t i : unsigned_) {
    FidState& f = MutFid(msgs_[i].fid);
    while (f.keys.size() <= msgs_[i].key) {
      f.keys.push_back(DeriveSignerKey(seed_, msgs_[i].fid, static_cast<uint32_t>(f.keys.size())));
      f.key_active.push_back(false);
      f.key_app.push_back(false);
    }
  }
  const size_t n = unsigned_.size();
  if (threads == 1 || n < 2000) {
    work(0, n);
  } else {
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back(work, n * t / threads, n * (t + 1) / threads);
    for (auto& th : pool) th.join();
  }
  unsigned_.clear();
}

// ---- read side ----------------------------------------------------------------------

std::vector<uint32_t> Node::DeletedOf(const EventRec& e) const {
  if (e.type != HUB_EVENT_TYPE_MERGE_MESSAGE || e.c == 0) return {};
  return std::vector<uint32_t>(deleted_pool_.begin() + e.b, deleted_pool_.begin() + e.b + e.c);
}

const char* Node::FailureCode(uint32_t c) { return kFailures[c].code; }
const char* Node::FailureReason(uint32_t c) { return kFailures[c].reason; }

std::vector<uint32_t> Node::ServedSorted(uint64_t fid, Store s) const {
  std::vector<uint32_t> out = HeldSorted(fid, s);
  const FidState* f = Fid(fid);
  if (!f || f->forged[static_cast<size_t>(s)].empty()) return out;
  out.insert(out.end(), f->forged[static_cast<size_t>(s)].begin(), f->forged[static_cast<size_t>(s)].end());
  std::sort(out.begin(), out.end(), [this](uint32_t a, uint32_t b) { return TsHashLess(msgs_[a], msgs_[b]); });
  return out;
}

std::vector<uint32_t> Node::HeldSorted(uint64_t fid, Store s) const {
  std::vector<uint32_t> out;
  const FidState* f = Fid(fid);
  if (!f) return out;
  for (const auto& [k, v] : f->held[static_cast<size_t>(s)]) out.push_back(v);
  std::sort(out.begin(), out.end(), [this](uint32_t a, uint32_t b) { return TsHashLess(msgs_[a], msgs_[b]); });
  return out;
}

namespace {
// UserNameProof bytes of a type-12 message's body.
std::string ProofBodyOf(const std::string& message_bytes) {
  Message m;
  if (!m.ParseFromString(message_bytes)) return {};
  return m.data().username_proof_body().SerializeAsString();
}
}  // namespace

std::string Node::EventBytes(uint32_t shard, const EventRec& e) const {
  const ShardLog& log = logs_.at(shard - 1);
  const BlockRec& blk = log.blocks.at((e.id >> 14) - 1);
  std::string body;
  uint32_t body_field = 0;
  switch (e.type) {
    case HUB_EVENT_TYPE_BLOCK_CONFIRMED: {
      BlockConfirmedBody bc;
      bc.set_block_number(blk.height);
      bc.set_shard_index(shard);
      bc.set_timestamp(blk.ts);
      bc.set_block_hash(Sha256("block" + Le(seed_) + Le(shard) + Le(blk.height)));
      bc.set_total_events(blk.num_events - 1);
      for (const auto& [t, n] : blk.counts) (*bc.mutable_event_counts_by_type())[t] = n;
      bc.set_max_block_event_seqnum(blk.num_events - 1);
      body = bc.SerializeAsString();
      body_field = 16;
      break;
    }
    case HUB_EVENT_TYPE_MERGE_MESSAGE:
      wire::PutBytes(body, 1, msgs_[e.a].bytes);
      for (uint32_t i = 0; i < e.c; ++i) wire::PutBytes(body, 2, msgs_[deleted_pool_[e.b + i]].bytes);
      body_field = 3;
      break;
    case HUB_EVENT_TYPE_PRUNE_MESSAGE:
      wire::PutBytes(body, 1, msgs_[e.a].bytes);
      body_field = 4;
      break;
    case HUB_EVENT_TYPE_REVOKE_MESSAGE:
      wire::PutBytes(body, 1, msgs_[e.a].bytes);
      body_field = 5;
      break;
    case HUB_EVENT_TYPE_MERGE_USERNAME_PROOF:
      if (e.proof_msg) {
        if (e.a != kNone) wire::PutBytes(body, 1, ProofBodyOf(msgs_[e.a].bytes));
        if (e.b != kNone) wire::PutBytes(body, 2, ProofBodyOf(msgs_[e.b].bytes));
        if (e.a != kNone) wire::PutBytes(body, 3, msgs_[e.a].bytes);
        if (e.b != kNone) wire::PutBytes(body, 4, msgs_[e.b].bytes);
      } else {
        wire::PutBytes(body, 1, proofs_[e.a].bytes);
        if (e.b != kNone) wire::PutBytes(body, 2, proofs_[e.b].bytes);
      }
      body_field = 8;
      break;
    case HUB_EVENT_TYPE_MERGE_ON_CHAIN_EVENT:
      wire::PutBytes(body, 1, onchain_[e.a].bytes);
      body_field = 11;
      break;
    case HUB_EVENT_TYPE_MERGE_FAILURE:
      wire::PutBytes(body, 1, msgs_[e.a].bytes);
      wire::PutBytes(body, 2, kFailures[e.c].code);
      wire::PutBytes(body, 3, kFailures[e.c].reason);
      body_field = 13;
      break;
    case HUB_EVENT_TYPE_CHANNEL_OWNER_CHANGE_HINT:
      body = hints_[e.a];
      body_field = 17;
      break;
    default: break;
  }
  // Fields in number order, as protobuf itself would write them.
  std::string out;
  out.reserve(body.size() + 32);
  wire::PutUint(out, 1, e.type);
  wire::PutUint(out, 2, e.id);
  if (body_field < 12) wire::PutBytes(out, body_field, body);
  wire::PutUint(out, 12, blk.height);
  if (body_field == 13) wire::PutBytes(out, body_field, body);
  wire::PutUint(out, 14, shard);
  wire::PutUint(out, 15, blk.ts);
  if (body_field > 15) wire::PutBytes(out, body_field, body);
  return out;
}

// Thread roots of the casts held (docs/state-lines.md): follow each cast's parent while
// the node holds the parent as a cast add; the first cast with no parent cast is the
// root (with its parent URL), and a parent it does not hold ends the thread there.
void Node::AppendThreadLines(std::vector<std::string>& lines) const {
  struct Cast {
    uint64_t parent_fid = 0;
    std::string parent_hash;  // empty: replies to no cast
    std::string parent_url;
  };
  std::map<std::pair<uint64_t, std::string>, Cast> held;  // (fid, hash) of every held cast add
  for (const auto& [fid, f] : fids_) {
    for (const auto& [k, v] : f.held[static_cast<size_t>(Store::kCast)]) {
      Message m;
      if (!m.ParseFromString(msgs_[v].bytes) || m.data().type() != MESSAGE_TYPE_CAST_ADD) continue;
      const auto& b = m.data().cast_add_body();
      Cast c;
      if (b.has_parent_cast_id()) {
        c.parent_fid = b.parent_cast_id().fid();
        c.parent_hash = b.parent_cast_id().hash();
      } else if (b.has_parent_url()) {
        c.parent_url = b.parent_url();
      }
      held.emplace(std::make_pair(fid, HashStr(msgs_[v].hash)), std::move(c));
    }
  }
  for (const auto& [id, c] : held) {
    std::pair<uint64_t, std::string> at = id;
    const Cast* cur = &c;
    std::string url;
    for (size_t depth = 0; depth <= held.size(); ++depth) {
      if (cur->parent_hash.empty()) {
        url = cur->parent_url;
        break;
      }
      at = {cur->parent_fid, cur->parent_hash};
      auto p = held.find(at);
      if (p == held.end()) break;  // not held: the thread stops at the parent
      cur = &p->second;
    }
    lines.push_back("thread\t" + Hex(id.second) + "\t" + std::to_string(at.first) + "\t" + Hex(at.second) + "\t" + url);
  }
}

std::vector<std::pair<std::string, MessageData>> Node::HeldAppKeys(uint64_t fid) const {
  std::vector<std::pair<std::string, MessageData>> out;
  const FidState* f = Fid(fid);
  if (!f) return out;
  for (const auto& [pk, idx] : f->held[static_cast<size_t>(Store::kAppKey)]) out.emplace_back(pk, DataOf(msgs_[idx]));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

std::vector<std::string> Node::StateLines() const {
  std::vector<std::string> lines;
  lines.reserve(num_held_ + onchain_.size() + fname_current_.size());
  for (const auto& [fid, f] : fids_) {
    for (size_t si = 0; si < kStoreCount; ++si) {
      for (const auto& [k, v] : f.held[si]) {
        if (static_cast<Store>(si) == Store::kUsernameProof) {
          // ENS/basename proofs: compared by the proof they carry (name -> fid), since a
          // backfill can only read them back as UserNameProof objects, not as messages.
          Message m;
          if (m.ParseFromString(msgs_[v].bytes) && m.data().has_username_proof_body()) {
            const auto& p = m.data().username_proof_body();
            if (p.fid() != 0) lines.push_back("fname\t" + p.name() + "\t" + std::to_string(p.fid()));
          }
          continue;
        }
        if (static_cast<Store>(si) == Store::kAppKey) {
          // App keys: by key and the KEY_ADD's nonce, scopes and ttl, not by hash: a
          // backfill reads the key state (GetSignersByFid), never the KEY_ADD message.
          const MessageData d = DataOf(msgs_[v]);
          const auto& b = d.key_add_body();
          std::string scopes;
          for (int s : b.scopes()) scopes += (scopes.empty() ? "" : ",") + std::to_string(s);
          lines.push_back("app_key\t" + std::to_string(fid) + "\t" + Hex(b.key()) + "\t" + std::to_string(b.nonce()) +
                          "\t" + scopes + "\t" + std::to_string(b.ttl()));
          continue;
        }
        lines.push_back(std::string("msg\t") + StoreName(static_cast<Store>(si)) + "\t" + Hex(HashStr(msgs_[v].hash)));
      }
    }
  }
  AppendThreadLines(lines);
  AppendChannelLines(lines);
  for (const auto& o : onchain_) {
    lines.push_back("onchain\t" + std::to_string(o.type) + "\t" + std::to_string(o.fid) + "\t" + Hex(o.tx_hash) + "\t" +
                    std::to_string(o.log_index));
  }
  for (const auto& [name, idx] : fname_current_) {
    if (proofs_[idx].fid != 0) lines.push_back("fname\t" + name + "\t" + std::to_string(proofs_[idx].fid));
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

}  // namespace waypoint::testnode
