// Decoding Snapchain payloads into rows: every message type, every hub event type,
// and every rejection path (kDecode for bad bytes, kInvalid for unusable content).
#include <gtest/gtest.h>

#include "hub_event.pb.h"
#include "waypoint/core/decode.hpp"
#include "waypoint/core/errors.hpp"
#include "waypoint/core/hash.hpp"
#include "waypoint/core/keccak.hpp"

using namespace waypoint::core;

namespace {

Message Msg(MessageType type, uint64_t fid, uint32_t ts) {
  Message m;
  m.mutable_data()->set_type(type);
  m.mutable_data()->set_fid(fid);
  m.mutable_data()->set_timestamp(ts);
  return m;
}

// Sets the real hash once the body is filled in.
Message& Seal(Message& m) {
  auto h = MessageHash(m.data().SerializeAsString());
  m.set_hash(std::string(reinterpret_cast<const char*>(h.data()), h.size()));
  m.set_signer(std::string(32, 's'));
  return m;
}

RowSet DecodeMsg(Message m) { return DecodeMessageBytes(Seal(m).SerializeAsString()); }

ErrorClass ErrorOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.cls();
  }
  ADD_FAILURE() << "no error";
  return ErrorClass::kConfig;
}

ErrorClass MsgError(Message m, bool seal = true) {
  if (seal) Seal(m);
  std::string bytes = m.SerializeAsString();
  return ErrorOf([&] { DecodeMessageBytes(bytes); });
}

std::string EventBytes(const HubEvent& e) { return e.SerializeAsString(); }

}  // namespace

TEST(Decode, CastAddWithParentEmbedsAndMentions) {
  Message m = Msg(MESSAGE_TYPE_CAST_ADD, 10, 100);
  auto* b = m.mutable_data()->mutable_cast_add_body();
  b->set_text(std::string("hi\0there", 8));
  b->mutable_parent_cast_id()->set_fid(11);
  b->mutable_parent_cast_id()->set_hash(std::string(20, '\x01'));
  b->add_embeds()->set_url("https://x.test/\"q\"");
  auto* ce = b->add_embeds()->mutable_cast_id();
  ce->set_fid(12);
  ce->set_hash(std::string(2, '\xab'));
  b->add_embeds();  // neither variant
  b->add_embeds_deprecated("old");
  b->add_mentions(5);
  b->add_mentions(6);
  b->add_mentions_positions(0);
  b->add_mentions_positions(3);
  b->set_type(LONG_CAST);
  RowSet r = DecodeMsg(m);
  ASSERT_EQ(r.casts.size(), 1u);
  ASSERT_EQ(r.messages.size(), 1u);
  const CastRow& c = r.casts[0];
  EXPECT_EQ(c.c.fid, 10u);
  EXPECT_EQ(c.c.timestamp, 100u);
  EXPECT_FALSE(c.c.removed);
  EXPECT_EQ(c.cast_hash, c.c.message_hash);
  EXPECT_EQ(*c.text, "hithere");  // NUL stripped: Postgres text cannot hold it
  EXPECT_EQ(*c.parent_fid, 11u);
  EXPECT_EQ(c.parent_hash->size(), 20u);
  EXPECT_FALSE(c.parent_url);
  EXPECT_EQ(
      *c.embeds_json,
      "[{\"url\":\"old\"},{\"url\":\"https://x.test/\\\"q\\\"\"},{\"cast_id\":{\"fid\":12,\"hash\":\"abab\"}},{}]");
  EXPECT_EQ(*c.mentions, "{5,6}");
  EXPECT_EQ(*c.mentions_positions, "{0,3}");
  EXPECT_EQ(*c.cast_type, 1);
  const MessageRow& mr = r.messages[0];
  EXPECT_EQ(mr.type, 1);
  EXPECT_FALSE(mr.pruned || mr.revoked || mr.dropped);
  Message back;
  ASSERT_TRUE(back.ParseFromString(mr.raw));  // raw bytes are the node's message
  EXPECT_EQ(back.hash(), mr.hash);
}

TEST(Decode, EmbedUrlsAreJsonStringsWithoutNul) {
  Message m = Msg(MESSAGE_TYPE_CAST_ADD, 10, 100);
  auto* b = m.mutable_data()->mutable_cast_add_body();
  b->set_text("x");
  b->add_embeds()->set_url(std::string("a\0b\n\x01\\\"", 7));
  RowSet r = DecodeMsg(m);
  ASSERT_EQ(r.casts.size(), 1u);
  // NUL dropped (jsonb refuses \u0000), the rest escaped as JSON requires.
  EXPECT_EQ(*r.casts[0].embeds_json, "[{\"url\":\"ab\\n\\u0001\\\\\\\"\"}]");
  b->clear_embeds();
  EXPECT_EQ(*DecodeMsg(m).casts[0].embeds_json, "[]");
}

TEST(Decode, CastRemoveKeysOnTarget) {
  Message m = Msg(MESSAGE_TYPE_CAST_REMOVE, 10, 101);
  m.mutable_data()->mutable_cast_remove_body()->set_target_hash(std::string(20, '\x07'));
  RowSet r = DecodeMsg(m);
  ASSERT_EQ(r.casts.size(), 1u);
  EXPECT_TRUE(r.casts[0].c.removed);
  EXPECT_EQ(r.casts[0].cast_hash, std::string(20, '\x07'));
  EXPECT_FALSE(r.casts[0].text);
}

