// Against a real redis-server: the MULTI/EXEC flush moves the cursor only together with
// the entries it covers; backlog and trimming never count or remove unacknowledged entries.
#include <gtest/gtest.h>

#include "backlog.hpp"
#include "stream.hpp"
#include "support.hpp"
#include "waypoint/core/errors.hpp"

using namespace waypoint::sidecar;
using namespace waypoint::sidecar::test;
using waypoint::core::KeyLayout;
using waypoint::core::MakeEventId;

namespace {

Item MakeItem(const HubEvent& e) {
  Item it;
  it.bytes = e.SerializeAsString();
  it.info = InspectEvent(it.bytes);
  return it;
}

// One complete block: BLOCK_CONFIRMED + two merges for fids 1 and 2.
std::vector<Item> Block(uint64_t b) {
  std::vector<Item> out;
  HubEvent bc;
  bc.set_type(HUB_EVENT_TYPE_BLOCK_CONFIRMED);
  bc.set_id(MakeEventId(b, 0));
  (*bc.mutable_block_confirmed_body()->mutable_event_counts_by_type())[HUB_EVENT_TYPE_MERGE_MESSAGE] = 2;
  out.push_back(MakeItem(bc));
  for (uint64_t s = 1; s <= 2; ++s) {
    HubEvent e;
    e.set_type(HUB_EVENT_TYPE_MERGE_MESSAGE);
    e.set_id(MakeEventId(b, s));
    e.mutable_merge_message_body()->mutable_message()->mutable_data()->set_fid(s);
    out.push_back(MakeItem(e));
  }
  return out;
}

long long Len(Redis& r, const std::string& k) { return r.Command({"XLEN", k})->integer; }
std::string Get(Redis& r, const std::string& k) {
  Reply rep = r.Command({"GET", k});
  return rep->type == REDIS_REPLY_STRING ? std::string(rep->str, rep->len) : "(nil)";
}

}  // namespace

class RedisTest : public ::testing::Test {
 protected:
  RedisServer server;
  Config cfg;
  KeyLayout keys;
  std::atomic<bool> stop{false};
  void SetUp() override {
    cfg.redis_url = server.url();
    cfg.partitions = 4;
  }
};

TEST_F(RedisTest, RefusedTransactionMovesNeitherEntriesNorCursor) {
  Redis r(ParseRedisUrl(server.url()));
  Redis wr(ParseRedisUrl(server.url()));
  ShardWriter w(1, cfg, nullptr, &wr, &stop);
  EXPECT_FALSE(w.LoadCursor().has_value());
  for (auto& it : Block(5)) w.Add(it);
  ASSERT_TRUE(w.Dirty());
  // Out of memory: Redis refuses the queued XADDs, EXEC aborts, nothing is applied.
  Redis::Check(r.Command({"CONFIG", "SET", "maxmemory-policy", "noeviction"}), "CONFIG");
  Redis::Check(r.Command({"CONFIG", "SET", "maxmemory", "1"}), "CONFIG");
  EXPECT_THROW(w.Flush(), waypoint::core::Error);
  EXPECT_EQ(Len(r, keys.PartitionStream(1)) + Len(r, keys.PartitionStream(2)), 0);
  EXPECT_EQ(Get(r, keys.CursorKey(1)), "(nil)");
  Redis::Check(r.Command({"CONFIG", "SET", "maxmemory", "0"}), "CONFIG");
  w.Flush();  // the same batch, retried
  EXPECT_EQ(Len(r, keys.PartitionStream(1)), 1);
  EXPECT_EQ(Len(r, keys.PartitionStream(2)), 1);
  EXPECT_EQ(Get(r, keys.CursorKey(1)), std::to_string(MakeEventId(5, 2)));
  EXPECT_FALSE(w.Dirty());
}

