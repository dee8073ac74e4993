// Builds the Snapchain payloads used by the pg_regress tests (test/regress/sql/apply_*.sql)
// and prints them as psql variables:
//   \set <name> '\\x<hex>'      payload bytes (HubEvent, Message, OnChainEvent, UserNameProof)
//   \set <name>_h '<hex>'       message hash, for assertions
// test/regress/prepare.sh puts these lines at the top of each apply_* test when the
// tests are run (nothing generated is committed).
// Hashes are real (BLAKE3 of the data bytes); signatures are placeholders (the apply
// engine does not verify signatures).
#include <cstdio>
#include <string>
#include <vector>
#include <tuple>

#include "hub_event.pb.h"
#include "request_response.pb.h"
#include "waypoint/core/channel_state.hpp"
#include "hashed_message.hpp"
#include "waypoint/core/hash.hpp"
#include "waypoint/core/keccak.hpp"

namespace {

using waypoint::core::MessageHash;
using waypoint::core::ToHex;

void Emit(const std::string& name, const std::string& bytes) {
  std::printf("\\set %s '\\\\x%s'\n", name.c_str(), ToHex(bytes).c_str());
}

// A signed-looking Message around `data`; emits <name>_h and returns it.
Message Finish(const std::string& name, MessageData data) {
  Message m = waypoint::testsupport::HashedMessage(std::move(data), '\x51', '\x5a');
  std::printf("\\set %s_h '%s'\n", name.c_str(), ToHex(m.hash()).c_str());
  return m;
}

MessageData Data(MessageType type, uint64_t fid, uint32_t ts) {
  MessageData d;
  d.set_type(type);
  d.set_fid(fid);
  d.set_timestamp(ts);
  d.set_network(FARCASTER_NETWORK_MAINNET);
  return d;
}

Message CastAdd(const std::string& name, uint64_t fid, uint32_t ts, const std::string& text,
                const Message* parent = nullptr, const char* parent_url = nullptr) {
  MessageData d = Data(MESSAGE_TYPE_CAST_ADD, fid, ts);
  auto* b = d.mutable_cast_add_body();
  b->set_text(text);
  if (parent) {
    b->mutable_parent_cast_id()->set_fid(parent->data().fid());
    b->mutable_parent_cast_id()->set_hash(parent->hash());
  }
  if (parent_url) b->set_parent_url(parent_url);
  return Finish(name, std::move(d));
}

Message CastRemove(const std::string& name, uint64_t fid, uint32_t ts, const std::string& target) {
  MessageData d = Data(MESSAGE_TYPE_CAST_REMOVE, fid, ts);
  d.mutable_cast_remove_body()->set_target_hash(target);
  return Finish(name, std::move(d));
}

Message Reaction(const std::string& name, bool add, uint64_t fid, uint32_t ts, ReactionType type,
                 const Message& target) {
  MessageData d = Data(add ? MESSAGE_TYPE_REACTION_ADD : MESSAGE_TYPE_REACTION_REMOVE, fid, ts);
  d.mutable_reaction_body()->set_type(type);
  d.mutable_reaction_body()->mutable_target_cast_id()->set_fid(target.data().fid());
  d.mutable_reaction_body()->mutable_target_cast_id()->set_hash(target.hash());
  return Finish(name, std::move(d));
}

Message Link(const std::string& name, bool add, uint64_t fid, uint32_t ts, uint64_t target) {
  MessageData d = Data(add ? MESSAGE_TYPE_LINK_ADD : MESSAGE_TYPE_LINK_REMOVE, fid, ts);
  d.mutable_link_body()->set_type("follow");
  d.mutable_link_body()->set_target_fid(target);
  return Finish(name, std::move(d));
}

Message Compact(const std::string& name, uint64_t fid, uint32_t ts, std::initializer_list<uint64_t> targets) {
  MessageData d = Data(MESSAGE_TYPE_LINK_COMPACT_STATE, fid, ts);
  d.mutable_link_compact_state_body()->set_type("follow");
  for (auto t : targets) d.mutable_link_compact_state_body()->add_target_fids(t);
  return Finish(name, std::move(d));
}

Message UserData(const std::string& name, uint64_t fid, uint32_t ts, UserDataType type, const std::string& value) {
  MessageData d = Data(MESSAGE_TYPE_USER_DATA_ADD, fid, ts);
  d.mutable_user_data_body()->set_type(type);
  d.mutable_user_data_body()->set_value(value);
  return Finish(name, std::move(d));
}

Message Verification(const std::string& name, bool add, uint64_t fid, uint32_t ts, const std::string& address,
                     Protocol protocol) {
  MessageData d;
  if (add) {
    d = Data(MESSAGE_TYPE_VERIFICATION_ADD_ETH_ADDRESS, fid, ts);
    auto* b = d.mutable_verification_add_address_body();
    b->set_address(address);
    b->set_protocol(protocol);
    b->set_claim_signature(std::string(65, '\x33'));
    b->set_block_hash(std::string(32, '\x44'));
  } else {
    d = Data(MESSAGE_TYPE_VERIFICATION_REMOVE, fid, ts);
    d.mutable_verification_remove_body()->set_address(address);
    d.mutable_verification_remove_body()->set_protocol(protocol);
  }
  return Finish(name, std::move(d));
}

Message Lend(const std::string& name, uint64_t fid, uint32_t ts, uint64_t to, uint64_t units) {
  MessageData d = Data(MESSAGE_TYPE_LEND_STORAGE, fid, ts);
  d.mutable_lend_storage_body()->set_to_fid(to);
  d.mutable_lend_storage_body()->set_num_units(units);
  d.mutable_lend_storage_body()->set_unit_type(UNIT_TYPE_2024);
  return Finish(name, std::move(d));
}

UserNameProof Proof(const std::string& name, uint64_t fid, uint64_t ts, char sig,
                    UserNameType type = USERNAME_TYPE_FNAME) {
  UserNameProof p;
  p.set_name(name);
  p.set_fid(fid);
  p.set_timestamp(ts);
  p.set_owner(std::string(20, '\x0e'));
  p.set_signature(std::string(65, sig));
  p.set_type(type);
  return p;
}

Message ProofMessage(const std::string& name, uint64_t fid, uint32_t ts, const std::string& ens) {
  MessageData d = Data(MESSAGE_TYPE_USERNAME_PROOF, fid, ts);
  *d.mutable_username_proof_body() = Proof(ens, fid, 1700000000 + ts, '\x21', USERNAME_TYPE_ENS_L1);
  return Finish(name, std::move(d));
}

// An ABI-encoded SignedKeyRequestMetadata(requestFid, requestSigner, signature, deadline).
std::string KeyMetadata(uint64_t request_fid) {
  auto word = [](uint64_t v) {
    std::string w(32, '\0');
    for (int i = 0; i < 8; ++i) w[31 - i] = static_cast<char>(v >> (8 * i));
    return w;
  };
  std::string m = word(32) + word(request_fid) + std::string(12, '\0') + std::string(20, '\x7a') + word(128) +
                  word(1800000000) + word(65) + std::string(65, '\x7b') + std::string(31, '\0');
  return m;
}

Message KeyAdd(const std::string& name, uint64_t fid, uint32_t ts, char key, uint32_t nonce,
               std::initializer_list<int> scopes, const std::string& metadata) {
  MessageData d = Data(MESSAGE_TYPE_KEY_ADD, fid, ts);
  auto* b = d.mutable_key_add_body();
  b->set_key(std::string(32, key));
  b->set_key_type(1);
  b->set_custody_signature(std::string(65, '\x1c'));
  b->set_deadline(1800000000);
  b->set_nonce(nonce);
  b->set_metadata(metadata);
  b->set_metadata_type(1);
  for (int s : scopes) b->add_scopes(s);
  b->set_ttl(86400);
  return Finish(name, std::move(d));
}

Message KeyRemove(const std::string& name, uint64_t fid, uint32_t ts, char key, uint32_t nonce) {
  MessageData d = Data(MESSAGE_TYPE_KEY_REMOVE, fid, ts);
  auto* b = d.mutable_key_remove_body();
  b->set_key(std::string(32, key));
  b->set_signature(std::string(65, '\x1d'));
  b->set_signature_type(1);
  b->set_deadline(1800000000);
  b->set_nonce(nonce);
  return Finish(name, std::move(d));
}

// A Signer as GetSignersByFid lists a gasless key (the node's state of a KEY_ADD: no
// message), from the KEY_ADD it describes; or, with source ONCHAIN, an on-chain signer.
std::string SignerState(const Message& key_add, SignerSource source = SIGNER_SOURCE_OFFCHAIN) {
  const MessageData& d = key_add.data();
  const KeyAddBody& b = d.key_add_body();
  Signer s;
  s.set_source(source);
  s.set_key(b.key());
  s.set_key_type(b.key_type());
  s.set_fid(d.fid());
  s.set_added_at(uint64_t{d.timestamp()} + 1609459200);
  s.set_last_used_at(uint64_t{d.timestamp()} + 1609459200);
  s.set_ttl(b.ttl());
  s.set_expires_at(uint64_t{d.timestamp()} + 1609459200 + b.ttl());
  for (int sc : b.scopes()) s.add_scopes(sc);
  s.set_request_fid(9);
  s.set_nonce(b.nonce());
  return s.SerializeAsString();
}

// A message whose envelope is signed by `key` (the signer is not covered by the hash).
Message SignedBy(Message m, char key) {
  m.set_signer(std::string(32, key));
  return m;
}

uint64_t next_id = 1u << 14;
HubEvent Event(HubEventType type) {
  HubEvent e;
  e.set_type(type);
  e.set_id(next_id++);
  e.set_shard_index(1);
  e.set_timestamp(150000000);
  return e;
}

std::string Merge(const Message& m, std::initializer_list<const Message*> deleted = {}) {
  HubEvent e = Event(HUB_EVENT_TYPE_MERGE_MESSAGE);
  *e.mutable_merge_message_body()->mutable_message() = m;
  for (const Message* d : deleted) *e.mutable_merge_message_body()->add_deleted_messages() = *d;
  return e.SerializeAsString();
}

std::string Prune(const Message& m) {
  HubEvent e = Event(HUB_EVENT_TYPE_PRUNE_MESSAGE);
  *e.mutable_prune_message_body()->mutable_message() = m;
  return e.SerializeAsString();
}

std::string Revoke(const Message& m) {
  HubEvent e = Event(HUB_EVENT_TYPE_REVOKE_MESSAGE);
  *e.mutable_revoke_message_body()->mutable_message() = m;
  return e.SerializeAsString();
}

std::string ProofEvent(const UserNameProof* proof, const UserNameProof* deleted) {
  HubEvent e = Event(HUB_EVENT_TYPE_MERGE_USERNAME_PROOF);
  auto* b = e.mutable_merge_username_proof_body();
  if (proof) *b->mutable_username_proof() = *proof;
  if (deleted) *b->mutable_deleted_username_proof() = *deleted;
  return e.SerializeAsString();
}

OnChainEvent OnChain(OnChainEventType type, uint64_t fid, char tx, uint32_t log_index) {
  OnChainEvent ev;
  ev.set_type(type);
  ev.set_chain_id(10);
  ev.set_block_number(120000000);
  ev.set_block_hash(std::string(32, '\x0b'));
  ev.set_block_timestamp(1700000000);
  ev.set_transaction_hash(std::string(32, tx));
  ev.set_log_index(log_index);
  ev.set_fid(fid);
  ev.set_tx_index(3);
  return ev;
}

std::string OnChainMerge(const OnChainEvent& ev, uint32_t shard) {
  HubEvent e = Event(HUB_EVENT_TYPE_MERGE_ON_CHAIN_EVENT);
  e.set_shard_index(shard);
  *e.mutable_merge_on_chain_event_body()->mutable_on_chain_event() = ev;
  return e.SerializeAsString();
}

// ---- channels (apply_channels) ------------------------------------------------------

std::string ChannelId(const std::string& key) {
  const auto h = waypoint::core::Keccak256(key);
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}

std::string Address(int n) { return std::string(19, '\x0a') + static_cast<char>(n); }

OnChainEvent Registry(ChannelRegisterEventType type, const std::string& label, const std::string& key,
                      const std::string& owner, uint64_t expiry, uint32_t block, uint32_t log_index) {
  OnChainEvent ev = OnChain(EVENT_TYPE_CHANNEL_REGISTER, 0, static_cast<char>(0x60 + block % 32), log_index);
  ev.set_block_number(block);
  ev.set_tx_index(1);
  auto* b = ev.mutable_channel_register_event_body();
  b->set_event_type(type);
  b->set_label(label);
  b->set_channel_key(key);
  b->set_owner_address(owner);
  b->set_expiry(expiry);
  return ev;
}

Message ChannelUpdate(const std::string& name, uint64_t fid, uint32_t ts, const std::string& id, const char* title,
                      int casting = -1, int membership = -1) {
  MessageData d = Data(MESSAGE_TYPE_CHANNEL_UPDATE, fid, ts);
  auto* b = d.mutable_channel_update_body();
  b->set_channel_id(id);
  if (title) b->set_name(title);
  if (casting >= 0) b->set_casting_mode(static_cast<CastingMode>(casting));
  if (membership >= 0) b->set_membership_mode(static_cast<MembershipMode>(membership));
  return Finish(name, std::move(d));
}

Message ChannelMemberMsg(const std::string& name, uint64_t fid, uint32_t ts, const std::string& id, uint64_t target,
                         int action) {
  MessageData d = Data(MESSAGE_TYPE_CHANNEL_MEMBER, fid, ts);
  d.mutable_channel_member_body()->set_channel_id(id);
  d.mutable_channel_member_body()->set_fid(target);
  d.mutable_channel_member_body()->set_action(static_cast<ChannelMemberAction>(action));
  return Finish(name, std::move(d));
}

Message ChannelPinMsg(const std::string& name, uint64_t fid, uint32_t ts, const std::string& id,
                      const std::string& cast) {
  MessageData d = Data(MESSAGE_TYPE_CHANNEL_PIN, fid, ts);
  d.mutable_channel_pin_body()->set_channel_id(id);
  d.mutable_channel_pin_body()->set_cast_hash(cast);
  return Finish(name, std::move(d));
}

Message ChannelModerate(const std::string& name, uint64_t fid, uint32_t ts, const std::string& id,
                        const std::string& cast, int action) {
  MessageData d = Data(MESSAGE_TYPE_CHANNEL_MODERATE, fid, ts);
  d.mutable_channel_moderate_body()->set_channel_id(id);
  d.mutable_channel_moderate_body()->set_cast_hash(cast);
  d.mutable_channel_moderate_body()->set_action(static_cast<ChannelModerateAction>(action));
  return Finish(name, std::move(d));
}

// A channel_state payload (core/channel_state.hpp) as the sidecar writes it: the node's
// responses, members and moderations split into pages of two.
struct StateRead {
  std::string id;
  ChannelMetadataResponse meta;
  std::string pin_cast;
  uint64_t pin_author = 0;
  std::vector<std::pair<uint64_t, int>> members;
  std::vector<std::tuple<std::string, int, uint64_t>> moderations;
};

std::string ChannelState(const StateRead& s) {
  waypoint::core::ChannelStatePayload p;
  p.channel_id = s.id;
  p.metadata = s.meta.SerializeAsString();
  ChannelPinResponse pin;
  if (!s.pin_cast.empty()) {
    pin.mutable_pin()->set_cast_hash(s.pin_cast);
    pin.mutable_pin()->set_author_fid(s.pin_author);
  }
  p.pin = pin.SerializeAsString();
  ChannelMembersResponse mp;
  for (size_t i = 0; i < s.members.size(); ++i) {
    auto* m = mp.add_members();
    m->set_fid(s.members[i].first);
    m->set_state(static_cast<ChannelMemberState>(s.members[i].second));
    if (mp.members_size() == 2) p.member_pages.push_back(mp.SerializeAsString()), mp.Clear();
  }
  p.member_pages.push_back(mp.SerializeAsString());  // the last page (maybe empty, as the node's)
  ChannelModerationsResponse dp;
  for (const auto& [cast, action, author] : s.moderations) {
    auto* m = dp.add_moderations();
    m->set_cast_hash(cast);
    m->set_action(static_cast<ChannelModerateAction>(action));
    m->set_author_fid(author);
    if (dp.moderations_size() == 2) p.moderation_pages.push_back(dp.SerializeAsString()), dp.Clear();
  }
  p.moderation_pages.push_back(dp.SerializeAsString());
  return waypoint::core::EncodeChannelState(p);
}

}  // namespace