TEST(Decode, ReactionsKeyOnTypeAndTarget) {
  Message a = Msg(MESSAGE_TYPE_REACTION_ADD, 10, 1);
  a.mutable_data()->mutable_reaction_body()->set_type(REACTION_TYPE_LIKE);
  a.mutable_data()->mutable_reaction_body()->mutable_target_cast_id()->set_fid(3);
  a.mutable_data()->mutable_reaction_body()->mutable_target_cast_id()->set_hash("h");
  Message u = Msg(MESSAGE_TYPE_REACTION_REMOVE, 10, 2);
  u.mutable_data()->mutable_reaction_body()->set_type(REACTION_TYPE_LIKE);
  u.mutable_data()->mutable_reaction_body()->set_target_url("https://u");
  RowSet ra = DecodeMsg(a), ru = DecodeMsg(u);
  ASSERT_EQ(ra.reactions.size(), 1u);
  ASSERT_EQ(ru.reactions.size(), 1u);
  EXPECT_EQ(*ra.reactions[0].target_cast_fid, 3u);
  EXPECT_EQ(*ru.reactions[0].target_url, "https://u");
  EXPECT_TRUE(ru.reactions[0].c.removed);
  EXPECT_NE(ra.reactions[0].Key(), ru.reactions[0].Key());
  // The same target as add and remove shares the key.
  Message a2 = a;
  a2.mutable_data()->set_type(MESSAGE_TYPE_REACTION_REMOVE);
  EXPECT_EQ(DecodeMsg(a2).reactions[0].Key(), ra.reactions[0].Key());
}

TEST(Decode, LinksAndCompactState) {
  Message l = Msg(MESSAGE_TYPE_LINK_ADD, 10, 1);
  l.mutable_data()->mutable_link_body()->set_type("follow");
  l.mutable_data()->mutable_link_body()->set_target_fid(20);
  l.mutable_data()->mutable_link_body()->set_displaytimestamp(7);
  RowSet r = DecodeMsg(l);
  ASSERT_EQ(r.links.size(), 1u);
  EXPECT_EQ(r.links[0].link_type, "follow");
  EXPECT_EQ(r.links[0].target_fid, 20u);
  EXPECT_EQ(*r.links[0].display_timestamp, 7u);

  Message s = Msg(MESSAGE_TYPE_LINK_COMPACT_STATE, 10, 5);
  s.mutable_data()->mutable_link_compact_state_body()->set_type("follow");
  s.mutable_data()->mutable_link_compact_state_body()->add_target_fids(20);
  s.mutable_data()->mutable_link_compact_state_body()->add_target_fids(21);
  RowSet rs = DecodeMsg(s);
  ASSERT_EQ(rs.link_compact_states.size(), 1u);
  EXPECT_EQ(rs.link_compact_states[0].TargetFidsLiteral(), "{20,21}");
}

TEST(Decode, VerificationsEthereumAndSolana) {
  Message e = Msg(MESSAGE_TYPE_VERIFICATION_ADD_ETH_ADDRESS, 10, 1);
  e.mutable_data()->mutable_verification_add_address_body()->set_address(std::string(20, 'e'));
  e.mutable_data()->mutable_verification_add_address_body()->set_chain_id(10);
  e.mutable_data()->mutable_verification_add_address_body()->set_verification_type(1);
  Message s = Msg(MESSAGE_TYPE_VERIFICATION_ADD_ETH_ADDRESS, 10, 1);
  s.mutable_data()->mutable_verification_add_address_body()->set_address(std::string(32, 's'));
  s.mutable_data()->mutable_verification_add_address_body()->set_protocol(PROTOCOL_SOLANA);
  Message rm = Msg(MESSAGE_TYPE_VERIFICATION_REMOVE, 10, 2);
  rm.mutable_data()->mutable_verification_remove_body()->set_address(std::string(32, 's'));
  rm.mutable_data()->mutable_verification_remove_body()->set_protocol(PROTOCOL_SOLANA);
  RowSet re = DecodeMsg(e), rs = DecodeMsg(s), rr = DecodeMsg(rm);
  EXPECT_EQ(re.verifications[0].protocol, 0);
  EXPECT_EQ(*re.verifications[0].chain_id, 10);
  EXPECT_EQ(*re.verifications[0].verification_type, 1);
  EXPECT_EQ(rs.verifications[0].protocol, 1);
  EXPECT_TRUE(rr.verifications[0].c.removed);
  EXPECT_EQ(rr.verifications[0].Key(), rs.verifications[0].Key());
}

