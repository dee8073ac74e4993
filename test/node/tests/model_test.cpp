// Store-model rules of the test node (docs/apply-semantics.md, "Store order") and its event log.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "hub_event.pb.h"
#include "waypoint/core/hash.hpp"
#include "waypoint/core/verify.hpp"
#include "waypoint/testnode/generator.hpp"
#include "waypoint/testnode/node.hpp"

namespace wt = waypoint::testnode;

namespace {

constexpr uint32_t kTs = wt::kGenesisTs;

std::string HexHash(const wt::Hash20& h) { return waypoint::core::ToHex(h); }

// A node with one registered fid (one storage unit, signer key 0) and an open block.
struct Fixture {
  wt::Node node{1, 7};
  uint64_t fid = 42;
  Fixture() {
    node.BeginBlock(1);
    node.RegisterFid(fid, 1);
  }
  // Submits and returns the new events of shard `shard` (BLOCK_CONFIRMED excluded).
  std::vector<HubEvent> Events(uint32_t shard = 1) {
    std::vector<HubEvent> out;
    const wt::ShardLog* log = node.Log(shard);
    for (size_t i = seen_[shard]; i < log->events.size(); ++i) {
      HubEvent e;
      EXPECT_TRUE(e.ParseFromString(node.EventBytes(shard, log->events[i])));
      if (e.type() != HUB_EVENT_TYPE_BLOCK_CONFIRMED) out.push_back(e);
    }
    seen_[shard] = log->events.size();
    return out;
  }
  uint32_t Submit(MessageData d, uint32_t key = 0) {
    if (d.fid() == 0) d.set_fid(fid);
    const uint32_t i = node.SubmitMessage(d, key, false);
    node.SignPending(1);
    return i;
  }
  bool Holds(const std::string& store, uint32_t msg) {
    const auto lines = node.StateLines();
    std::string want = "msg\t" + store + "\t" + HexHash(node.Msg(msg).hash);
    if (store == "app_key") {
      // App keys are lines of the key state: fid, key, nonce, scopes, ttl (docs/state-lines.md).
      Message m;
      m.ParseFromString(node.Msg(msg).bytes);
      const auto& b = m.data().key_add_body();
      std::string scopes;
      for (int sc : b.scopes()) scopes += (scopes.empty() ? "" : ",") + std::to_string(sc);
      want = "app_key\t" + std::to_string(m.data().fid()) + "\t" + waypoint::core::ToHex(b.key()) + "\t" +
             std::to_string(b.nonce()) + "\t" + scopes + "\t" + std::to_string(b.ttl());
    }
    return std::binary_search(lines.begin(), lines.end(), want);
  }
  std::map<uint32_t, size_t> seen_;
};

MessageData CastAdd(uint32_t ts, const std::string& text) {
  MessageData d;
  d.set_type(MESSAGE_TYPE_CAST_ADD);
  d.set_timestamp(ts);
  d.mutable_cast_add_body()->set_text(text);
  return d;
}

MessageData CastRemove(uint32_t ts, const wt::Hash20& target) {
  MessageData d;
  d.set_type(MESSAGE_TYPE_CAST_REMOVE);
  d.set_timestamp(ts);
  d.mutable_cast_remove_body()->set_target_hash(std::string(reinterpret_cast<const char*>(target.data()), 20));
  return d;
}

MessageData Reaction(bool remove, uint32_t ts, const std::string& url) {
  MessageData d;
  d.set_type(remove ? MESSAGE_TYPE_REACTION_REMOVE : MESSAGE_TYPE_REACTION_ADD);
  d.set_timestamp(ts);
  d.mutable_reaction_body()->set_type(REACTION_TYPE_LIKE);
  d.mutable_reaction_body()->set_target_url(url);
  return d;
}

MessageData Link(bool remove, uint32_t ts, uint64_t target) {
  MessageData d;
  d.set_type(remove ? MESSAGE_TYPE_LINK_REMOVE : MESSAGE_TYPE_LINK_ADD);
  d.set_timestamp(ts);
  d.mutable_link_body()->set_type("follow");
  d.mutable_link_body()->set_target_fid(target);
  return d;
}

MessageData UserData(uint32_t ts, UserDataType t, const std::string& v) {
  MessageData d;
  d.set_type(MESSAGE_TYPE_USER_DATA_ADD);
  d.set_timestamp(ts);
  d.mutable_user_data_body()->set_type(t);
  d.mutable_user_data_body()->set_value(v);
  return d;
}

}  // namespace

TEST(StoreModel, CastRemoveBeatsAddWhateverTheTimestamp) {
  Fixture f;
  f.Events();
  const uint32_t add = f.Submit(CastAdd(kTs, "hello"));
  ASSERT_NE(add, wt::kNone);
  // The remove is OLDER than the add and still wins (casts: remove beats add first).
  const uint32_t rm = f.Submit(CastRemove(kTs - 100, f.node.Msg(add).hash));
  ASSERT_NE(rm, wt::kNone);
  auto ev = f.Events();
  ASSERT_EQ(ev.size(), 2u);
  ASSERT_EQ(ev[1].type(), HUB_EVENT_TYPE_MERGE_MESSAGE);
  ASSERT_EQ(ev[1].merge_message_body().deleted_messages_size(), 1);
  EXPECT_EQ(ev[1].merge_message_body().deleted_messages(0).hash(), ev[0].merge_message_body().message().hash());
  EXPECT_FALSE(f.Holds("cast", add));
  EXPECT_TRUE(f.Holds("cast", rm));
  // Re-submitting the add is rejected now, with a MERGE_FAILURE.
  EXPECT_EQ(f.Submit(CastAdd(kTs, "hello")), wt::kNone);
  ev = f.Events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type(), HUB_EVENT_TYPE_MERGE_FAILURE);
  EXPECT_EQ(ev[0].merge_failure().code(), "bad_request.conflict");
}

