// Stream mode against a real in-test HubService and a real redis-server: every event
// lands exactly once, withheld and undecodable events are repaired from GetEvents
// before the cursor passes their block, the cursor sits at a block boundary, a restart
// resumes from it without duplicates, and the watchdog reconnects a silent stream.
#include <gtest/gtest.h>

#include <map>

#include "hub_server.hpp"
#include "stream.hpp"
#include "support.hpp"

using namespace waypoint::sidecar;
using namespace waypoint::sidecar::test;
using waypoint::core::KeyLayout;
using waypoint::core::MakeEventId;

namespace {

// Entries of every partition stream: (shard, event id) -> count, plus sources.
struct Landed {
  std::map<std::pair<uint32_t, uint64_t>, int> count;
  std::map<std::string, int> by_src;
  bool partition_ok = true;
};

Landed ReadAll(Redis& r, uint32_t partitions) {
  Landed out;
  for (const auto& [p, e] : ReadPartitionEntries(r, partitions)) {
    HubEvent ev;
    EXPECT_TRUE(ev.ParseFromString(e.payload));
    EXPECT_EQ(ev.id(), e.event_id);
    if (waypoint::core::PartitionOf(FidOfEvent(ev), partitions) != p) out.partition_ok = false;
    out.count[{e.shard, e.event_id}]++;
    out.by_src[waypoint::core::EntrySourceName(e.source)]++;
  }
  return out;
}

Config TestConfig(const std::string& node, const std::string& redis) {
  Config c;
  c.node_addr = node;
  c.redis_url = redis;
  c.partitions = 4;
  c.watchdog_ms = 1500;
  c.repair_delay_ms = 300;
  c.backoff_base_ms = 20;
  c.backoff_max_ms = 200;
  c.trim_interval_ms = 200;
  c.node_rps = 1000;
  return c;
}

std::string CursorOf(Redis& r, uint32_t shard) {
  Reply rep = r.Command({"GET", KeyLayout{}.CursorKey(shard)});
  return rep->type == REDIS_REPLY_STRING ? std::string(rep->str, rep->len) : "";
}

}  // namespace

class StreamTest : public ::testing::Test {
 protected:
  RedisServer redis;
  HubServer hub;
};

TEST_F(StreamTest, EveryEventOnceWithRepairsAndBlockBoundaryCursor) {
  hub.num_shards = 2;
  hub.BuildLog(1, 10, 20, 5);  // blocks 10..29, 5 messages each
  hub.BuildLog(2, 3, 10, 3);
  // Withhold two messages and one whole block's events (including its BLOCK_CONFIRMED),
  // garble one event: all must be repaired.
  hub.withhold = {
      MakeEventId(12, 2), MakeEventId(15, 5), MakeEventId(20, 0), MakeEventId(20, 1), MakeEventId(20, 2),
      MakeEventId(20, 3), MakeEventId(20, 4), MakeEventId(20, 5), MakeEventId(29, 5)};  // the very last event: only the
                                                                                        // idle repair can find it
  hub.garble = {MakeEventId(17, 3), MakeEventId(5, 2)};
  const std::string addr = hub.Start();
  Config cfg = TestConfig(addr, redis.url());
  std::atomic<bool> stop{false}, hard{false};
  Node node(cfg, &hard);
  {
    StreamService svc(cfg, &node, &stop, &hard);
    ASSERT_TRUE(svc.Start());
    Redis r(ParseRedisUrl(redis.url()));
    ASSERT_TRUE(WaitFor([&] { return CursorOf(r, 1) == std::to_string(MakeEventId(29, 5)); }, 10000)) << CursorOf(r, 1);
    ASSERT_TRUE(WaitFor([&] { return CursorOf(r, 2) == std::to_string(MakeEventId(12, 3)); }, 10000)) << CursorOf(r, 2);
    stop = true;
    svc.Join();
  }
  Redis r(ParseRedisUrl(redis.url()));
  Landed l = ReadAll(r, cfg.partitions);
  EXPECT_TRUE(l.partition_ok);
  EXPECT_EQ(l.count.size(), 20u * 5 + 10u * 3);
  for (const auto& [id, n] : l.count) EXPECT_EQ(n, 1) << "shard " << id.first << " event " << id.second;
  // Withheld messages: shard 1 has 8 (12:2, 15:5, 20:1..5, 29:5), shard 2 has 12:2; plus 2 garbled.
  EXPECT_EQ(l.by_src["repair"], 8 + 1 + 2);
  EXPECT_GE(GlobalMetrics().Get("waypoint_sidecar_undecodable_total", Label("shard", 1)), 1);
  Reply head = r.Command({"HGET", "waypoint:node:shard:1:head", "block"});
  ASSERT_EQ(head->type, REDIS_REPLY_STRING);
  EXPECT_EQ(std::string(head->str, head->len), "29");

  // Restart: resumes after block 29 and writes nothing new (no duplicates).
  hub.BuildLog(1, 30, 2, 5);
  std::atomic<bool> stop2{false}, hard2{false};
  Node node2(cfg, &hard2);
  StreamService svc2(cfg, &node2, &stop2, &hard2);
  ASSERT_TRUE(svc2.Start());
  ASSERT_TRUE(WaitFor([&] { return CursorOf(r, 1) == std::to_string(MakeEventId(31, 5)); }, 10000));
  stop2 = true;
  svc2.Join();
  l = ReadAll(r, cfg.partitions);
  EXPECT_EQ(l.count.size(), 22u * 5 + 10u * 3);
  for (const auto& [id, n] : l.count) EXPECT_EQ(n, 1) << "shard " << id.first << " event " << id.second;
}