TEST(Decode, UserDataUsernameProofAndLendStorage) {
  Message u = Msg(MESSAGE_TYPE_USER_DATA_ADD, 10, 1);
  u.mutable_data()->mutable_user_data_body()->set_type(USER_DATA_TYPE_BIO);
  u.mutable_data()->mutable_user_data_body()->set_value("bio");
  EXPECT_EQ(DecodeMsg(u).user_data[0].user_data_type, 3);

  Message p = Msg(MESSAGE_TYPE_USERNAME_PROOF, 10, 1);
  auto* pb = p.mutable_data()->mutable_username_proof_body();
  pb->set_name("alice.eth");
  pb->set_fid(10);
  pb->set_timestamp(1700000000);
  pb->set_type(USERNAME_TYPE_ENS_L1);
  RowSet rp = DecodeMsg(p);
  ASSERT_EQ(rp.username_proof_messages.size(), 1u);
  EXPECT_EQ(rp.username_proof_messages[0].name, "alice.eth");
  EXPECT_EQ(rp.username_proof_messages[0].proof_timestamp, 1700000000u);

  Message l = Msg(MESSAGE_TYPE_LEND_STORAGE, 10, 1);
  l.mutable_data()->mutable_lend_storage_body()->set_to_fid(11);
  l.mutable_data()->mutable_lend_storage_body()->set_num_units(3);
  RowSet rl = DecodeMsg(l);
  EXPECT_EQ(rl.lend_storage[0].to_fid, 11u);
  EXPECT_EQ(rl.lend_storage[0].num_units, 3u);
}

TEST(Decode, OtherTypesGoToTheRawTableOnly) {
  Message f = Msg(MESSAGE_TYPE_FRAME_ACTION, 10, 1);
  f.mutable_data()->mutable_frame_action_body()->set_url("u");
  RowSet r = DecodeMsg(f);
  EXPECT_EQ(r.messages.size(), 1u);
  EXPECT_TRUE(r.casts.empty() && r.reactions.empty() && r.links.empty());
  // A channel message in a page: the node serves none, and the mirror takes channel
  // messages from data shard 1's events only (Decode.ChannelMessagesBecomeSlotRows...).
  Message ch = Msg(MESSAGE_TYPE_CHANNEL_PIN, 10, 1);
  ch.mutable_data()->mutable_channel_pin_body()->set_channel_id(std::string(32, 'c'));
  EXPECT_TRUE(DecodeMsg(ch).Empty());
}

namespace {
std::string Word(uint64_t v) {
  std::string w(32, '\0');
  for (int i = 0; i < 8; ++i) w[31 - i] = static_cast<char>(v >> (8 * i));
  return w;
}
Message KeyAddMsg(const std::string& key, const std::string& metadata) {
  Message k = Msg(MESSAGE_TYPE_KEY_ADD, 10, 5);
  auto* b = k.mutable_data()->mutable_key_add_body();
  b->set_key(key);
  b->set_key_type(1);
  b->set_nonce(7);
  b->set_deadline(1800000000);
  b->set_ttl(3600);
  b->add_scopes(1);
  b->add_scopes(3);
  b->set_metadata(metadata);
  return k;
}
}  // namespace

TEST(Decode, KeyAddIsAnAppKeyRow) {
  const std::string meta = Word(32) + Word(321) + Word(0) + Word(128) + Word(1800000000) + Word(0);
  RowSet r = DecodeMsg(KeyAddMsg(std::string(32, 'k'), meta));
  ASSERT_EQ(r.app_keys.size(), 1u);
  const AppKeyRow& a = r.app_keys[0];
  EXPECT_EQ(a.key, std::string(32, 'k'));
  EXPECT_EQ(a.key_type, 1u);
  EXPECT_EQ(a.scopes, "{1,3}");
  EXPECT_EQ(a.ttl, 3600u);
  EXPECT_EQ(a.nonce, 7u);
  EXPECT_EQ(a.deadline, 1800000000u);
  EXPECT_EQ(a.request_fid, std::optional<uint64_t>(321));
  EXPECT_FALSE(a.remove_hash.has_value());
  EXPECT_EQ(StoreOfMessageType(MESSAGE_TYPE_KEY_ADD), Store::kAppKey);
  // Metadata that is not the ABI encoding, or a request fid beyond 63 bits: no request_fid.
  EXPECT_FALSE(DecodeMsg(KeyAddMsg(std::string(32, 'k'), "short")).app_keys[0].request_fid.has_value());
  std::string big = meta;
  big[32 + 23] = 1;
  EXPECT_FALSE(DecodeMsg(KeyAddMsg(std::string(32, 'k'), big)).app_keys[0].request_fid.has_value());
  // The node refuses keys that are not 32 bytes, and key messages without their body.
  EXPECT_EQ(MsgError(KeyAddMsg("k", meta)), ErrorClass::kInvalid);
  Message nobody = Msg(MESSAGE_TYPE_KEY_REMOVE, 10, 6);
  nobody.mutable_data()->mutable_cast_remove_body()->set_target_hash("x");
  EXPECT_EQ(MsgError(nobody), ErrorClass::kInvalid);
}