TEST(StoreModel, ReactionTimestampThenRemoveWinsThenHash) {
  Fixture f;
  const uint32_t a1 = f.Submit(Reaction(false, kTs, "u"));
  const uint32_t r1 = f.Submit(Reaction(true, kTs, "u"));  // tie on timestamp: remove wins
  ASSERT_NE(r1, wt::kNone);
  EXPECT_FALSE(f.Holds("reaction", a1));
  EXPECT_EQ(f.Submit(Reaction(false, kTs, "u")), wt::kNone);      // same as a1: duplicate-ish, loses
  EXPECT_EQ(f.Submit(Reaction(false, kTs - 1, "u")), wt::kNone);  // older add loses
  const uint32_t a2 = f.Submit(Reaction(false, kTs + 1, "u"));    // add -> remove -> add
  ASSERT_NE(a2, wt::kNone);
  EXPECT_TRUE(f.Holds("reaction", a2));
  EXPECT_FALSE(f.Holds("reaction", r1));
  // For non-cast stores a newer add beats an older remove.
  const uint32_t r2 = f.Submit(Reaction(true, kTs - 5, "u"));
  EXPECT_EQ(r2, wt::kNone);
}

TEST(StoreModel, HashBreaksTiesAndDuplicatesAreRejected) {
  Fixture f;
  const uint32_t x = f.Submit(UserData(kTs, USER_DATA_TYPE_BIO, "x"));
  const uint32_t y = f.Submit(UserData(kTs, USER_DATA_TYPE_BIO, "y"));
  const bool y_higher = f.node.Msg(y == wt::kNone ? x : y).hash > f.node.Msg(x).hash;
  if (y != wt::kNone) {
    // y merged: it must have the higher hash and have deleted x.
    EXPECT_TRUE(y_higher);
    EXPECT_TRUE(f.Holds("user_data", y));
    EXPECT_FALSE(f.Holds("user_data", x));
  } else {
    EXPECT_TRUE(f.Holds("user_data", x));
  }
  f.Events();
  const uint32_t held = y != wt::kNone ? y : x;
  MessageData again;
  Message m;
  ASSERT_TRUE(m.ParseFromString(f.node.Msg(held).bytes));
  EXPECT_EQ(f.Submit(m.data()), wt::kNone);
  auto ev = f.Events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].merge_failure().code(), "bad_request.duplicate");
}

TEST(StoreModel, PruneOldestBeyondLimitAndRejectPrunable) {
  Fixture f;
  const uint32_t limit = wt::StoreLimitPerUnit(wt::Store::kCast);  // one unit
  std::vector<uint32_t> casts;
  for (uint32_t i = 0; i < limit; ++i) casts.push_back(f.Submit(CastAdd(kTs + 10 + i, "c" + std::to_string(i))));
  f.Events();
  const uint32_t extra = f.Submit(CastAdd(kTs + 100, "newest"));
  ASSERT_NE(extra, wt::kNone);
  auto ev = f.Events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].type(), HUB_EVENT_TYPE_MERGE_MESSAGE);
  ASSERT_EQ(ev[1].type(), HUB_EVENT_TYPE_PRUNE_MESSAGE);
  EXPECT_EQ(ev[1].prune_message_body().message().hash(),
            std::string(reinterpret_cast<const char*>(f.node.Msg(casts[0]).hash.data()), 20));
  EXPECT_FALSE(f.Holds("cast", casts[0]));
  // A message older than everything in a full store would be pruned at once: rejected.
  EXPECT_EQ(f.Submit(CastAdd(kTs, "too old")), wt::kNone);
  ev = f.Events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].merge_failure().code(), "bad_request.prunable");
  // More storage raises the limit.
  f.node.RentStorage(f.fid, 1);
  EXPECT_NE(f.Submit(CastAdd(kTs + 1, "fits now")), wt::kNone);
}