int main() {
  std::printf("-- payloads printed by test/regress/gen_payloads.cpp (test/regress/prepare.sh)\n");
  std::printf("\\set QUIET on\n");

  // Casts: fid 100.
  Message c1 = CastAdd("c1", 100, 1000, "hello world");
  Message c2 = CastAdd("c2", 100, 1010, "a reply", &c1);
  Message c3 = CastAdd("c3", 101, 1020, "in a channel", nullptr, "https://warpcast.com/~/channel/dev");
  Message c1_rm = CastRemove("c1_rm", 100, 900, c1.hash());  // remove OLDER than the add: still wins
  Emit("ev_c1", Merge(c1));
  Emit("ev_c2", Merge(c2));
  Emit("ev_c3", Merge(c3));
  Emit("ev_c1_rm", Merge(c1_rm, {&c1}));
  Emit("msg_c1", c1.SerializeAsString());
  Emit("msg_c1_rm", c1_rm.SerializeAsString());

  // Reactions: fid 200 likes c2, unlikes, likes again.
  Message r1 = Reaction("r1", true, 200, 2000, REACTION_TYPE_LIKE, c2);
  Message r1_rm = Reaction("r1_rm", false, 200, 2001, REACTION_TYPE_LIKE, c2);
  Message r1_again = Reaction("r1_again", true, 200, 2002, REACTION_TYPE_LIKE, c2);
  Message r2 = Reaction("r2", true, 201, 2000, REACTION_TYPE_RECAST, c2);
  Message r_tie_add = Reaction("r_tie_add", true, 202, 2100, REACTION_TYPE_LIKE, c2);
  Message r_tie_rm = Reaction("r_tie_rm", false, 202, 2100, REACTION_TYPE_LIKE, c2);
  Emit("ev_r1", Merge(r1));
  Emit("ev_r1_rm", Merge(r1_rm, {&r1}));
  Emit("ev_r1_again", Merge(r1_again, {&r1_rm}));
  Emit("ev_r2", Merge(r2));
  Emit("ev_r_tie_add", Merge(r_tie_add));
  Emit("ev_r_tie_rm", Merge(r_tie_rm, {&r_tie_add}));

  // Links: fid 300 follows 301, 302, 303; unfollows 302; compact state keeps 301 only.
  Message l1 = Link("l1", true, 300, 3000, 301);
  Message l2 = Link("l2", true, 300, 3001, 302);
  Message l2_rm = Link("l2_rm", false, 300, 3002, 302);
  Message l3 = Link("l3", true, 300, 3003, 303);
  Message l4 = Link("l4", true, 300, 3100, 304);  // newer than the compact state
  Message lcs = Compact("lcs", 300, 3050, {301});
  Emit("ev_l1", Merge(l1));
  Emit("ev_l2", Merge(l2));
  Emit("ev_l2_rm", Merge(l2_rm, {&l2}));
  Emit("ev_l3", Merge(l3));
  Emit("ev_l4", Merge(l4));
  Emit("ev_lcs", Merge(lcs));

  // Lifecycle: prune and revoke, before and after the merge.
  Message p1 = CastAdd("p1", 400, 4000, "to be pruned");
  Message p2 = CastAdd("p2", 400, 4001, "pruned after merge");
  Message v1 = UserData("v1", 401, 4002, USER_DATA_TYPE_BIO, "revoked bio");
  Emit("ev_p1", Merge(p1));
  Emit("ev_p1_prune", Prune(p1));
  Emit("ev_p2", Merge(p2));
  Emit("ev_p2_prune", Prune(p2));
  Emit("ev_v1", Merge(v1));
  Emit("ev_v1_revoke", Revoke(v1));

  // User data: last write wins by timestamp, then hash.
  Message u1 = UserData("u1", 500, 5000, USER_DATA_TYPE_DISPLAY, "Alice");
  Message u2 = UserData("u2", 500, 5001, USER_DATA_TYPE_DISPLAY, "Alice B");
  Message u3 = UserData("u3", 500, 5000, USER_DATA_TYPE_USERNAME, "alice");
  Emit("ev_u1", Merge(u1));
  Emit("ev_u2", Merge(u2, {&u1}));
  Emit("ev_u3", Merge(u3));
  // Profile fields added in 2025-26: a profile token (CAIP-19) and "live at" (a URL).
  Message u4 = UserData("u4", 500, 5002, USER_DATA_TYPE_PROFILE_TOKEN,
                        "eip155:8453/erc20:0x4200000000000000000000000000000000000006");
  Message u5 = UserData("u5", 500, 5003, USER_DATA_TYPE_LIVE_AT, "https://example.com/live");
  Emit("ev_u4", Merge(u4));
  Emit("ev_u5", Merge(u5));

  // Verifications: Ethereum and Solana, remove then re-add.
  std::string eth(20, '\xee'), sol(32, '\x50');
  Message ve1 = Verification("ve1", true, 600, 6000, eth, PROTOCOL_ETHEREUM);
  Message vs1 = Verification("vs1", true, 600, 6001, sol, PROTOCOL_SOLANA);
  Message ve1_rm = Verification("ve1_rm", false, 600, 6002, eth, PROTOCOL_ETHEREUM);
  Message ve1_again = Verification("ve1_again", true, 600, 6003, eth, PROTOCOL_ETHEREUM);
  Emit("ev_ve1", Merge(ve1));
  Emit("ev_vs1", Merge(vs1));
  Emit("ev_ve1_rm", Merge(ve1_rm, {&ve1}));
  Emit("ev_ve1_again", Merge(ve1_again, {&ve1_rm}));

  // Lend storage: a newer lend for the same pair supersedes.
  Message ls1 = Lend("ls1", 700, 7000, 701, 5);
  Message ls2 = Lend("ls2", 700, 7001, 701, 2);
  Emit("ev_ls1", Merge(ls1));
  Emit("ev_ls2", Merge(ls2, {&ls1}));

  // Username proof message (type 12, ENS).
  Message ens = ProofMessage("ens", 800, 8000, "alice.eth");
  Emit("ev_ens", Merge(ens));
  {
    HubEvent e = Event(HUB_EVENT_TYPE_MERGE_USERNAME_PROOF);
    *e.mutable_merge_username_proof_body()->mutable_deleted_username_proof_message() = ens;
    *e.mutable_merge_username_proof_body()->mutable_deleted_username_proof() = ens.data().username_proof_body();
    Emit("ev_ens_gone", e.SerializeAsString());
  }

  // Fnames: "bob" registered to 900, transferred to 901, then released (fid 0).
  UserNameProof b1 = Proof("bob", 900, 1700000000, '\x01');
  UserNameProof b2 = Proof("bob", 901, 1700000100, '\x02');
  UserNameProof b3 = Proof("bob", 0, 1700000200, '\x03');
  UserNameProof carol = Proof("carol", 902, 1700000000, '\x04');
  Emit("ev_bob1", ProofEvent(&b1, nullptr));
  Emit("ev_bob2", ProofEvent(&b2, &b1));
  Emit("ev_bob3", ProofEvent(&b3, &b2));
  Emit("ev_carol", ProofEvent(&carol, nullptr));
  Emit("fname_carol", carol.SerializeAsString());

  // On-chain events: the same event from two shards, plus each type.
  OnChainEvent signer = OnChain(EVENT_TYPE_SIGNER, 1000, '\xa1', 4);
  signer.mutable_signer_event_body()->set_key(std::string(32, '\x5a'));
  signer.mutable_signer_event_body()->set_key_type(1);
  signer.mutable_signer_event_body()->set_event_type(SIGNER_EVENT_TYPE_ADD);
  signer.mutable_signer_event_body()->set_metadata(std::string(8, '\x6d'));
  signer.mutable_signer_event_body()->set_metadata_type(1);
  OnChainEvent idr = OnChain(EVENT_TYPE_ID_REGISTER, 1000, '\xa2', 0);
  idr.mutable_id_register_event_body()->set_to(std::string(20, '\x70'));
  idr.mutable_id_register_event_body()->set_event_type(ID_REGISTER_EVENT_TYPE_REGISTER);
  idr.mutable_id_register_event_body()->set_recovery_address(std::string(20, '\x72'));
  OnChainEvent rent = OnChain(EVENT_TYPE_STORAGE_RENT, 1000, '\xa3', 1);
  rent.mutable_storage_rent_event_body()->set_payer(std::string(20, '\x73'));
  rent.mutable_storage_rent_event_body()->set_units(2);
  rent.mutable_storage_rent_event_body()->set_expiry(1760000000);
  OnChainEvent tier = OnChain(EVENT_TYPE_TIER_PURCHASE, 1000, '\xa4', 2);
  tier.mutable_tier_purchase_event_body()->set_tier_type(Pro);
  tier.mutable_tier_purchase_event_body()->set_for_days(30);
  tier.mutable_tier_purchase_event_body()->set_payer(std::string(20, '\x74'));
  Emit("ev_signer_s1", OnChainMerge(signer, 1));
  Emit("ev_signer_s2", OnChainMerge(signer, 2));
  Emit("ev_idr", OnChainMerge(idr, 1));
  Emit("ev_rent", OnChainMerge(rent, 1));
  Emit("ev_tier", OnChainMerge(tier, 1));
  Emit("onchain_signer", signer.SerializeAsString());
  // Verification level full: casts of fid 1000 (whose key 0x5a.. the signer event above
  // adds) and of fid 1001 (no key ever added).
  Message kf1 = CastAdd("kf1", 1000, 6000, "signed by a key of fid 1000");
  Message kf2 = CastAdd("kf2", 1001, 6001, "signed by a key fid 1001 never added");
  Emit("ev_kf1", Merge(kf1));
  Emit("ev_kf2", Merge(kf2));
  Emit("msg_kf1", kf1.SerializeAsString());
  // The same key removed at 1700000500 (Unix); kf3 is signed after that (Farcaster time
  // 90541400 = Unix 1700000600), kf1 long before.
  OnChainEvent signer_rm = OnChain(EVENT_TYPE_SIGNER, 1000, '\xa5', 5);
  signer_rm.set_block_timestamp(1700000500);
  signer_rm.mutable_signer_event_body()->set_key(std::string(32, '\x5a'));
  signer_rm.mutable_signer_event_body()->set_key_type(1);
  signer_rm.mutable_signer_event_body()->set_event_type(SIGNER_EVENT_TYPE_REMOVE);
  Emit("ev_signer_rm", OnChainMerge(signer_rm, 1));
  Message kf3 = CastAdd("kf3", 1000, 90541400, "signed after its key was removed");
  Emit("ev_kf3", Merge(kf3));

  // Invalid and ignorable inputs.
  Emit("garbage", std::string("\xff\xff\xff\xff", 4));
  {
    HubEvent e = Event(HUB_EVENT_TYPE_MERGE_MESSAGE);  // no body
    Emit("ev_nobody", e.SerializeAsString());
    MessageData d = Data(MESSAGE_TYPE_CAST_ADD, 100, 1);
    d.mutable_user_data_body()->set_value("x");  // body does not match the type
    Message m = Finish("wrongbody", std::move(d));
    Emit("ev_wrongbody", Merge(m));
    HubEvent bc = Event(HUB_EVENT_TYPE_BLOCK_CONFIRMED);
    bc.mutable_block_confirmed_body()->set_block_number(5);
    Emit("ev_block", bc.SerializeAsString());
  }
  // Backfill reconciliation: fid 1100 (apply_reconcile).
  Message k1 = CastAdd("k1", 1100, 11000, "kept");
  Message k2 = CastAdd("k2", 1100, 11001, "pruned on the node while nobody listened");
  Message k3 = CastAdd("k3", 1100, 11005, "merged live during the backfill");
  Message rx1 = Reaction("rx1", true, 1100, 11010, REACTION_TYPE_LIKE, c1);
  Message rx1_rm = Reaction("rx1_rm", false, 1100, 11011, REACTION_TYPE_LIKE, c1);
  Message rx1_again = Reaction("rx1_again", true, 1100, 11012, REACTION_TYPE_LIKE, c1);
  Message ud1 = UserData("ud1", 1100, 11020, USER_DATA_TYPE_BIO, "revoked while nobody listened");
  Emit("ev_k1", Merge(k1));
  Emit("ev_k2", Merge(k2));
  Emit("ev_k3", Merge(k3));
  Emit("ev_rx1", Merge(rx1));
  Emit("ev_rx1_rm", Merge(rx1_rm, {&rx1}));
  Emit("ev_rx1_again", Merge(rx1_again, {&rx1_rm}));
  Emit("ev_ud1", Merge(ud1));
  Emit("msg_k1", k1.SerializeAsString());
  Emit("msg_k2", k2.SerializeAsString());
  Emit("msg_k3", k3.SerializeAsString());
  Emit("msg_rx1_rm", rx1_rm.SerializeAsString());
  Emit("msg_rx1_again", rx1_again.SerializeAsString());
  UserNameProof dave = Proof("dave", 1100, 1700000000, '\x05');
  UserNameProof erin = Proof("erin", 1100, 1700000000, '\x06');
  UserNameProof erin2 = Proof("erin", 1101, 1700000300, '\x07');
  Emit("ev_dave", ProofEvent(&dave, nullptr));
  Emit("ev_erin", ProofEvent(&erin, nullptr));
  Emit("ev_erin2", ProofEvent(&erin2, &erin));
  Emit("fname_dave", dave.SerializeAsString());
  Emit("fname_erin", erin.SerializeAsString());

  // Re-merge after death: fid 1200 (apply_remerge). X merges, X is revoked, then an OLDER
  // Y for the same key merges (the key is empty): the node holds Y.
  Message rm_x = Reaction("rm_x", true, 1200, 12000, REACTION_TYPE_LIKE, c1);
  Message rm_y = Reaction("rm_y", true, 1200, 11990, REACTION_TYPE_LIKE, c1);
  Emit("ev_rm_x", Merge(rm_x));
  Emit("ev_rm_x_revoke", Revoke(rm_x));
  Emit("ev_rm_y", Merge(rm_y));
  Emit("ev_rm_x_again", Merge(rm_x, {&rm_y}));  // X submitted again later: supersedes Y
  Emit("msg_rm_x", rm_x.SerializeAsString());
  Emit("msg_rm_y", rm_y.SerializeAsString());
  // The same with a prune, on lend storage.
  Message lp_x = Lend("lp_x", 1200, 12100, 1201, 3);
  Message lp_y = Lend("lp_y", 1200, 12050, 1201, 1);
  Emit("ev_lp_x", Merge(lp_x));
  Emit("ev_lp_x_prune", Prune(lp_x));
  Emit("ev_lp_y", Merge(lp_y));
  // add -> remove -> add, the re-add revoked, then the remove merged again? No: the node
  // holds nothing after the revoke; an older add merges into the empty key.
  Message ar_add = Link("ar_add", true, 1200, 12200, 1202);
  Message ar_rm = Link("ar_rm", false, 1200, 12201, 1202);
  Message ar_add2 = Link("ar_add2", true, 1200, 12202, 1202);
  Emit("ev_ar_add", Merge(ar_add));
  Emit("ev_ar_rm", Merge(ar_rm, {&ar_add}));
  Emit("ev_ar_add2", Merge(ar_add2, {&ar_rm}));
  Emit("ev_ar_add2_revoke", Revoke(ar_add2));
  Emit("ev_ar_add_again", Merge(ar_add));  // the first add, older, merges into the empty key
  // Link compaction by a superseded compact state: fid 1300 follows 1312 (old); compact
  // states with the same timestamp list {1301} then {1312}; the higher hash supersedes
  // (no deleted_messages for compact states); the link stays compacted away.
  Message ck_link = Link("ck_link", true, 1300, 13000, 1312);
  // The first state lists another fid (the first one whose state hashes lower, so that
  // the second supersedes it).
  Message ck_hi = Compact("ck_hi", 1300, 13050, {1312});
  Message ck_lo;
  for (uint64_t other = 1301; other < 1400; ++other) {
    MessageData d = Data(MESSAGE_TYPE_LINK_COMPACT_STATE, 1300, 13050);
    d.mutable_link_compact_state_body()->set_type("follow");
    d.mutable_link_compact_state_body()->add_target_fids(other);
    if (MessageHash(d.SerializeAsString()) < MessageHash(ck_hi.data().SerializeAsString())) {
      ck_lo = Finish("ck_lo", std::move(d));
      std::printf("\\set ck_lo_target %llu\n", static_cast<unsigned long long>(other));
      break;
    }
  }
  Emit("ev_ck_link", Merge(ck_link));
  Emit("ev_ck_lo", Merge(ck_lo));
  Emit("ev_ck_hi", Merge(ck_hi));
  Emit("ev_ck_hi_revoke", Revoke(ck_hi));

  // Threads: a channel cast (fid 1400) and a chain of replies by 1401, 1402 and 1403;
  // the middle reply is removed, the next one pruned.
  Message t_root = CastAdd("t_root", 1400, 14000, "thread top", nullptr, "https://example.com/channel/t");
  Message t_a = CastAdd("t_a", 1401, 14001, "reply to the top", &t_root);
  Message t_b = CastAdd("t_b", 1402, 14002, "reply to a", &t_a);
  Message t_c = CastAdd("t_c", 1403, 14003, "reply to b", &t_b);
  Message t_a_rm = CastRemove("t_a_rm", 1401, 14010, t_a.hash());
  Emit("ev_t_root", Merge(t_root));
  Emit("ev_t_a", Merge(t_a));
  Emit("ev_t_b", Merge(t_b));
  Emit("ev_t_c", Merge(t_c));
  Emit("ev_t_a_rm", Merge(t_a_rm, {&t_a}));
  Emit("ev_t_b_prune", Prune(t_b));
  Emit("msg_t_a", t_a.SerializeAsString());

  // App keys: fid 1400 (apply_app_keys). Key 0xa1: added (scopes cast add, reaction
  // add), upserted (more scopes), removed, added again; key 0xb2: metadata that does not
  // decode. In the node's merge order (event ids grow).
  Message ka1 = KeyAdd("ka1", 1400, 14000, '\xa1', 1, {1, 3}, KeyMetadata(9));
  Message ka2 = KeyAdd("ka2", 1400, 14010, '\xa1', 2, {1, 2, 3, 4}, KeyMetadata(9));
  Message kr1 = KeyRemove("kr1", 1400, 14020, '\xa1', 3);
  Message ka3 = KeyAdd("ka3", 1400, 14030, '\xa1', 4, {1}, KeyMetadata(9));
  Message kb1 = KeyAdd("kb1", 1400, 14005, '\xb2', 5, {5}, "not abi");
  {
    // The same merge event, with the KEY_ADD's envelope signed by a key fid 1400 never
    // added (the node does not check it).
    HubEvent e = Event(HUB_EVENT_TYPE_MERGE_MESSAGE);
    *e.mutable_merge_message_body()->mutable_message() = ka1;
    Emit("ev_ka1", e.SerializeAsString());
    *e.mutable_merge_message_body()->mutable_message() = SignedBy(ka1, '\xe5');
    Emit("ev_ka1_stranger", e.SerializeAsString());
  }
  Emit("ev_kb1", Merge(kb1));
  Emit("ev_ka2", Merge(ka2, {&ka1}));
  Emit("ev_kr1", Merge(kr1, {&ka2}));
  Emit("ev_ka3", Merge(ka3));
  Emit("msg_ka1", ka1.SerializeAsString());
  Emit("msg_ka2", ka2.SerializeAsString());
  Emit("msg_kr1", kr1.SerializeAsString());
  {
    // What the node refuses: a KEY_ADD with a stale nonce and a KEY_REMOVE of a key it
    // does not hold come as MERGE_FAILURE; a KEY_ADD whose key is not 32 bytes, or
    // without its body, never merges.
    Message stale = KeyAdd("ka_stale", 1400, 14040, '\xa1', 2, {1, 2, 3, 4, 5, 6}, KeyMetadata(9));
    HubEvent f = Event(HUB_EVENT_TYPE_MERGE_FAILURE);
    *f.mutable_merge_failure()->mutable_message() = stale;
    f.mutable_merge_failure()->set_code("bad_request.validation_failure");
    Emit("ev_ka_stale", f.SerializeAsString());
    Message rm_b = KeyRemove("kr_b", 1400, 14041, '\xc3', 6);
    HubEvent g = Event(HUB_EVENT_TYPE_MERGE_FAILURE);
    *g.mutable_merge_failure()->mutable_message() = rm_b;
    Emit("ev_kr_unknown", g.SerializeAsString());
    MessageData d = Data(MESSAGE_TYPE_KEY_ADD, 1400, 14042);
    d.mutable_key_add_body()->set_key(std::string(31, '\xd4'));
    Emit("ev_ka_short", Merge(Finish("ka_short", std::move(d))));
    MessageData e = Data(MESSAGE_TYPE_KEY_REMOVE, 1400, 14043);
    e.mutable_cast_remove_body()->set_target_hash(std::string(20, '\x01'));
    Emit("ev_kr_wrongbody", Merge(Finish("kr_wrongbody", std::move(e))));
  }
  // Level full with app keys: fid 1400's messages signed by key 0xa1. A cast while the
  // key was added (scope 1), a like (scope 3 of ka1/ka2, not ka3), a follow (scope 5:
  // never granted), a cast timestamped after the remove (granted again by ka3).
  Message ak_cast = SignedBy(CastAdd("ak_cast", 1400, 14001, "by an app key"), '\xa1');
  Message ak_like = SignedBy(Reaction("ak_like", true, 1400, 14002, REACTION_TYPE_LIKE, c1), '\xa1');
  Message ak_follow = SignedBy(Link("ak_follow", true, 1400, 14003, 1401), '\xa1');
  Message ak_late = SignedBy(CastAdd("ak_late", 1400, 14025, "after the remove"), '\xa1');
  Emit("ev_ak_cast", Merge(ak_cast));
  Emit("ev_ak_like", Merge(ak_like));
  Emit("ev_ak_follow", Merge(ak_follow));
  Emit("ev_ak_late", Merge(ak_late));

  // App keys from a backfill: fid 1410 (apply_app_key_states). Key 0xa5: sa1 (nonce 1,
  // scopes cast add), upserted by sa2 (nonce 3, cast add and like), removed by sr1 (nonce
  // 4); a later add sa5 (nonce 5, also follow) only the node's state shows. Key 0xb5: sb1
  // (nonce 2). st_*: the Signers GetSignersByFid lists for them; messages signed by key
  // 0xa5 for level full.
  Message sa1 = KeyAdd("sa1", 1410, 15000, '\xa5', 1, {1}, KeyMetadata(9));
  Message sb1 = KeyAdd("sb1", 1410, 15005, '\xb5', 2, {1}, KeyMetadata(9));
  Message sa2 = KeyAdd("sa2", 1410, 15010, '\xa5', 3, {1, 3}, KeyMetadata(9));
  Message sr1 = KeyRemove("sr1", 1410, 15020, '\xa5', 4);
  Message sa5 = KeyAdd("sa5", 1410, 15030, '\xa5', 5, {1, 3, 5}, KeyMetadata(9));
  Emit("ev_sa1", Merge(sa1));
  Emit("ev_sb1", Merge(sb1));
  Emit("ev_sa2", Merge(sa2, {&sa1}));
  Emit("ev_sr1", Merge(sr1, {&sa2}));
  Emit("ev_sa5", Merge(sa5));
  Emit("st_a1", SignerState(sa1));
  Emit("st_a2", SignerState(sa2));
  Emit("st_a5", SignerState(sa5));
  Emit("st_b1", SignerState(sb1));
  Emit("st_onchain", SignerState(sb1, SIGNER_SOURCE_ONCHAIN));
  {
    // The same KEY_ADD's state read later (its TTL anchor moved by an hour of use), and a
    // state without an anchor (apply_app_key_expiry).
    Signer s;
    s.ParseFromString(SignerState(sa2));
    s.set_last_used_at(s.last_used_at() + 3600);
    s.set_expires_at(s.last_used_at() + sa2.data().key_add_body().ttl());
    Emit("st_a2_used", s.SerializeAsString());
    s.clear_last_used_at();
    s.clear_expires_at();
    Emit("st_a2_no_anchor", s.SerializeAsString());
  }
  {
    Signer bad;
    bad.ParseFromString(SignerState(sa1));
    bad.set_key(std::string(31, '\xa5'));
    Emit("st_short_key", bad.SerializeAsString());
    bad.ParseFromString(SignerState(sa1));
    bad.clear_nonce();
    Emit("st_no_nonce", bad.SerializeAsString());
    bad.ParseFromString(SignerState(sa1));
    bad.clear_added_at();
    Emit("st_no_added_at", bad.SerializeAsString());
    bad.ParseFromString(SignerState(sa1));
    bad.set_fid(0);
    Emit("st_fid0", bad.SerializeAsString());
  }
  Emit("st_garbage", std::string("\xff\xff\xff", 3));
  Emit("ev_sk_cast", Merge(SignedBy(CastAdd("sk_cast", 1410, 15001, "by a backfilled key"), '\xa5')));
  Emit("ev_sk_follow", Merge(SignedBy(Link("sk_follow", true, 1410, 15002, 1400), '\xa5')));

  // Channels (apply_channels): channel "waypoint" (id = keccak256 of the name) minted by
  // 0x..0a00 (the mint's TRANSFER first, then the REGISTER, one transaction), renewed,
  // transferred to 0x..0a01; events the node skips (a REGISTER whose label is not its
  // key's hash, one with a 19-byte owner, a TRANSFER of a label never registered).
  const std::string ch = ChannelId("waypoint");
  std::printf("\\set ch_id '%s'\n", ToHex(ch).c_str());
  Emit("reg_mint", Registry(CHANNEL_REGISTER_EVENT_TYPE_TRANSFER, ch, "", Address(0), 0, 200, 0).SerializeAsString());
  Emit("reg_register", Registry(CHANNEL_REGISTER_EVENT_TYPE_REGISTER, ch, "waypoint", Address(0), 1800000000, 200, 1)
                           .SerializeAsString());
  Emit("reg_renew",
       Registry(CHANNEL_REGISTER_EVENT_TYPE_RENEW, ch, "waypoint", "", 1900000000, 201, 0).SerializeAsString());
  Emit("reg_transfer",
       Registry(CHANNEL_REGISTER_EVENT_TYPE_TRANSFER, ch, "", Address(1), 0, 202, 0).SerializeAsString());
  Emit("reg_bad_label",
       Registry(CHANNEL_REGISTER_EVENT_TYPE_REGISTER, ChannelId("other"), "wrong", Address(0), 1800000000, 203, 0)
           .SerializeAsString());
  Emit("reg_bad_owner", Registry(CHANNEL_REGISTER_EVENT_TYPE_REGISTER, ChannelId("short"), "short",
                                 std::string(19, '\x0a'), 1800000000, 203, 1)
                            .SerializeAsString());
  Emit("reg_unknown", Registry(CHANNEL_REGISTER_EVENT_TYPE_TRANSFER, ChannelId("never"), "", Address(2), 0, 204, 0)
                          .SerializeAsString());
  // Owner fid by verification: 700 verifies 0x..0a00; 701 and then 702 (later) verify
  // 0x..0a01; 702 removes its verification again.
  Emit("ev_cv700", Merge(Verification("cv700", true, 700, 100, Address(0), PROTOCOL_ETHEREUM)));
  Emit("ev_cv701", Merge(Verification("cv701", true, 701, 200, Address(1), PROTOCOL_ETHEREUM)));
  Message cv702 = Verification("cv702", true, 702, 300, Address(1), PROTOCOL_ETHEREUM);
  Emit("ev_cv702", Merge(cv702));
  Emit("ev_cv702_rm", Merge(Verification("cv702_rm", false, 702, 400, Address(1), PROTOCOL_ETHEREUM), {&cv702}));
  // Slots, in the node's merge order on data shard 1 (event ids grow). The update: cu1,
  // then cu2 (an older timestamp: merge order decides), then cu1 submitted again.
  Message cu1 = ChannelUpdate("cu1", 700, 5000, ch, "One");
  Message cu2 = ChannelUpdate("cu2", 700, 4000, ch, "Two", CASTING_MODE_EVERYONE, MEMBERSHIP_MODE_OPEN);
  Emit("ev_cu1", Merge(cu1));
  Emit("ev_cu2", Merge(cu2, {&cu1}));
  Emit("ev_cu1_again", Merge(cu1, {&cu2}));
  // Members: 700 invites 710 and makes it a moderator; 700 bans 711, moderator 710 unbans
  // it; 712 adds itself (OPEN) and leaves.
  Message cm1 = ChannelMemberMsg("cm1", 700, 5001, ch, 710, CHANNEL_MEMBER_ACTION_ADD_MEMBER);
  Message cm2 = ChannelMemberMsg("cm2", 700, 5002, ch, 710, CHANNEL_MEMBER_ACTION_ADD_MODERATOR);
  Message cm3 = ChannelMemberMsg("cm3", 700, 5003, ch, 711, CHANNEL_MEMBER_ACTION_BAN);
  Message cm4 = ChannelMemberMsg("cm4", 710, 5004, ch, 711, CHANNEL_MEMBER_ACTION_UNBAN);
  Message cm5 = ChannelMemberMsg("cm5", 712, 5005, ch, 712, CHANNEL_MEMBER_ACTION_ADD_MEMBER);
  Message cm6 = ChannelMemberMsg("cm6", 712, 5006, ch, 712, CHANNEL_MEMBER_ACTION_REMOVE_MEMBER);
  Emit("ev_cm1", Merge(cm1));
  Emit("ev_cm2", Merge(cm2, {&cm1}));
  Emit("ev_cm3", Merge(cm3));
  Emit("ev_cm4", Merge(cm4, {&cm3}));
  Emit("ev_cm5", Merge(cm5));
  Emit("ev_cm6", Merge(cm6, {&cm5}));
  // Pins: 700 pins a cast, moderator 710 unpins. Moderations: 700 hides cast 0x71..,
  // 710 unhides it, 710 hides cast 0x72...
  Message cp1 = ChannelPinMsg("cp1", 700, 5007, ch, std::string(20, '\x70'));
  Message cp2 = ChannelPinMsg("cp2", 710, 5008, ch, "");
  Emit("ev_cp1", Merge(cp1));
  Emit("ev_cp2", Merge(cp2, {&cp1}));
  Message ch1 = ChannelModerate("ch1", 700, 5009, ch, std::string(20, '\x71'), CHANNEL_MODERATE_ACTION_HIDE);
  Message ch2 = ChannelModerate("ch2", 710, 5010, ch, std::string(20, '\x71'), CHANNEL_MODERATE_ACTION_UNHIDE);
  Message ch3 = ChannelModerate("ch3", 710, 5011, ch, std::string(20, '\x72'), CHANNEL_MODERATE_ACTION_HIDE);
  Emit("ev_ch1", Merge(ch1));
  Emit("ev_ch2", Merge(ch2, {&ch1}));
  Emit("ev_ch3", Merge(ch3));
  // Copies from data shard 2 carry ids of that shard, here higher than all of shard 1's:
  // cu2, cm1, cp1 and ch1 replayed there (with their deleted messages). Ignored.
  next_id = 40u << 14;
  Emit("ev2_cu2", Merge(cu2, {&cu1}));
  Emit("ev2_cm1", Merge(cm1));
  Emit("ev2_cp1", Merge(cp1));
  Emit("ev2_ch1", Merge(ch1));
  Emit("msg_cu2", cu2.SerializeAsString());
  // Bodies the node refuses, whatever the channel's state.
  Emit("ev_bad_id", Merge(ChannelPinMsg("bad_id", 700, 5100, std::string(31, '\x01'), "")));
  Emit("ev_bad_pin", Merge(ChannelPinMsg("bad_pin", 700, 5101, ch, std::string(5, '\x01'))));
  Emit("ev_bad_mod_hash", Merge(ChannelModerate("bad_mh", 700, 5102, ch, std::string(19, '\x01'), 1)));
  Emit("ev_bad_mod_none", Merge(ChannelModerate("bad_mn", 700, 5103, ch, std::string(20, '\x01'), 0)));
  Emit("ev_bad_fid0", Merge(ChannelMemberMsg("bad_f0", 700, 5104, ch, 0, CHANNEL_MEMBER_ACTION_ADD_MEMBER)));
  Emit("ev_bad_fid_big", Merge(ChannelMemberMsg("bad_fb", 700, 5105, ch, uint64_t{1} << 32, 1)));
  Emit("ev_bad_action", Merge(ChannelMemberMsg("bad_a0", 700, 5106, ch, 710, CHANNEL_MEMBER_ACTION_NONE)));
  Emit("ev_bad_action9", Merge(ChannelMemberMsg("bad_a9", 700, 5107, ch, 710, 9)));
  Emit("ev_bad_mode", Merge(ChannelUpdate("bad_mode", 700, 5108, ch, "x", 7)));
  {
    MessageData d = Data(MESSAGE_TYPE_CHANNEL_PIN, 700, 5109);
    d.mutable_cast_remove_body()->set_target_hash(std::string(20, '\x01'));
    Emit("ev_bad_body", Merge(Finish("bad_body", std::move(d))));
  }
  {
    // The owner-change hint: redundant for the mirror, accepted and ignored.
    HubEvent e = Event(HUB_EVENT_TYPE_CHANNEL_OWNER_CHANGE_HINT);
    e.mutable_channel_owner_change_hint_body()->set_channel_key("waypoint");
    e.mutable_channel_owner_change_hint_body()->set_owner_address(Address(1));
    e.mutable_channel_owner_change_hint_body()->set_cause(CHANNEL_OWNER_CHANGE_CAUSE_TRANSFER);
    Emit("ev_hint", e.SerializeAsString());
  }

  // Channel backfill (apply_channel_state): channel "backfilled", its slots merged on data
  // shard 1 at ids from 50 << 14, then the state a backfill read as of (50 << 14) + 100.
  {
    const std::string b = ChannelId("backfilled");
    std::printf("\\set cb_id '%s'\n", ToHex(b).c_str());
    Emit("reg_cb", Registry(CHANNEL_REGISTER_EVENT_TYPE_REGISTER, b, "backfilled", Address(3), 1800000000, 300, 0)
                       .SerializeAsString());
    next_id = 50u << 14;
    Message bu = ChannelUpdate("bu", 800, 6000, b, "Bee");
    Emit("ev_bu", Merge(bu));
    Emit("ev_bm801", Merge(ChannelMemberMsg("bm801", 800, 6001, b, 801, CHANNEL_MEMBER_ACTION_ADD_MEMBER)));
    Emit("ev_bm802", Merge(ChannelMemberMsg("bm802", 800, 6002, b, 802, CHANNEL_MEMBER_ACTION_BAN)));
    Emit("ev_bp", Merge(ChannelPinMsg("bp", 800, 6003, b, std::string(20, '\x80'))));
    Emit("ev_bh", Merge(ChannelModerate("bh", 800, 6004, b, std::string(20, '\x81'), CHANNEL_MODERATE_ACTION_HIDE)));
    // A slot the node does not hold (the read does not list it): reconciled away.
    Emit("ev_bm803", Merge(ChannelMemberMsg("bm803", 800, 6005, b, 803, CHANNEL_MEMBER_ACTION_ADD_MEMBER)));
    // Merges the mirror sees only later, at or before the read's position: 804 made a
    // member (the read shows it a moderator since: no change) and 802 unbanned (the read
    // shows it removed: the derived row takes this message's hash).
    Emit("ev_bm804_old", Merge(ChannelMemberMsg("bm804", 800, 6006, b, 804, CHANNEL_MEMBER_ACTION_ADD_MEMBER)));
    Emit("ev_bm802_unban", Merge(ChannelMemberMsg("bm802u", 800, 6007, b, 802, CHANNEL_MEMBER_ACTION_UNBAN)));
    // After the read's position: a new pin.
    next_id = (50u << 14) + 200;
    Emit("ev_bp_after", Merge(ChannelPinMsg("bp2", 800, 6008, b, std::string(20, '\x83'))));
    StateRead s;
    s.id = b;
    s.meta.set_name("Bee");
    s.meta.set_casting_mode(CASTING_MODE_MEMBERS_ONLY);
    s.meta.set_membership_mode(MEMBERSHIP_MODE_APPROVAL);
    s.members = {{801, 1}, {802, 3}, {804, 2}};
    s.moderations = {{std::string(20, '\x81'), 1, 800}, {std::string(20, '\x82'), 2, 805}};
    Emit("cs_b", ChannelState(s));  // no pin: unpinned since
    // A second channel read with nothing but the defaults and one member, never streamed.
    const std::string q = ChannelId("quiet");
    std::printf("\\set cq_id '%s'\n", ToHex(q).c_str());
    StateRead sq;
    sq.id = q;
    sq.meta.set_casting_mode(CASTING_MODE_MEMBERS_ONLY);
    sq.meta.set_membership_mode(MEMBERSHIP_MODE_APPROVAL);
    sq.members = {{900, 1}};
    Emit("cs_q", ChannelState(sq));
    // Refused reads.
    StateRead bad = sq;
    bad.id = std::string(31, '\x01');
    Emit("cs_bad_id", ChannelState(bad));
    bad = sq;
    bad.members = {{901, 0}};
    Emit("cs_bad_state", ChannelState(bad));
    bad = sq;
    bad.moderations = {{std::string(19, '\x01'), 1, 1}};
    Emit("cs_bad_cast", ChannelState(bad));
    Emit("cs_garbage", std::string("\x0a\x05") + "abc");
  }

  std::printf("\\set QUIET off\n");
  return 0;
}