TEST(Decode, KeyRemoveNamesTheKeyAddItDeleted) {
  Message add = KeyAddMsg(std::string(32, 'k'), "");
  Message other = KeyAddMsg(std::string(32, 'o'), "");
  Message rm = Msg(MESSAGE_TYPE_KEY_REMOVE, 10, 9);
  rm.mutable_data()->mutable_key_remove_body()->set_key(std::string(32, 'k'));
  HubEvent e;
  e.set_type(HUB_EVENT_TYPE_MERGE_MESSAGE);
  *e.mutable_merge_message_body()->mutable_message() = Seal(rm);
  *e.mutable_merge_message_body()->add_deleted_messages() = Seal(add);
  *e.mutable_merge_message_body()->add_deleted_messages() = Seal(other);
  RowSet r = DecodeHubEventBytes(EventBytes(e));
  ASSERT_EQ(r.messages.size(), 3u);  // the remove is kept as a message, not as a row
  ASSERT_EQ(r.app_keys.size(), 2u);
  EXPECT_EQ(r.app_keys[0].remove_hash, std::optional<std::string>(rm.hash()));
  EXPECT_EQ(r.app_keys[0].remove_ts, std::optional<uint32_t>(9));
  EXPECT_FALSE(r.app_keys[1].remove_hash.has_value());  // another key: not this remove's
  // An upsert (a KEY_ADD merge deleting the previous one) names no remove.
  HubEvent u;
  u.set_type(HUB_EVENT_TYPE_MERGE_MESSAGE);
  Message add2 = KeyAddMsg(std::string(32, 'k'), "x");
  *u.mutable_merge_message_body()->mutable_message() = Seal(add2);
  *u.mutable_merge_message_body()->add_deleted_messages() = add;
  RowSet ur = DecodeHubEventBytes(EventBytes(u));
  ASSERT_EQ(ur.app_keys.size(), 2u);
  EXPECT_FALSE(ur.app_keys[1].remove_hash.has_value());
}

TEST(Decode, DataBytesOnlyMessage) {
  Message m = Msg(MESSAGE_TYPE_USER_DATA_ADD, 10, 1);
  m.mutable_data()->mutable_user_data_body()->set_value("v");
  Seal(m);
  m.set_data_bytes(m.data().SerializeAsString());
  m.clear_data();
  RowSet r = DecodeMessageBytes(m.SerializeAsString());
  ASSERT_EQ(r.user_data.size(), 1u);
  EXPECT_EQ(r.user_data[0].value, "v");
}

TEST(Decode, MessageErrors) {
  EXPECT_EQ(ErrorOf([] { DecodeMessageBytes("\xff\xff\xff"); }), ErrorClass::kDecode);
  Message nodata;
  nodata.set_hash(std::string(20, 'h'));
  EXPECT_EQ(MsgError(nodata, false), ErrorClass::kInvalid);
  Message badbytes;
  badbytes.set_hash(std::string(20, 'h'));
  badbytes.set_data_bytes("\xff\xff");
  EXPECT_EQ(MsgError(badbytes, false), ErrorClass::kDecode);

  Message shorthash = Msg(MESSAGE_TYPE_USER_DATA_ADD, 10, 1);
  shorthash.mutable_data()->mutable_user_data_body();
  shorthash.set_hash("short");
  EXPECT_EQ(MsgError(shorthash, false), ErrorClass::kInvalid);

  Message fid0 = Msg(MESSAGE_TYPE_USER_DATA_ADD, 0, 1);
  fid0.mutable_data()->mutable_user_data_body();
  EXPECT_EQ(MsgError(fid0), ErrorClass::kInvalid);

  Message none = Msg(MESSAGE_TYPE_NONE, 10, 1);
  EXPECT_EQ(MsgError(none), ErrorClass::kInvalid);

  // A body that does not match the type, for every store type.
  for (MessageType t : {MESSAGE_TYPE_CAST_ADD, MESSAGE_TYPE_CAST_REMOVE, MESSAGE_TYPE_REACTION_ADD,
                        MESSAGE_TYPE_REACTION_REMOVE, MESSAGE_TYPE_LINK_ADD, MESSAGE_TYPE_LINK_REMOVE,
                        MESSAGE_TYPE_VERIFICATION_ADD_ETH_ADDRESS, MESSAGE_TYPE_VERIFICATION_REMOVE,
                        MESSAGE_TYPE_USERNAME_PROOF, MESSAGE_TYPE_LINK_COMPACT_STATE, MESSAGE_TYPE_LEND_STORAGE}) {
    Message w = Msg(t, 10, 1);
    w.mutable_data()->mutable_user_data_body()->set_value("x");
    EXPECT_EQ(MsgError(w), ErrorClass::kInvalid) << t;
  }
  Message uw = Msg(MESSAGE_TYPE_USER_DATA_ADD, 10, 1);
  uw.mutable_data()->mutable_link_body();
  EXPECT_EQ(MsgError(uw), ErrorClass::kInvalid);

  Message notarget = Msg(MESSAGE_TYPE_REACTION_ADD, 10, 1);
  notarget.mutable_data()->mutable_reaction_body()->set_type(REACTION_TYPE_LIKE);
  EXPECT_EQ(MsgError(notarget), ErrorClass::kInvalid);
  Message nolinktarget = Msg(MESSAGE_TYPE_LINK_ADD, 10, 1);
  nolinktarget.mutable_data()->mutable_link_body()->set_type("follow");
  EXPECT_EQ(MsgError(nolinktarget), ErrorClass::kInvalid);
  Message noaddr = Msg(MESSAGE_TYPE_VERIFICATION_ADD_ETH_ADDRESS, 10, 1);
  noaddr.mutable_data()->mutable_verification_add_address_body();
  EXPECT_EQ(MsgError(noaddr), ErrorClass::kInvalid);
  Message noaddr_rm = Msg(MESSAGE_TYPE_VERIFICATION_REMOVE, 10, 1);
  noaddr_rm.mutable_data()->mutable_verification_remove_body();
  EXPECT_EQ(MsgError(noaddr_rm), ErrorClass::kInvalid);
  Message notargethash = Msg(MESSAGE_TYPE_CAST_REMOVE, 10, 1);
  notargethash.mutable_data()->mutable_cast_remove_body();
  EXPECT_EQ(MsgError(notargethash), ErrorClass::kInvalid);
  Message badname = Msg(MESSAGE_TYPE_USERNAME_PROOF, 10, 1);
  badname.mutable_data()->mutable_username_proof_body()->set_name("\xc3\x28");
  EXPECT_EQ(MsgError(badname), ErrorClass::kInvalid);
  Message farts = Msg(MESSAGE_TYPE_USERNAME_PROOF, 10, 1);
  farts.mutable_data()->mutable_username_proof_body()->set_name("x.eth");
  farts.mutable_data()->mutable_username_proof_body()->set_timestamp(~0ULL);
  EXPECT_EQ(MsgError(farts), ErrorClass::kInvalid);
}

