// End-to-end: the real waypoint-sidecar binary against the test Snapchain node and a
// real redis-server. Every subscribed event of the node's log lands in Redis (duplicates
// are counted; none without a crash), the sidecar resumes from its cursor after SIGKILL,
// memory stays bounded while Redis is down, and SIGTERM exits 0 even then.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "node.hpp"
#include "stream.hpp"
#include "rpc.grpc.pb.h"
#include "support.hpp"
#include "waypoint/core/entry.hpp"
#include "waypoint/core/routing.hpp"

using namespace waypoint::sidecar;
using namespace waypoint::sidecar::test;
using waypoint::core::EventBlock;
using waypoint::core::KeyLayout;

namespace {

constexpr uint32_t kShards = 2;
constexpr uint32_t kPartitions = 8;

struct Compare {
  size_t expected = 0, missing = 0, duplicates = 0, wrong_partition = 0, not_identical = 0;
};

std::string TempDir() {
  char d[] = "/tmp/waypoint-sidecar-e2e-XXXXXX";
  return mkdtemp(d);
}

uint64_t Cursor(Redis& r, uint32_t shard) {
  Reply rep = r.Command({"GET", KeyLayout{}.CursorKey(shard)});
  return rep->type == REDIS_REPLY_STRING ? std::stoull(rep->str) : 0;
}

// CompareUpToCursor checks every subscribed event of the node's log up to each shard's
// cursor against the partition streams (byte-identical payload, right partition).
Compare CompareUpToCursor(const std::string& node_addr, Redis& r) {
  Compare c;
  std::map<std::pair<uint32_t, uint64_t>, std::vector<std::string>> landed;
  for (const auto& [p, e] : ReadPartitionEntries(r, kPartitions)) {
    if (waypoint::core::PartitionOf(e.fid, kPartitions) != p) c.wrong_partition++;
    landed[{e.shard, e.event_id}].push_back(e.payload);
  }
  auto stub = HubService::NewStub(grpc::CreateChannel(node_addr, grpc::InsecureChannelCredentials()));
  for (uint32_t shard = 1; shard <= kShards; ++shard) {
    const uint64_t cursor = Cursor(r, shard);
    std::string token;
    while (true) {
      grpc::ClientContext ctx;
      EventsRequest req;
      req.set_start_id(0);
      req.set_stop_id(waypoint::core::MakeEventId(EventBlock(cursor) + 1, 0));
      req.set_shard_index(shard);
      req.set_page_size(1000);
      if (!token.empty()) req.set_page_token(token);
      EventsResponse resp;
      EXPECT_TRUE(stub->GetEvents(&ctx, req, &resp).ok());
      for (const auto& ev : resp.events()) {
        // Only what the sidecar subscribes to (MERGE_FAILURE etc. are not mirrored).
        const auto& types = SubscribedTypes();
        if (ev.type() == HUB_EVENT_TYPE_BLOCK_CONFIRMED ||
            std::find(types.begin(), types.end(), ev.type()) == types.end())
          continue;
        c.expected++;
        auto it = landed.find({shard, ev.id()});
        if (it == landed.end()) {
          if (c.missing < 5)
            std::cout << "missing shard " << shard << " id " << ev.id() << " type " << ev.type() << "\n";
          c.missing++;
          continue;
        }
        c.duplicates += it->second.size() - 1;
        HubEvent got;
        got.ParseFromString(it->second.front());
        if (got.SerializeAsString() != ev.SerializeAsString()) c.not_identical++;
      }
      if (resp.next_page_token().empty()) break;
      token = resp.next_page_token();
    }
  }
  return c;
}

}  // namespace