TEST(StoreModel, SignerRemoveRevokesEverythingItSigned) {
  Fixture f;
  const uint32_t a = f.Submit(CastAdd(kTs, "by key 0"));
  const uint32_t b = f.Submit(Link(false, kTs, 7));
  const uint32_t k1 = f.node.AddSigner(f.fid);
  const uint32_t c = f.Submit(UserData(kTs, USER_DATA_TYPE_PFP, "by key 1"), k1);
  f.Events();
  f.node.RemoveSigner(f.fid, 0);
  auto ev = f.Events();
  // The on-chain event, then one REVOKE_MESSAGE per message of key 0.
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].type(), HUB_EVENT_TYPE_MERGE_ON_CHAIN_EVENT);
  EXPECT_EQ(ev[0].merge_on_chain_event_body().on_chain_event().signer_event_body().event_type(),
            SIGNER_EVENT_TYPE_REMOVE);
  std::set<std::string> revoked;
  for (size_t i = 1; i < ev.size(); ++i) {
    ASSERT_EQ(ev[i].type(), HUB_EVENT_TYPE_REVOKE_MESSAGE);
    revoked.insert(ev[i].revoke_message_body().message().hash());
  }
  EXPECT_EQ(revoked.count(std::string(reinterpret_cast<const char*>(f.node.Msg(a).hash.data()), 20)), 1u);
  EXPECT_EQ(revoked.count(std::string(reinterpret_cast<const char*>(f.node.Msg(b).hash.data()), 20)), 1u);
  EXPECT_FALSE(f.Holds("cast", a));
  EXPECT_FALSE(f.Holds("link", b));
  EXPECT_TRUE(f.Holds("user_data", c));
  // The removed key can no longer sign.
  EXPECT_EQ(f.Submit(CastAdd(kTs + 5, "late"), 0), wt::kNone);
}

TEST(StoreModel, LinkCompactStateDropsUnlistedAndRemoves) {
  Fixture f;
  f.node.RentStorage(f.fid, 3);  // room for every link
  const uint32_t l1 = f.Submit(Link(false, kTs, 1));
  const uint32_t l2 = f.Submit(Link(false, kTs, 2));
  const uint32_t r3 = f.Submit(Link(true, kTs, 3));
  const uint32_t late = f.Submit(Link(false, kTs + 50, 4));  // newer than the compact state: kept
  f.Events();
  MessageData cs;
  cs.set_type(MESSAGE_TYPE_LINK_COMPACT_STATE);
  cs.set_timestamp(kTs + 10);
  cs.mutable_link_compact_state_body()->set_type("follow");
  cs.mutable_link_compact_state_body()->add_target_fids(1);
  const uint32_t c = f.Submit(cs);
  ASSERT_NE(c, wt::kNone);
  auto ev = f.Events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].merge_message_body().deleted_messages_size(), 0);  // emptied, as the node does
  EXPECT_TRUE(f.Holds("link_compact_state", c));
  EXPECT_TRUE(f.Holds("link", l1));
  EXPECT_FALSE(f.Holds("link", l2));
  EXPECT_FALSE(f.Holds("link", r3));
  EXPECT_TRUE(f.Holds("link", late));
  // Older than the compact state and not listed: rejected; listed: accepted; newer: accepted.
  EXPECT_EQ(f.Submit(Link(false, kTs + 5, 2)), wt::kNone);
  EXPECT_EQ(f.Submit(Link(true, kTs + 5, 1)), wt::kNone);
  EXPECT_NE(f.Submit(Link(false, kTs + 11, 2)), wt::kNone);
}

TEST(StoreModel, FnameTransferOnEveryShard) {
  wt::Node node(3, 1);
  node.BeginBlock(1);
  node.RegisterFid(10, 1);
  node.RegisterFid(11, 1);
  const uint64_t unix_ts = 1700000000;
  ASSERT_TRUE(node.SubmitFnameProof("alice", 10, unix_ts));
  ASSERT_TRUE(node.SubmitFnameProof("alice", 11, unix_ts + 5));
  EXPECT_FALSE(node.SubmitFnameProof("alice", 10, unix_ts + 1));  // ordered below the current proof
  for (uint32_t s = 1; s <= 3; ++s) {
    std::vector<HubEvent> proofs;
    for (const auto& e : node.Log(s)->events) {
      HubEvent h;
      ASSERT_TRUE(h.ParseFromString(node.EventBytes(s, e)));
      if (h.type() == HUB_EVENT_TYPE_MERGE_USERNAME_PROOF) proofs.push_back(h);
    }
    ASSERT_EQ(proofs.size(), 2u) << "shard " << s;
    const auto& t = proofs[1].merge_username_proof_body();
    EXPECT_EQ(t.username_proof().fid(), 11u);
    EXPECT_EQ(t.deleted_username_proof().fid(), 10u);
    EXPECT_EQ(t.username_proof().name(), "alice");
    EXPECT_EQ(proofs[1].shard_index(), s);
  }
  auto lines = node.StateLines();
  EXPECT_TRUE(std::binary_search(lines.begin(), lines.end(), "fname\talice\t11"));
  EXPECT_FALSE(std::binary_search(lines.begin(), lines.end(), "fname\talice\t10"));
  ASSERT_TRUE(node.SubmitFnameProof("alice", 0, unix_ts + 9));  // released
  lines = node.StateLines();
  for (const auto& l : lines) EXPECT_EQ(l.find("fname\talice"), std::string::npos);
}