TEST(Decode, MergeMessageCarriesDeletedMessagesAsDropped) {
  Message add = Msg(MESSAGE_TYPE_LINK_ADD, 10, 1);
  add.mutable_data()->mutable_link_body()->set_target_fid(2);
  Message rm = Msg(MESSAGE_TYPE_LINK_REMOVE, 10, 2);
  rm.mutable_data()->mutable_link_body()->set_target_fid(2);
  HubEvent e;
  e.set_type(HUB_EVENT_TYPE_MERGE_MESSAGE);
  e.set_timestamp(1000);
  *e.mutable_merge_message_body()->mutable_message() = Seal(rm);
  *e.mutable_merge_message_body()->add_deleted_messages() = Seal(add);
  RowSet r = DecodeHubEventBytes(EventBytes(e));
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_FALSE(r.messages[0].dropped);
  EXPECT_TRUE(r.messages[1].dropped);
  EXPECT_EQ(r.messages[1].event_unix, 1000 + 1609459200);
  EXPECT_EQ(r.links.size(), 2u);  // both are candidates for the key
}

TEST(Decode, PruneAndRevokeFlagTheirMessage) {
  Message m = Msg(MESSAGE_TYPE_USER_DATA_ADD, 10, 1);
  m.mutable_data()->mutable_user_data_body()->set_value("v");
  Seal(m);
  HubEvent p;
  p.set_type(HUB_EVENT_TYPE_PRUNE_MESSAGE);
  *p.mutable_prune_message_body()->mutable_message() = m;
  HubEvent v;
  v.set_type(HUB_EVENT_TYPE_REVOKE_MESSAGE);
  *v.mutable_revoke_message_body()->mutable_message() = m;
  RowSet rp = DecodeHubEventBytes(EventBytes(p)), rv = DecodeHubEventBytes(EventBytes(v));
  EXPECT_TRUE(rp.messages[0].pruned && !rp.messages[0].revoked);
  EXPECT_TRUE(rv.messages[0].revoked && !rv.messages[0].pruned);
  EXPECT_EQ(rp.user_data.size(), 1u);  // the payload is a candidate (tombstone) too
}

TEST(Decode, UsernameProofEvent) {
  HubEvent e;
  e.set_type(HUB_EVENT_TYPE_MERGE_USERNAME_PROOF);
  auto* b = e.mutable_merge_username_proof_body();
  b->mutable_username_proof()->set_name("bob");
  b->mutable_username_proof()->set_fid(2);
  b->mutable_username_proof()->set_timestamp(1700000001);
  b->mutable_deleted_username_proof()->set_name("bob");
  b->mutable_deleted_username_proof()->set_fid(1);
  b->mutable_deleted_username_proof()->set_timestamp(1700000000);
  RowSet r = DecodeHubEventBytes(EventBytes(e));
  ASSERT_EQ(r.proofs.size(), 2u);
  EXPECT_FALSE(r.proofs[0].deleted);
  EXPECT_TRUE(r.proofs[1].deleted);
  EXPECT_EQ(r.proofs[0].timestamp, 1700000001u);  // Unix seconds, not converted
}

TEST(Decode, OnChainEventTypes) {
  OnChainEvent ev;
  ev.set_type(EVENT_TYPE_STORAGE_RENT);
  ev.set_transaction_hash("tx");
  ev.set_log_index(3);
  ev.set_fid(9);
  ev.set_block_timestamp(1700000000);
  ev.mutable_storage_rent_event_body()->set_units(2);
  RowSet r = DecodeOnChainEventBytes(ev.SerializeAsString());
  ASSERT_EQ(r.onchain.size(), 1u);
  EXPECT_EQ(*r.onchain[0].rent_units, 2);
  EXPECT_FALSE(r.onchain[0].signer_key);

  HubEvent he;
  he.set_type(HUB_EVENT_TYPE_MERGE_ON_CHAIN_EVENT);
  ev.set_type(EVENT_TYPE_SIGNER);
  ev.mutable_signer_event_body()->set_key("k");
  *he.mutable_merge_on_chain_event_body()->mutable_on_chain_event() = ev;
  RowSet rh = DecodeHubEventBytes(EventBytes(he));
  EXPECT_EQ(*rh.onchain[0].signer_key, "k");
  EXPECT_FALSE(rh.onchain[0].signer_metadata);  // empty metadata is NULL

  OnChainEvent notx = ev;
  notx.clear_transaction_hash();
  EXPECT_EQ(ErrorOf([&] { DecodeOnChainEventBytes(notx.SerializeAsString()); }), ErrorClass::kInvalid);
  OnChainEvent none = ev;
  none.set_type(EVENT_TYPE_NONE);
  EXPECT_EQ(ErrorOf([&] { DecodeOnChainEventBytes(none.SerializeAsString()); }), ErrorClass::kInvalid);
  OnChainEvent far = ev;
  far.set_block_timestamp(~0ULL);
  EXPECT_EQ(ErrorOf([&] { DecodeOnChainEventBytes(far.SerializeAsString()); }), ErrorClass::kInvalid);
}

