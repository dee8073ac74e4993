// The batch reducers of core/crdt.hpp: one row per message (lifecycle flags OR-ed, the
// earliest event time and the latest event ids kept) and one per proof. Which candidate
// wins a key is the shipped SQL's rule (sql/apply/), tested against a simulated node by
// test/integration/apply_property.cpp.
#include <gtest/gtest.h>

#include "waypoint/core/crdt.hpp"

using namespace waypoint::core;

TEST(Crdt, ReduceMessagesOrsLifecycleAndKeepsEarliestTime) {
  MessageRow m;
  m.hash = "h";
  MessageRow pruned = m, revoked = m;
  pruned.pruned = true;
  pruned.event_unix = 50;
  revoked.revoked = true;
  revoked.event_unix = 40;
  auto out = ReduceMessages({m, pruned, m, revoked});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].pruned && out[0].revoked && !out[0].dropped);
  EXPECT_EQ(out[0].event_unix, 40);
}

TEST(Crdt, ReduceProofsKeepsEachProofWithItsStanding) {
  ProofRow p;
  p.name = "bob";
  p.timestamp = 5;
  p.signature = "s";
  p.merge_event = 10;
  ProofRow del = p;
  del.deleted = true;
  del.merge_event.reset();
  del.death_event = 12;
  ProofRow older = p;
  older.timestamp = 4;
  auto out = ReduceProofs({p, older, del});
  ASSERT_EQ(out.size(), 2u);  // the statement picks per name
  EXPECT_TRUE(out[0].deleted);
  EXPECT_EQ(out[0].merge_event, 10);
  EXPECT_EQ(out[0].death_event, 12);
  EXPECT_EQ(out[1].timestamp, 4u);
}

TEST(Crdt, ReduceMessagesKeepsLatestEventIds) {
  MessageRow m;
  m.hash = "h";
  MessageRow a = m, b = m, c = m;
  a.merge_event = 5;
  b.death_event = 9;
  c.merge_event = 12;
  auto out = ReduceMessages({a, b, m, c});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].merge_event, 12);
  EXPECT_EQ(out[0].death_event, 9);
}

TEST(Crdt, ReduceAppKeysKeepsTheRemoveThatDeletedAKeyAdd) {
  AppKeyRow merged;
  merged.c.fid = 10;
  merged.c.message_hash = "add";
  merged.key = std::string(32, 'k');
  AppKeyRow deleted = merged;  // the same KEY_ADD from its KEY_REMOVE's event
  deleted.remove_hash = "rm";
  deleted.remove_ts = 9;
  AppKeyRow other = merged;
  other.key = std::string(32, 'o');
  auto out = ReduceAppKeys({merged, other, deleted, merged});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].remove_hash, std::optional<std::string>("rm"));
  EXPECT_EQ(out[0].remove_ts, std::optional<uint32_t>(9));
  EXPECT_FALSE(out[1].remove_hash.has_value());
}