TEST(StoreModel, AppKeysUpsertRemoveReaddAndSignWithinScopes) {
  Fixture fx;
  fx.Events();
  const uint32_t a1 = fx.node.KeyAdd(fx.fid, 0, {MESSAGE_TYPE_CAST_ADD}, 1, kTs + 1);
  ASSERT_NE(a1, wt::kNone);
  const uint32_t key = fx.node.AppKeyIndex(fx.fid, 0);
  // Within its scopes the app key signs; outside them it does not.
  const uint32_t cast = fx.Submit(CastAdd(kTs + 2, "by an app key"), key);
  EXPECT_NE(cast, wt::kNone);
  MessageData like;
  like.set_type(MESSAGE_TYPE_REACTION_ADD);
  like.set_timestamp(kTs + 2);
  like.mutable_reaction_body()->set_type(REACTION_TYPE_LIKE);
  like.mutable_reaction_body()->set_target_url("https://x.test");
  EXPECT_EQ(fx.Submit(like, key), wt::kNone);
  // A stale nonce is refused; an upsert replaces the KEY_ADD (deleted_messages).
  EXPECT_EQ(fx.node.KeyAdd(fx.fid, 0, {1, 3}, 1, kTs + 3), wt::kNone);
  const uint32_t a2 = fx.node.KeyAdd(fx.fid, 0, {1, 3}, 2, kTs + 3);
  fx.node.SignPending(1);
  EXPECT_TRUE(fx.Holds("app_key", a2));
  EXPECT_FALSE(fx.Holds("app_key", a1));
  EXPECT_NE(fx.Submit(like, key), wt::kNone);
  auto ev = fx.Events();
  ASSERT_FALSE(ev.empty());
  // A remove deletes the KEY_ADD, is not held, and revokes nothing; a second remove fails.
  const uint32_t r = fx.node.KeyRemove(fx.fid, 0, 3, kTs + 4);
  ASSERT_NE(r, wt::kNone);
  EXPECT_EQ(fx.node.KeyRemove(fx.fid, 0, 4, kTs + 4), wt::kNone);
  fx.node.SignPending(1);
  ev = fx.Events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].type(), HUB_EVENT_TYPE_MERGE_MESSAGE);
  ASSERT_EQ(ev[0].merge_message_body().deleted_messages_size(), 1);
  EXPECT_EQ(ev[0].merge_message_body().deleted_messages(0).data().type(), MESSAGE_TYPE_KEY_ADD);
  EXPECT_EQ(ev[1].type(), HUB_EVENT_TYPE_MERGE_FAILURE);
  EXPECT_FALSE(fx.Holds("app_key", a2));
  EXPECT_TRUE(fx.Holds("cast", cast));
  for (const auto& l : fx.node.StateLines()) EXPECT_NE(l.rfind("app_key\t", 0), 0u);  // no key held, no remove
  EXPECT_TRUE(fx.node.HeldAppKeys(fx.fid).empty());
  EXPECT_EQ(fx.Submit(CastAdd(kTs + 5, "after the remove"), key), wt::kNone);
  // Added again: it signs again.
  const uint32_t a3 = fx.node.KeyAdd(fx.fid, 0, {1}, 5, kTs + 6);
  EXPECT_NE(fx.Submit(CastAdd(kTs + 6, "after the re-add"), key), wt::kNone);
  EXPECT_TRUE(fx.Holds("app_key", a3));
  // The key state GetSignersByFid serves: the held KEY_ADD per key.
  const auto held = fx.node.HeldAppKeys(fx.fid);
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].second.key_add_body().nonce(), 5u);
  EXPECT_EQ(held[0].second.key_add_body().scopes_size(), 1);
}

TEST(EventLog, BlockConfirmedCountsEqualTheBlocksEvents) {
  wt::Node node(2, 3);
  wt::GeneratorOptions opt;
  opt.seed = 3;
  opt.fids = 60;
  opt.messages_per_fid = 15;
  opt.sign_threads = 1;
  wt::Generator gen(node, opt);
  gen.BuildHistory();
  for (uint32_t s = 1; s <= 2; ++s) {
    const wt::ShardLog* log = node.Log(s);
    uint64_t prev = 0;
    HubEvent bc;
    std::map<int32_t, uint64_t> counted;
    uint64_t total = 0;
    auto check = [&] {
      if (bc.type() != HUB_EVENT_TYPE_BLOCK_CONFIRMED) return;
      EXPECT_EQ(bc.block_confirmed_body().total_events(), total);
      std::map<int32_t, uint64_t> want(bc.block_confirmed_body().event_counts_by_type().begin(),
                                       bc.block_confirmed_body().event_counts_by_type().end());
      EXPECT_EQ(want, counted) << "block " << bc.block_number();
    };
    for (const auto& e : log->events) {
      EXPECT_GT(e.id, prev);
      prev = e.id;
      HubEvent h;
      const std::string bytes = node.EventBytes(s, e);
      ASSERT_TRUE(h.ParseFromString(bytes));
      // Hand-assembled bytes are what protobuf itself would write (maps aside).
      if (h.type() != HUB_EVENT_TYPE_BLOCK_CONFIRMED) {
        EXPECT_EQ(h.SerializeAsString(), bytes);
      }
      EXPECT_EQ(h.id(), e.id);
      EXPECT_EQ(h.shard_index(), s);
      EXPECT_EQ(h.block_number(), e.id >> 14);
      EXPECT_GE(h.timestamp(), wt::kGenesisTs);
      if (h.type() == HUB_EVENT_TYPE_BLOCK_CONFIRMED) {
        check();
        EXPECT_EQ(e.id & 0x3fff, 0u);  // seq 0 comes first in each block
        bc = h;
        counted.clear();
        total = 0;
      } else {
        counted[h.type()]++;
        total++;
      }
    }
    check();
  }
}

