// Routing: fid partitions, Snapchain's shard rule (checked against values computed
// independently with Python's hashlib), event ids and key names.
#include <gtest/gtest.h>

#include "waypoint/core/routing.hpp"

using namespace waypoint::core;

TEST(Routing, PartitionIsFidModP) {
  EXPECT_EQ(PartitionOf(0, 8), 0u);
  EXPECT_EQ(PartitionOf(13, 8), 5u);
  EXPECT_EQ(PartitionOf(12345, 16), 12345u % 16);
}

TEST(Routing, ShardMatchesSnapchainRule) {
  // sha256(fid as big-endian u32)[0..4] as big-endian u32, mod n, + 1
  EXPECT_EQ(ShardOf(1, 2), 1u);
  EXPECT_EQ(ShardOf(2, 2), 2u);
  EXPECT_EQ(ShardOf(3, 2), 1u);
  EXPECT_EQ(ShardOf(100, 2), 2u);
  EXPECT_EQ(ShardOf(12345, 2), 2u);
  EXPECT_EQ(ShardOf(1, 3), 1u);
  EXPECT_EQ(ShardOf(3, 3), 2u);
  EXPECT_EQ(ShardOf(100, 3), 2u);
}

TEST(Routing, EventIdsSplitIntoBlockAndSeq) {
  uint64_t id = MakeEventId(123456, 77);
  EXPECT_EQ(EventBlock(id), 123456u);
  EXPECT_EQ(EventSeq(id), 77u);
  EXPECT_EQ(MakeEventId(1, 0), 1u << 14);
}

TEST(Routing, KeysShareAPartitionHashTag) {
  KeyLayout k;
  EXPECT_EQ(k.PartitionStream(3), "waypoint:{p3}:entries");
  k.prefix = "x";
  EXPECT_EQ(k.PartitionStream(0), "x:{p0}:entries");
  EXPECT_NE(k.CursorKey(1), k.CursorKey(2));
}

// Every key of docs/sidecar.md "Redis keys", as documented.
TEST(Routing, KeyLayoutNamesTheDocumentedKeys) {
  KeyLayout k;
  EXPECT_EQ(k.PartitionStream(0), "waypoint:{p0}:entries");
  EXPECT_STREQ(KeyLayout::kApplyGroup, "apply");
  EXPECT_EQ(k.CursorKey(2), "waypoint:cursor:shard:2");
  EXPECT_EQ(k.NodeHeadKey(2), "waypoint:node:shard:2:head");
  EXPECT_EQ(k.DeadLetterStream(), "waypoint:dead");
  EXPECT_EQ(k.BackfillJobStream(), "waypoint:backfill:jobs");
  EXPECT_STREQ(KeyLayout::kBackfillGroup, "backfill");
  EXPECT_EQ(k.BackfillProgressKey("42"), "waypoint:backfill:job:42");
  EXPECT_EQ(k.SidecarHealthKey(), "waypoint:sidecar:health");
  k.prefix = "staging";
  EXPECT_EQ(k.PartitionStream(15), "staging:{p15}:entries");
  EXPECT_EQ(k.CursorKey(1), "staging:cursor:shard:1");
  EXPECT_EQ(k.NodeHeadKey(1), "staging:node:shard:1:head");
  EXPECT_EQ(k.DeadLetterStream(), "staging:dead");
  EXPECT_EQ(k.BackfillJobStream(), "staging:backfill:jobs");
  EXPECT_EQ(k.BackfillProgressKey("7"), "staging:backfill:job:7");
  EXPECT_EQ(k.SidecarHealthKey(), "staging:sidecar:health");
}