TEST(Decode, HubEventErrorsAndIgnoredTypes) {
  EXPECT_EQ(ErrorOf([] { DecodeHubEventBytes("\xff\xff"); }), ErrorClass::kDecode);
  for (HubEventType t : {HUB_EVENT_TYPE_MERGE_MESSAGE, HUB_EVENT_TYPE_PRUNE_MESSAGE, HUB_EVENT_TYPE_REVOKE_MESSAGE,
                         HUB_EVENT_TYPE_MERGE_USERNAME_PROOF, HUB_EVENT_TYPE_MERGE_ON_CHAIN_EVENT}) {
    HubEvent e;
    e.set_type(t);
    EXPECT_EQ(ErrorOf([&] { DecodeHubEventBytes(EventBytes(e)); }), ErrorClass::kInvalid) << t;
  }
  // A merge whose deleted message is broken rejects the whole event.
  Message good = Msg(MESSAGE_TYPE_USER_DATA_ADD, 10, 1);
  good.mutable_data()->mutable_user_data_body();
  HubEvent e;
  e.set_type(HUB_EVENT_TYPE_MERGE_MESSAGE);
  *e.mutable_merge_message_body()->mutable_message() = Seal(good);
  e.mutable_merge_message_body()->add_deleted_messages();
  EXPECT_EQ(ErrorOf([&] { DecodeHubEventBytes(EventBytes(e)); }), ErrorClass::kInvalid);

  for (HubEventType t : {HUB_EVENT_TYPE_BLOCK_CONFIRMED, HUB_EVENT_TYPE_MERGE_FAILURE, HUB_EVENT_TYPE_NONE,
                         HUB_EVENT_TYPE_CHANNEL_OWNER_CHANGE_HINT}) {
    HubEvent ig;
    ig.set_type(t);
    EXPECT_TRUE(DecodeHubEventBytes(EventBytes(ig)).Empty()) << t;
  }
  HubEvent unknown;
  unknown.set_type(static_cast<HubEventType>(99));
  EXPECT_TRUE(DecodeHubEventBytes(EventBytes(unknown)).Empty());
}

TEST(Decode, StreamEntryKinds) {
  StreamEntry fd;
  fd.kind = EntryKind::kFidDone;
  EXPECT_TRUE(DecodeStreamEntry(fd).Empty());
  UserNameProof p;
  p.set_name("carol");
  p.set_fid(3);
  StreamEntry fe;
  fe.kind = EntryKind::kUserNameProof;
  fe.payload = p.SerializeAsString();
  EXPECT_EQ(DecodeStreamEntry(fe).proofs.size(), 1u);
  p.set_name("");
  fe.payload = p.SerializeAsString();
  EXPECT_EQ(ErrorOf([&] { DecodeStreamEntry(fe); }), ErrorClass::kInvalid);
}

TEST(Decode, BackfillMarkers) {
  StreamEntry fs;
  fs.kind = EntryKind::kFidStart;
  fs.payload = R"({"types":["cast","fname"],"fids_total":60})";
  EXPECT_TRUE(DecodeStreamEntry(fs).Empty());
  const FidStart s = ParseFidStart(fs.payload);
  EXPECT_EQ(s.types, (std::vector<std::string>{"cast", "fname"}));
  EXPECT_EQ(s.fids_total, 60u);
  EXPECT_TRUE(ParseFidStart("{}").types.empty());  // every store
  EXPECT_EQ(ErrorOf([] { ParseFidStart("not json"); }), ErrorClass::kInvalid);
  EXPECT_EQ(ErrorOf([] { ParseFidStart(R"({"types":"cast"})"); }), ErrorClass::kInvalid);
  EXPECT_EQ(ErrorOf([] { ParseFidStart(R"({"types":[1]})"); }), ErrorClass::kInvalid);
  EXPECT_EQ(ErrorOf([] { ParseFidStart(R"({"fids_total":-1})"); }), ErrorClass::kInvalid);
  EXPECT_TRUE(FidDoneOk(R"({"status":"ok","messages":3})"));
  EXPECT_FALSE(FidDoneOk(R"({"status":"failed","messages":0,"error":"x"})"));
  EXPECT_EQ(ErrorOf([] { FidDoneOk(""); }), ErrorClass::kInvalid);
  EXPECT_EQ(ErrorOf([] { FidDoneOk(R"({"messages":3})"); }), ErrorClass::kInvalid);
}