TEST(EventLog, FullBlockSpillsIntoNextHeight) {
  wt::Node node(1, 1);
  node.BeginBlock(1);
  node.RegisterFid(5, 400);  // large limits so nothing prunes
  for (uint32_t i = 0; i < 17000; ++i) {
    MessageData d = UserData(kTs, USER_DATA_TYPE_BIO, "v");  // the same message: duplicates fail
    d.set_fid(5);
    node.SubmitMessage(d, 0, false);
  }
  node.EndBlock();
  const wt::ShardLog* log = node.Log(1);
  ASSERT_EQ(log->blocks.size(), 2u);
  EXPECT_EQ(log->blocks[0].num_events, wt::kMaxSeq + 1);
  EXPECT_EQ(log->events.back().id, (uint64_t{2} << 14) | (log->blocks[1].num_events - 1));
}

TEST(Generator, DeterministicAndMessagesVerify) {
  auto build = [](uint64_t seed) {
    auto node = std::make_unique<wt::Node>(2, seed);
    wt::GeneratorOptions opt;
    opt.seed = seed;
    opt.fids = 50;
    opt.messages_per_fid = 20;
    opt.sign_threads = 2;
    wt::Generator(*node, opt).BuildHistory();
    return node;
  };
  auto a = build(9), b = build(9), c = build(10);
  EXPECT_EQ(a->StateLines(), b->StateLines());
  EXPECT_NE(a->StateLines(), c->StateLines());
  size_t with_bytes = 0;
  std::set<MessageType> types;
  for (size_t i = 0; i < a->NumMessages(); ++i) {
    Message m;
    ASSERT_TRUE(m.ParseFromString(a->Msg(static_cast<uint32_t>(i)).bytes));
    const auto r = waypoint::core::VerifyMessage(m);
    ASSERT_TRUE(r.ok()) << r.reason;
    if (m.has_data_bytes()) {
      with_bytes++;
      EXPECT_EQ(m.data_bytes(), m.data().SerializeAsString());
    }
    types.insert(m.data().type());
  }
  EXPECT_GT(with_bytes, 0u);
  EXPECT_LT(with_bytes, a->NumMessages() / 2);
  for (MessageType t :
       {MESSAGE_TYPE_CAST_ADD, MESSAGE_TYPE_CAST_REMOVE, MESSAGE_TYPE_REACTION_ADD, MESSAGE_TYPE_REACTION_REMOVE,
        MESSAGE_TYPE_LINK_ADD, MESSAGE_TYPE_LINK_REMOVE, MESSAGE_TYPE_LINK_COMPACT_STATE,
        MESSAGE_TYPE_VERIFICATION_ADD_ETH_ADDRESS, MESSAGE_TYPE_VERIFICATION_REMOVE, MESSAGE_TYPE_USER_DATA_ADD,
        MESSAGE_TYPE_USERNAME_PROOF, MESSAGE_TYPE_LEND_STORAGE}) {
    EXPECT_EQ(types.count(t), 1u) << "type " << t;
  }
  // Every event kind the node emits shows up in a history of this size.
  std::set<int> kinds;
  for (uint32_t s = 1; s <= 2; ++s)
    for (const auto& e : a->Log(s)->events) kinds.insert(e.type);
  for (int k : {1, 2, 3, 6, 9, 10, 11}) EXPECT_EQ(kinds.count(k), 1u) << "event type " << k;
}

#include "waypoint/core/routing.hpp"

// Two independent implementations of Snapchain's fid -> shard rule must agree.
TEST(Routing, DataShardMatchesCore) {
  for (uint32_t shards : {1u, 2u, 3u, 8u})
    for (uint64_t fid = 1; fid < 3000; fid += 7)
      EXPECT_EQ(wt::DataShardOf(fid, shards), waypoint::core::ShardOf(fid, shards));
}

// ---- channels (docs/channels-and-keys.md 2.2-2.6) ----------------------------------