TEST(EndToEnd, TestNodeToRedisWithSigkillResumeAndRedisOutage) {
  const std::string dir = TempDir();
  RedisServer redis;
  Process node({WAYPOINT_TEST_NODE_BIN, "--port", "0", "--port-file", dir + "/node.port", "--seed", "7", "--fids", "60",
                "--shards", std::to_string(kShards), "--block-ms", "100", "--live-rate", "40", "--live-events", "400"},
               dir + "/node.log");
  ASSERT_TRUE(WaitFor([&] { return std::ifstream(dir + "/node.port").peek() != EOF; }, 60000));
  std::string port;
  std::ifstream(dir + "/node.port") >> port;
  const std::string node_addr = "127.0.0.1:" + port;
  const std::vector<std::string> args = {
      WAYPOINT_SIDECAR_BIN,  "stream",      "--node",           node_addr, "--redis-url",  redis.url(),
      "--metrics-listen",    "127.0.0.1:0", "--watchdog-ms",    "3000",    "--partitions", std::to_string(kPartitions),
      "--shutdown-grace-ms", "2000",        "--backoff-max-ms", "500"};
  Redis r(ParseRedisUrl(redis.url()));

  // 1. Stream, SIGKILL mid-flight, restart: resumes from the cursor.
  auto sidecar = std::make_unique<Process>(args, dir + "/sidecar.log");
  ASSERT_TRUE(WaitFor([&] { return Cursor(r, 1) > 0 && Cursor(r, 2) > 0; }, 30000));
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  sidecar->Signal(SIGKILL);
  const uint64_t killed_at = Cursor(r, 1);
  sidecar = std::make_unique<Process>(args, dir + "/sidecar.log");
  // Live events stop after 400; blocks go on. Wait until both cursors pass that point.
  std::this_thread::sleep_for(std::chrono::milliseconds(15000));
  EXPECT_GT(Cursor(r, 1), killed_at);
  Compare c = CompareUpToCursor(node_addr, r);
  std::cout << "[ e2e ] events up to cursor: " << c.expected << ", missing " << c.missing << ", duplicates "
            << c.duplicates << " (after one SIGKILL), wrong partition " << c.wrong_partition << ", not identical "
            << c.not_identical << "\n";
  EXPECT_GT(c.expected, 400u);
  EXPECT_EQ(c.missing, 0u);
  EXPECT_EQ(c.wrong_partition, 0u);
  EXPECT_EQ(c.not_identical, 0u);
  std::ifstream log(dir + "/sidecar.log");
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("subscribing from event"), std::string::npos);

  // 2. Redis down: the sidecar keeps reading into a bounded queue, memory stays bounded.
  const long rss_before = sidecar->RssKb();
  redis.Stop();
  long rss_max = 0;
  for (int i = 0; i < 8; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    rss_max = std::max(rss_max, sidecar->RssKb());
  }
  std::cout << "[ e2e ] sidecar RSS with Redis up " << rss_before << " kB, max with Redis down for 8 s " << rss_max
            << " kB\n";
  EXPECT_TRUE(sidecar->Alive());
  EXPECT_LT(rss_max, 256 * 1024);
  // 3. SIGTERM with Redis still down: gives up after the grace period, exits 0.
  EXPECT_EQ(sidecar->Signal(SIGTERM, 10000), 0);
  // 4. Redis back (empty: it kept no data), a fresh sidecar starts from the node's log again.
  redis.Restart();
  sidecar = std::make_unique<Process>(args, dir + "/sidecar.log");
  Redis r2(ParseRedisUrl(redis.url()));
  ASSERT_TRUE(WaitFor([&] { return Cursor(r2, 1) > 0; }, 20000));
  EXPECT_EQ(sidecar->Signal(SIGTERM, 10000), 0);
  Compare c2 = CompareUpToCursor(node_addr, r2);
  EXPECT_EQ(c2.missing, 0u);
  EXPECT_EQ(c2.duplicates, 0u);  // no crash: exactly once
  std::cout << "[ e2e ] fresh run: " << c2.expected << " events, duplicates " << c2.duplicates << "\n";
}

TEST(EndToEnd, NodeFaultsAreRepaired) {
  const std::string dir = TempDir();
  RedisServer redis;
  Process node({WAYPOINT_TEST_NODE_BIN,
                "--port",
                "0",
                "--port-file",
                dir + "/node.port",
                "--seed",
                "11",
                "--fids",
                "40",
                "--shards",
                std::to_string(kShards),
                "--block-ms",
                "100",
                "--live-rate",
                "40",
                "--live-events",
                "300",
                "--drop-every",
                "150",
                "--duplicate-rate",
                "0.05",
                "--garble-rate",
                "0.01",
                "--withhold",
                "0.02"},
               dir + "/node.log");
  ASSERT_TRUE(WaitFor([&] { return std::ifstream(dir + "/node.port").peek() != EOF; }, 60000));
  std::string port;
  std::ifstream(dir + "/node.port") >> port;
  const std::string node_addr = "127.0.0.1:" + port;
  const int http_port = FreePort();
  Process sidecar({WAYPOINT_SIDECAR_BIN, "stream", "--node", node_addr, "--redis-url", redis.url(), "--metrics-listen",
                   "127.0.0.1:" + std::to_string(http_port), "--watchdog-ms", "3000", "--partitions",
                   std::to_string(kPartitions), "--backoff-max-ms", "300", "--repair-delay-ms", "500"},
                  dir + "/sidecar.log");
  Redis r(ParseRedisUrl(redis.url()));
  std::this_thread::sleep_for(std::chrono::milliseconds(15000));
  Compare c = CompareUpToCursor(node_addr, r);
  std::cout << "[ e2e faults ] events up to cursor: " << c.expected << ", missing " << c.missing << ", duplicates "
            << c.duplicates << ", not identical " << c.not_identical << "\n";
  EXPECT_GT(c.expected, 300u);
  EXPECT_EQ(c.missing, 0u);
  EXPECT_EQ(c.not_identical, 0u);
  EXPECT_EQ(sidecar.Signal(SIGTERM, 10000), 0);
  std::ifstream log(dir + "/sidecar.log");
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("repaired"), std::string::npos);
}