// The fid_done payload rule the apply worker records in waypoint.backfill_fid_progress.
TEST(Decode, FidDonePayload) {
  FidDone d = ParseFidDone(R"({"status":"ok","messages":3})");
  EXPECT_EQ(d.status, "ok");
  EXPECT_EQ(d.messages, 3);
  EXPECT_EQ(d.error, "");
  d = ParseFidDone(R"({"status":"failed","messages":0,"error":"node said no"})");
  EXPECT_EQ(d.status, "failed");
  EXPECT_EQ(d.error, "node said no");
  d = ParseFidDone(R"({"status":"ok"})");  // messages default to 0
  EXPECT_EQ(d.messages, 0);
  EXPECT_EQ(ParseFidDone(R"({"status":"failed","error":7})").error, "");  // a non-string error is ignored
  for (const char* bad :
       {"", "not json", "[]", R"("ok")", R"({"messages":3})", R"({"status":1})", R"({"status":"done"})",
        R"({"status":"ok","messages":-1})", R"({"status":"ok","messages":1.5})", R"({"status":"ok","messages":"3"})",
        R"({"status":"ok","messages":18446744073709551615})"})
    EXPECT_EQ(ErrorOf([&] { ParseFidDone(bad); }), ErrorClass::kInvalid) << bad;
  EXPECT_EQ(ErrorOf([] { FidDoneOk(R"({"status":"done"})"); }), ErrorClass::kInvalid);
}

TEST(Decode, JobIds) {
  EXPECT_EQ(ParseJobId("1"), 1);
  EXPECT_EQ(ParseJobId("0042"), 42);
  EXPECT_EQ(ParseJobId("999999999999999999"), 999999999999999999LL);  // 18 digits
  for (const char* bad : {"", "0", "000", "-1", "+1", "1.0", "12a", " 1", "1 ", "1234567890123456789"})
    EXPECT_EQ(ErrorOf([&] { ParseJobId(bad); }), ErrorClass::kInvalid) << bad;
  // The message shows a bad id as text Postgres accepts.
  try {
    ParseJobId(std::string("a\xff\0b", 4));
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'a??b'"), std::string::npos) << e.what();
  }
}

// ---- channels (docs/apply-semantics.md, "Channels") --------------------------------