namespace {

std::string Addr(uint64_t fid) {
  std::string a = "owner" + std::to_string(fid);
  a.resize(20, '\x5a');
  return a;
}

// Two data shards, fids 1..30 registered; fid 1 owns channel "c" and verified its address.
struct ChannelFixture {
  wt::Node node{2, 11};
  std::string id = wt::Node::ChannelIdOf("c");
  ChannelFixture() {
    node.BeginBlock(1);
    for (uint64_t f = 1; f <= 30; ++f) node.RegisterFid(f, 1);
    node.ChannelRegistryEvent(CHANNEL_REGISTER_EVENT_TYPE_REGISTER, id, "c", Addr(1), 1900000000);
    Verify(1, Addr(1), kTs);
  }
  uint32_t Verify(uint64_t fid, const std::string& address, uint32_t ts) {
    MessageData d;
    d.set_type(MESSAGE_TYPE_VERIFICATION_ADD_ETH_ADDRESS);
    d.set_fid(fid);
    d.set_timestamp(ts);
    d.mutable_verification_add_address_body()->set_address(address);
    d.mutable_verification_add_address_body()->set_protocol(PROTOCOL_ETHEREUM);
    return node.SubmitMessage(d, 0, false);
  }
  uint32_t Unverify(uint64_t fid, const std::string& address, uint32_t ts) {
    MessageData d;
    d.set_type(MESSAGE_TYPE_VERIFICATION_REMOVE);
    d.set_fid(fid);
    d.set_timestamp(ts);
    d.mutable_verification_remove_body()->set_address(address);
    d.mutable_verification_remove_body()->set_protocol(PROTOCOL_ETHEREUM);
    return node.SubmitMessage(d, 0, false);
  }
  // A CHANNEL_MEMBER by `author`: the refusal (kNone when admitted).
  wt::ChannelRefusal Member(uint64_t author, uint64_t target, ChannelMemberAction action) {
    MessageData d;
    d.set_type(MESSAGE_TYPE_CHANNEL_MEMBER);
    d.set_fid(author);
    d.set_timestamp(kTs + ++ts_);
    d.mutable_channel_member_body()->set_channel_id(id);
    d.mutable_channel_member_body()->set_fid(target);
    d.mutable_channel_member_body()->set_action(action);
    last = node.SubmitChannelMessage(d, 0);
    return node.last_channel_refusal();
  }
  wt::ChannelRefusal Other(uint64_t author, MessageType type, int mode = 0) {
    MessageData d;
    d.set_type(type);
    d.set_fid(author);
    d.set_timestamp(kTs + ++ts_);
    if (type == MESSAGE_TYPE_CHANNEL_UPDATE) {
      d.mutable_channel_update_body()->set_channel_id(id);
      d.mutable_channel_update_body()->set_membership_mode(static_cast<MembershipMode>(mode));
    } else if (type == MESSAGE_TYPE_CHANNEL_PIN) {
      d.mutable_channel_pin_body()->set_channel_id(id);
      d.mutable_channel_pin_body()->set_cast_hash(std::string(20, static_cast<char>(ts_)));
    } else {
      d.mutable_channel_moderate_body()->set_channel_id(id);
      d.mutable_channel_moderate_body()->set_cast_hash(std::string(20, '\x07'));
      d.mutable_channel_moderate_body()->set_action(mode == 2 ? CHANNEL_MODERATE_ACTION_UNHIDE
                                                              : CHANNEL_MODERATE_ACTION_HIDE);
    }
    last = node.SubmitChannelMessage(d, 0);
    return node.last_channel_refusal();
  }
  wt::MemberState State(uint64_t fid) { return node.MemberStateIn(*node.Channel(id), fid); }
  uint32_t last = wt::kNone;
  uint32_t ts_ = 10;
};

using R = wt::ChannelRefusal;
using S = wt::MemberState;

}  // namespace

TEST(ChannelModel, RegistryFoldInChainOrderAndMintTransferSkipped) {
  wt::Node node{2, 3};
  node.BeginBlock(1);
  const std::string id = wt::Node::ChannelIdOf("mint");
  node.ChannelMint("mint", Addr(5), 1900000000);
  const wt::ChannelState* c = node.Channel(id);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->owner_address, Addr(5));  // the mint's TRANSFER came before the label was known
  node.ChannelRegistryEvent(CHANNEL_REGISTER_EVENT_TYPE_RENEW, id, "mint", "", 1950000000);
  node.ChannelRegistryEvent(CHANNEL_REGISTER_EVENT_TYPE_TRANSFER, id, "", Addr(6), 0);
  EXPECT_EQ(c->expiry, 1950000000u);
  EXPECT_EQ(c->owner_address, Addr(6));
  // A TRANSFER of a label never registered, a REGISTER whose label is not its key's hash,
  // a RENEW of a key that is not the label's: skipped.
  node.ChannelRegistryEvent(CHANNEL_REGISTER_EVENT_TYPE_TRANSFER, wt::Node::ChannelIdOf("none"), "", Addr(7), 0);
  node.ChannelRegistryEvent(CHANNEL_REGISTER_EVENT_TYPE_REGISTER, wt::Node::ChannelIdOf("x"), "y", Addr(7), 1);
  node.ChannelRegistryEvent(CHANNEL_REGISTER_EVENT_TYPE_RENEW, id, "other", "", 1);
  EXPECT_EQ(node.Channels().size(), 1u);
  EXPECT_EQ(c->expiry, 1950000000u);
  // Every registry event is an on-chain event of fid 0 (the owner changes also a hint on
  // every data shard, which the mirror ignores).
  size_t hints = 0;
  for (const auto& e : node.Log(1)->events) hints += e.type == HUB_EVENT_TYPE_CHANNEL_OWNER_CHANGE_HINT;
  EXPECT_EQ(hints, 2u);
}