TEST_F(StreamTest, WatchdogReconnectsASilentStream) {
  hub.BuildLog(1, 1, 3, 2);
  const std::string addr = hub.Start();
  Config cfg = TestConfig(addr, redis.url());
  cfg.watchdog_ms = 400;
  cfg.shards = {1};
  std::atomic<bool> stop{false}, hard{false};
  Node node(cfg, &hard);
  StreamService svc(cfg, &node, &stop, &hard);
  ASSERT_TRUE(svc.Start());
  // The server sends its log then stays silent: the watchdog must cancel and resubscribe.
  ASSERT_TRUE(WaitFor([&] { return hub.subscribes.load() >= 3; }, 5000)) << hub.subscribes.load();
  stop = true;
  svc.Join();
  EXPECT_GE(GlobalMetrics().Get("waypoint_sidecar_subscription_ends_total",
                                Label("shard", 1) + "," + Label("reason", "watchdog")),
            2);
  Redis r(ParseRedisUrl(redis.url()));
  Landed l = ReadAll(r, cfg.partitions);
  for (const auto& [id, n] : l.count)
    EXPECT_EQ(n, 1) << "shard " << id.first << " event " << id.second;  // resubscribing duplicated nothing
  EXPECT_EQ(l.count.size(), 6u);
}

TEST_F(StreamTest, BackpressureClosesTheSubscriptionAndResumesBelowLowWatermark) {
  hub.BuildLog(1, 1, 40, 5);  // 200 entries
  const std::string addr = hub.Start();
  Config cfg = TestConfig(addr, redis.url());
  cfg.shards = {1};
  cfg.high_watermark = 50;
  cfg.low_watermark = 10;
  cfg.backlog_interval_ms = 50;
  cfg.batch_size = 10;
  std::atomic<bool> stop{false}, hard{false};
  Node node(cfg, &hard);
  Redis r(ParseRedisUrl(redis.url()));
  KeyLayout k;
  // An apply group exists on every partition and has read nothing: everything is backlog.
  for (uint32_t p = 0; p < cfg.partitions; ++p)
    Redis::Check(r.Command({"XGROUP", "CREATE", k.PartitionStream(p), "apply", "0", "MKSTREAM"}), "XGROUP");
  // 60 unapplied entries already wait in partition 0: above the high watermark, so the
  // sidecar must not subscribe at all until they are applied.
  for (int i = 0; i < 60; ++i) r.Command({"XADD", k.PartitionStream(0), "*", "v", "0"});
  StreamService svc(cfg, &node, &stop, &hard);
  ASSERT_TRUE(svc.Start());
  ASSERT_TRUE(WaitFor([&] { return GlobalMetrics().Get("waypoint_sidecar_paused") == 1; }, 5000));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(hub.subscribes.load(), 0);
  EXPECT_EQ(CursorOf(r, 1), "");
  // Apply (read + ack) everything: the backlog drains, streaming resumes, acked entries are trimmed.
  auto drain = [&] {
    for (uint32_t p = 0; p < cfg.partitions; ++p) {
      Reply rd =
          r.Command({"XREADGROUP", "GROUP", "apply", "w", "COUNT", "1000", "STREAMS", k.PartitionStream(p), ">"});
      if (rd->type != REDIS_REPLY_ARRAY) continue;
      const redisReply* entries = rd->element[0]->element[1];
      for (size_t i = 0; i < entries->elements; ++i)
        r.Command({"XACK", k.PartitionStream(p), "apply", std::string(entries->element[i]->element[0]->str)});
    }
  };
  ASSERT_TRUE(WaitFor(
      [&] {
        drain();
        return CursorOf(r, 1) == std::to_string(MakeEventId(40, 5));
      },
      15000));
  EXPECT_GE(hub.subscribes.load(), 1);
  // Everything acknowledged is trimmed (never anything unacknowledged: see the Redis tests).
  ASSERT_TRUE(WaitFor(
      [&] {
        drain();
        uint64_t left = 0;
        for (uint32_t p = 0; p < cfg.partitions; ++p) left += r.Command({"XLEN", k.PartitionStream(p)})->integer;
        return left == 0;
      },
      5000));
  stop = true;
  svc.Join();
  EXPECT_GE(GlobalMetrics().Get("waypoint_sidecar_trimmed_entries_total"), 260);
}