TEST(Keccak, EthereumVectors) {
  EXPECT_EQ(ToHex(std::string_view(reinterpret_cast<const char*>(Keccak256("").data()), 32)),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  const auto abc = Keccak256("abc");
  EXPECT_EQ(ToHex(std::string_view(reinterpret_cast<const char*>(abc.data()), 32)),
            "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
  // Longer than one 136-byte block.
  const auto longer = Keccak256(std::string(200, 'a'));
  const auto again = Keccak256(std::string(200, 'a'));
  EXPECT_EQ(longer, again);
  EXPECT_NE(longer, Keccak256(std::string(199, 'a')));
}

namespace {
HubEvent ChannelMerge(const Message& m, uint64_t id, const Message* deleted = nullptr) {
  HubEvent e;
  e.set_type(HUB_EVENT_TYPE_MERGE_MESSAGE);
  e.set_id(id);
  *e.mutable_merge_message_body()->mutable_message() = m;
  if (deleted) *e.mutable_merge_message_body()->add_deleted_messages() = *deleted;
  return e;
}
}  // namespace

TEST(Decode, ChannelMessagesBecomeSlotRowsFromShardOneOnly) {
  const std::string id(32, '\x09');
  Message u = Msg(MESSAGE_TYPE_CHANNEL_UPDATE, 5, 100);
  u.mutable_data()->mutable_channel_update_body()->set_channel_id(id);
  u.mutable_data()->mutable_channel_update_body()->set_name(std::string("a\0b", 3));
  u.mutable_data()->mutable_channel_update_body()->set_membership_mode(MEMBERSHIP_MODE_OPEN);
  Seal(u);
  Message m = Msg(MESSAGE_TYPE_CHANNEL_MEMBER, 6, 90);
  m.mutable_data()->mutable_channel_member_body()->set_channel_id(id);
  m.mutable_data()->mutable_channel_member_body()->set_fid(7);
  m.mutable_data()->mutable_channel_member_body()->set_action(CHANNEL_MEMBER_ACTION_BAN);
  Seal(m);
  RowSet r = DecodeHubEventBytes(EventBytes(ChannelMerge(u, 77, &m)), 0, 1);
  ASSERT_EQ(r.channel_updates.size(), 1u);
  EXPECT_EQ(r.channel_updates[0].s.channel_id, id);
  EXPECT_EQ(r.channel_updates[0].s.author_fid, 5u);
  EXPECT_EQ(r.channel_updates[0].s.merge_event, 77);
  EXPECT_EQ(r.channel_updates[0].name, "ab");
  EXPECT_FALSE(r.channel_updates[0].description.has_value());
  EXPECT_EQ(r.channel_updates[0].casting_mode, CASTING_MODE_MEMBERS_ONLY);  // absent: the default
  EXPECT_EQ(r.channel_updates[0].membership_mode, MEMBERSHIP_MODE_OPEN);
  EXPECT_TRUE(r.channel_members.empty());  // the deleted holder is a tombstone only
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_TRUE(r.messages[1].dropped);
  EXPECT_EQ(StoreOfMessageType(MESSAGE_TYPE_CHANNEL_PIN), Store::kChannel);
  // The same event from data shard 2: nothing at all; a page: nothing either.
  EXPECT_TRUE(DecodeHubEventBytes(EventBytes(ChannelMerge(u, 77, &m)), 0, 2).Empty());
  EXPECT_TRUE(DecodeMessageBytes(u.SerializeAsString()).Empty());
  StreamEntry e;
  e.kind = EntryKind::kHubEvent;
  e.shard = 2;
  e.payload = EventBytes(ChannelMerge(m, 78));
  EXPECT_TRUE(DecodeStreamEntry(e).Empty());
  e.shard = 1;
  RowSet r1 = DecodeStreamEntry(e);
  ASSERT_EQ(r1.channel_members.size(), 1u);
  EXPECT_EQ(r1.channel_members[0].member_fid, 7u);
  EXPECT_EQ(r1.channel_members[0].action, CHANNEL_MEMBER_ACTION_BAN);
  EXPECT_EQ(r1.channel_members[0].s.merge_event, 78);
  // Other messages from shard 2 are taken as always.
  Message c = Msg(MESSAGE_TYPE_CAST_ADD, 8, 100);
  c.mutable_data()->mutable_cast_add_body()->set_text("x");
  EXPECT_EQ(DecodeHubEventBytes(EventBytes(ChannelMerge(Seal(c), 79)), 0, 2).casts.size(), 1u);
}

TEST(Decode, ChannelBodiesTheNodeRefuses) {
  auto bad = [](MessageType t, const std::function<void(MessageData*)>& fill) {
    Message m = Msg(t, 5, 100);
    fill(m.mutable_data());
    Seal(m);
    return ErrorOf([&] { DecodeHubEventBytes(EventBytes(ChannelMerge(m, 1)), 0, 1); });
  };
  const std::string id(32, '\x09');
  EXPECT_EQ(bad(MESSAGE_TYPE_CHANNEL_PIN, [&](MessageData* d) { d->mutable_channel_pin_body()->set_channel_id("x"); }),
            ErrorClass::kInvalid);
  EXPECT_EQ(bad(MESSAGE_TYPE_CHANNEL_PIN,
                [&](MessageData* d) {
                  d->mutable_channel_pin_body()->set_channel_id(id);
                  d->mutable_channel_pin_body()->set_cast_hash("short");
                }),
            ErrorClass::kInvalid);
  EXPECT_EQ(bad(MESSAGE_TYPE_CHANNEL_MODERATE,
                [&](MessageData* d) {
                  d->mutable_channel_moderate_body()->set_channel_id(id);
                  d->mutable_channel_moderate_body()->set_cast_hash(std::string(20, '\x01'));
                }),
            ErrorClass::kInvalid);  // action NONE
  EXPECT_EQ(bad(MESSAGE_TYPE_CHANNEL_MEMBER,
                [&](MessageData* d) {
                  d->mutable_channel_member_body()->set_channel_id(id);
                  d->mutable_channel_member_body()->set_fid(uint64_t{1} << 32);
                  d->mutable_channel_member_body()->set_action(CHANNEL_MEMBER_ACTION_ADD_MEMBER);
                }),
            ErrorClass::kInvalid);
  EXPECT_EQ(bad(MESSAGE_TYPE_CHANNEL_UPDATE,
                [&](MessageData* d) {
                  d->mutable_channel_update_body()->set_channel_id(id);
                  d->mutable_channel_update_body()->set_membership_mode(static_cast<MembershipMode>(3));
                }),
            ErrorClass::kInvalid);
  EXPECT_EQ(bad(MESSAGE_TYPE_CHANNEL_UPDATE, [&](MessageData* d) { d->mutable_cast_add_body()->set_text("x"); }),
            ErrorClass::kInvalid);
}

TEST(Decode, ChannelRegisterEventsAndTheOwnerHint) {
  OnChainEvent ev;
  ev.set_type(EVENT_TYPE_CHANNEL_REGISTER);
  ev.set_transaction_hash(std::string(32, '\x01'));
  ev.set_block_number(9);
  ev.set_tx_index(2);
  ev.set_log_index(3);
  auto* b = ev.mutable_channel_register_event_body();
  b->set_channel_key("abc");
  const auto label = Keccak256("abc");
  b->set_label(std::string(reinterpret_cast<const char*>(label.data()), 32));
  b->set_owner_address(std::string(20, '\x0a'));
  b->set_expiry(1800000000);
  b->set_event_type(CHANNEL_REGISTER_EVENT_TYPE_REGISTER);
  RowSet r = DecodeOnChainEventBytes(ev.SerializeAsString());
  ASSERT_EQ(r.channel_registry.size(), 1u);
  ASSERT_EQ(r.onchain.size(), 1u);
  EXPECT_EQ(r.onchain[0].channel_key, "abc");
  const ChannelRegistryRow& c = r.channel_registry[0];
  EXPECT_TRUE(c.key_matches_label);
  EXPECT_EQ(c.event_type, CHANNEL_REGISTER_EVENT_TYPE_REGISTER);
  EXPECT_EQ(c.expiry, 1800000000u);
  EXPECT_EQ(c.block_number, 9u);
  EXPECT_EQ(c.tx_index, 2u);
  EXPECT_EQ(c.log_index, 3u);
  b->set_channel_key("abd");
  EXPECT_FALSE(DecodeOnChainEventBytes(ev.SerializeAsString()).channel_registry[0].key_matches_label);
  // CHANNEL_OWNER_CHANGE_HINT: accepted, nothing stored.
  HubEvent h;
  h.set_type(HUB_EVENT_TYPE_CHANNEL_OWNER_CHANGE_HINT);
  h.set_id(5);
  h.mutable_channel_owner_change_hint_body()->set_channel_key("abc");
  EXPECT_TRUE(DecodeHubEventBytes(EventBytes(h)).Empty());
}