TEST(ChannelModel, OwnerByGreatestVerificationTieLowerFidNoneParked) {
  ChannelFixture fx;
  const wt::ChannelState& c = *fx.node.Channel(fx.id);
  EXPECT_EQ(fx.node.ChannelOwnerFid(c), 1u);
  fx.Verify(9, Addr(1), kTs + 5);  // a later verification of the same address by fid 9
  EXPECT_EQ(fx.node.ChannelOwnerFid(c), 9u);
  fx.Unverify(9, Addr(1), kTs + 6);
  EXPECT_EQ(fx.node.ChannelOwnerFid(c), 1u);
  fx.Unverify(1, Addr(1), kTs + 7);
  EXPECT_EQ(fx.node.ChannelOwnerFid(c), std::nullopt);  // parked
  // Parked: everything refused but a member leaving itself.
  EXPECT_EQ(fx.Other(1, MESSAGE_TYPE_CHANNEL_UPDATE), R::kParked);
  EXPECT_EQ(fx.Member(2, 2, CHANNEL_MEMBER_ACTION_ADD_MEMBER), R::kParked);
  fx.Verify(1, Addr(1), kTs + 8);
  EXPECT_EQ(fx.Member(1, 2, CHANNEL_MEMBER_ACTION_ADD_MEMBER), R::kNone);
  fx.Unverify(1, Addr(1), kTs + 9);
  EXPECT_EQ(fx.Member(2, 2, CHANNEL_MEMBER_ACTION_REMOVE_MEMBER), R::kNone);  // the self-leave
}

TEST(ChannelModel, AuthorityTable) {
  ChannelFixture fx;
  // Unknown channel, bad bodies.
  MessageData d;
  d.set_type(MESSAGE_TYPE_CHANNEL_PIN);
  d.set_fid(1);
  d.set_timestamp(kTs);
  d.mutable_channel_pin_body()->set_channel_id(wt::Node::ChannelIdOf("unknown"));
  fx.node.SubmitChannelMessage(d, 0);
  EXPECT_EQ(fx.node.last_channel_refusal(), R::kUnknownChannel);
  EXPECT_EQ(fx.Member(1, 2, CHANNEL_MEMBER_ACTION_NONE), R::kInvalid);
  // A member cannot invite; the owner and a moderator can; a self-add needs OPEN.
  EXPECT_EQ(fx.Member(3, 3, CHANNEL_MEMBER_ACTION_ADD_MEMBER), R::kUnauthorized);  // APPROVAL
  EXPECT_EQ(fx.Member(1, 2, CHANNEL_MEMBER_ACTION_ADD_MEMBER), R::kNone);
  EXPECT_EQ(fx.Member(2, 3, CHANNEL_MEMBER_ACTION_ADD_MEMBER), R::kUnauthorized);
  EXPECT_EQ(fx.Member(1, 2, CHANNEL_MEMBER_ACTION_ADD_MEMBER), R::kInvalidTarget);  // already a member
  EXPECT_EQ(fx.Other(2, MESSAGE_TYPE_CHANNEL_UPDATE, MEMBERSHIP_MODE_OPEN), R::kUnauthorized);
  EXPECT_EQ(fx.Other(1, MESSAGE_TYPE_CHANNEL_UPDATE, MEMBERSHIP_MODE_OPEN), R::kNone);
  EXPECT_EQ(fx.Member(3, 3, CHANNEL_MEMBER_ACTION_ADD_MEMBER), R::kNone);  // OPEN: self-add
  EXPECT_EQ(fx.Member(3, 4, CHANNEL_MEMBER_ACTION_ADD_MEMBER), R::kUnauthorized);
  // Moderators: owner only; a moderator may pin, moderate, invite, remove members, ban
  // members, but not promote, demote, or ban a moderator.
  EXPECT_EQ(fx.Member(2, 3, CHANNEL_MEMBER_ACTION_ADD_MODERATOR), R::kUnauthorized);
  EXPECT_EQ(fx.Member(1, 2, CHANNEL_MEMBER_ACTION_ADD_MODERATOR), R::kNone);
  EXPECT_EQ(fx.State(2), S::kModerator);
  EXPECT_EQ(fx.Other(2, MESSAGE_TYPE_CHANNEL_PIN), R::kNone);
  EXPECT_EQ(fx.Other(3, MESSAGE_TYPE_CHANNEL_PIN), R::kUnauthorized);
  EXPECT_EQ(fx.Other(1, MESSAGE_TYPE_CHANNEL_MODERATE), R::kNone);
  EXPECT_EQ(fx.Other(2, MESSAGE_TYPE_CHANNEL_MODERATE, 2), R::kNone);  // a moderator undoes the owner's hide
  EXPECT_EQ(fx.Member(2, 5, CHANNEL_MEMBER_ACTION_ADD_MEMBER), R::kNone);
  EXPECT_EQ(fx.Member(2, 5, CHANNEL_MEMBER_ACTION_REMOVE_MEMBER), R::kNone);
  EXPECT_EQ(fx.State(5), S::kRemoved);
  EXPECT_EQ(fx.Member(1, 6, CHANNEL_MEMBER_ACTION_ADD_MODERATOR), R::kNone);
  EXPECT_EQ(fx.Member(2, 6, CHANNEL_MEMBER_ACTION_REMOVE_MODERATOR), R::kUnauthorized);
  EXPECT_EQ(fx.Member(2, 6, CHANNEL_MEMBER_ACTION_REMOVE_MEMBER), R::kInvalidTarget);  // not its own leave
  EXPECT_EQ(fx.Member(2, 6, CHANNEL_MEMBER_ACTION_BAN), R::kUnauthorized);
  EXPECT_EQ(fx.Member(6, 6, CHANNEL_MEMBER_ACTION_REMOVE_MEMBER), R::kNone);  // a moderator leaves
  EXPECT_EQ(fx.State(6), S::kRemoved);
  EXPECT_EQ(fx.Member(1, 2, CHANNEL_MEMBER_ACTION_REMOVE_MODERATOR), R::kNone);
  EXPECT_EQ(fx.State(2), S::kMember);
  // Bans: the owner cannot be banned, a banned target accepts only UNBAN (then removed).
  EXPECT_EQ(fx.Member(1, 1, CHANNEL_MEMBER_ACTION_BAN), R::kOwnerUnbannable);
  EXPECT_EQ(fx.Member(1, 7, CHANNEL_MEMBER_ACTION_BAN), R::kNone);  // no row: banned before joining
  EXPECT_EQ(fx.Member(1, 7, CHANNEL_MEMBER_ACTION_ADD_MEMBER), R::kBanned);
  EXPECT_EQ(fx.Member(7, 7, CHANNEL_MEMBER_ACTION_REMOVE_MEMBER), R::kBanned);
  EXPECT_EQ(fx.Member(1, 7, CHANNEL_MEMBER_ACTION_BAN), R::kBanned);
  EXPECT_EQ(fx.Member(3, 7, CHANNEL_MEMBER_ACTION_UNBAN), R::kUnauthorized);
  EXPECT_EQ(fx.Member(1, 7, CHANNEL_MEMBER_ACTION_UNBAN), R::kNone);
  EXPECT_EQ(fx.State(7), S::kRemoved);
  EXPECT_EQ(fx.Member(1, 8, CHANNEL_MEMBER_ACTION_UNBAN), R::kInvalidTarget);
}