TEST_F(RedisTest, PartlyFailedTransactionPutsTheCursorBack) {
  Redis r(ParseRedisUrl(server.url()));
  Redis::Check(r.Command({"SET", keys.CursorKey(1), std::to_string(MakeEventId(4, 7))}), "SET");
  Redis wr(ParseRedisUrl(server.url()));
  ShardWriter w(1, cfg, nullptr, &wr, &stop);
  ASSERT_EQ(w.LoadCursor(), MakeEventId(4, 7));
  // Partition 2's key is not a stream: its XADD fails inside EXEC (no rollback in Redis).
  Redis::Check(r.Command({"SET", keys.PartitionStream(2), "not a stream"}), "SET");
  for (auto& it : Block(5)) w.Add(it);
  EXPECT_THROW(w.Flush(), waypoint::core::Error);
  EXPECT_EQ(Get(r, keys.CursorKey(1)), std::to_string(MakeEventId(4, 7)));
  Redis::Check(r.Command({"DEL", keys.PartitionStream(2)}), "DEL");
  w.Flush();
  EXPECT_EQ(Get(r, keys.CursorKey(1)), std::to_string(MakeEventId(5, 2)));
  EXPECT_EQ(Len(r, keys.PartitionStream(2)), 1);
  // A replayed block after the cursor is dropped as a duplicate.
  for (auto& it : Block(5)) w.Add(it);
  EXPECT_FALSE(w.Dirty());
}

TEST_F(RedisTest, IncompleteBlockWritesEntriesButKeepsTheCursor) {
  Redis r(ParseRedisUrl(server.url()));
  Redis wr(ParseRedisUrl(server.url()));
  ShardWriter w(1, cfg, nullptr, &wr, &stop);
  w.LoadCursor();
  auto b = Block(9);
  w.Add(b[0]);
  w.Add(b[1]);  // the block's second message has not arrived
  w.Flush();
  EXPECT_EQ(Len(r, keys.PartitionStream(1)), 1);
  EXPECT_EQ(Get(r, keys.CursorKey(1)), "(nil)");  // a restart replays the whole block
  w.Add(b[2]);
  w.Flush();
  EXPECT_EQ(Get(r, keys.CursorKey(1)), std::to_string(MakeEventId(9, 2)));
}

TEST_F(RedisTest, BacklogAndTrimRespectPendingEntries) {
  Redis r(ParseRedisUrl(server.url()));
  const std::string s = keys.PartitionStream(0);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(r.Command({"XADD", s, "*", "n", std::to_string(i)})->str);
  EXPECT_EQ(StreamBacklog(r, s), 5u);     // no group yet: everything is backlog
  EXPECT_EQ(TrimAcknowledged(r, s), 0u);  // and nothing may be trimmed
  Redis::Check(r.Command({"XGROUP", "CREATE", s, "apply", "0"}), "XGROUP");
  Redis::Check(r.Command({"XREADGROUP", "GROUP", "apply", "c", "COUNT", "3", "STREAMS", s, ">"}), "read");
  EXPECT_EQ(StreamBacklog(r, s), 5u);  // 3 pending + 2 unread
  Redis::Check(r.Command({"XACK", s, "apply", ids[0], ids[2]}), "XACK");
  EXPECT_EQ(StreamBacklog(r, s), 3u);
  // ids[1] is still pending: only ids[0] may go.
  EXPECT_EQ(TrimAcknowledged(r, s), 1u);
  EXPECT_EQ(Len(r, s), 4);
  Redis::Check(r.Command({"XACK", s, "apply", ids[1]}), "XACK");
  EXPECT_EQ(TrimAcknowledged(r, s), 2u);  // ids[1], ids[2]; ids[3], ids[4] never delivered
  EXPECT_EQ(Len(r, s), 2);
  // A second group that has read nothing holds everything back.
  Redis::Check(r.Command({"XGROUP", "CREATE", s, "audit", "0"}), "XGROUP");
  Redis::Check(r.Command({"XREADGROUP", "GROUP", "apply", "c", "STREAMS", s, ">"}), "read");
  Redis::Check(r.Command({"XACK", s, "apply", ids[3], ids[4]}), "XACK");
  EXPECT_EQ(TrimAcknowledged(r, s), 0u);
  EXPECT_EQ(Len(r, s), 2);
}