TEST(ChannelModel, ModeratorCapAndReplays) {
  ChannelFixture fx;
  for (uint64_t f = 2; f < 2 + wt::kChannelModeratorCap; ++f)
    EXPECT_EQ(fx.Member(1, f, CHANNEL_MEMBER_ACTION_ADD_MODERATOR), R::kNone) << f;
  EXPECT_EQ(fx.Member(1, 20, CHANNEL_MEMBER_ACTION_ADD_MODERATOR), R::kModeratorCap);
  EXPECT_EQ(fx.Member(1, 2, CHANNEL_MEMBER_ACTION_REMOVE_MODERATOR), R::kNone);
  EXPECT_EQ(fx.Member(1, 20, CHANNEL_MEMBER_ACTION_ADD_MODERATOR), R::kNone);
  // A pin, then another, then the first again: it takes the slot back (nothing stops the
  // replay of a superseded message); the holder submitted again is a duplicate. Each
  // merge is on both data shards with the replaced holder in deleted_messages.
  fx.Other(1, MESSAGE_TYPE_CHANNEL_PIN);
  const uint32_t first = fx.last;
  fx.Other(1, MESSAGE_TYPE_CHANNEL_PIN);
  const uint32_t second = fx.last;
  EXPECT_EQ(fx.node.ResubmitChannelMessage(first), first);
  EXPECT_EQ(fx.node.Channel(fx.id)->pin, first);
  EXPECT_EQ(fx.node.ResubmitChannelMessage(first), wt::kNone);
  EXPECT_EQ(fx.node.last_channel_refusal(), R::kDuplicate);
  fx.node.SignPending(1);
  for (uint32_t s = 1; s <= 2; ++s) {
    const wt::ShardLog* log = fx.node.Log(s);
    HubEvent e;
    ASSERT_TRUE(e.ParseFromString(fx.node.EventBytes(s, log->events.back())));
    ASSERT_EQ(e.type(), HUB_EVENT_TYPE_MERGE_MESSAGE) << s;
    EXPECT_EQ(e.merge_message_body().message().hash(),
              std::string(reinterpret_cast<const char*>(fx.node.Msg(first).hash.data()), 20));
    ASSERT_EQ(e.merge_message_body().deleted_messages_size(), 1);
    EXPECT_EQ(e.merge_message_body().deleted_messages(0).hash(),
              std::string(reinterpret_cast<const char*>(fx.node.Msg(second).hash.data()), 20));
  }
  // A later owner change does not touch earlier decisions: the moderators stay.
  fx.node.ChannelRegistryEvent(CHANNEL_REGISTER_EVENT_TYPE_TRANSFER, fx.id, "", Addr(25), 0);
  EXPECT_EQ(fx.node.ChannelOwnerFid(*fx.node.Channel(fx.id)), std::nullopt);
  EXPECT_EQ(fx.Other(3, MESSAGE_TYPE_CHANNEL_PIN), R::kParked);
  fx.Verify(25, Addr(25), kTs + 3);
  EXPECT_EQ(fx.State(3), S::kModerator);
  EXPECT_EQ(fx.Other(3, MESSAGE_TYPE_CHANNEL_PIN), R::kNone);
  EXPECT_EQ(fx.Other(1, MESSAGE_TYPE_CHANNEL_UPDATE), R::kUnauthorized);  // the old owner lost its powers
}
