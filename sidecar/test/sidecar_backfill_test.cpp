// Backfill against a real in-test HubService and redis-server: pages land as entries of
// the fid's partition, every fid gets a fid_done with its outcome (failed fids are
// reported, not silently done), and the job is acknowledged only after all of them.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "backfill.hpp"
#include "hub_server.hpp"
#include "metrics.hpp"
#include "support.hpp"
#include "verifier.hpp"
#include "waypoint/core/entry.hpp"
#include "waypoint/core/errors.hpp"

using namespace waypoint::sidecar;
using namespace waypoint::sidecar::test;
using waypoint::core::KeyLayout;

namespace {

struct Seen {
  std::map<uint64_t, int> messages;          // fid -> message entries
  std::map<uint64_t, std::string> fid_done;  // fid -> payload
  int fid_done_count = 0;
  std::map<uint64_t, int> fid_starts;         // fid -> fid_start entries (one per attempt)
  std::map<uint64_t, std::string> fid_start;  // fid -> last fid_start payload
  int pages_before_start = 0;                 // page entries with no fid_start before them
  std::map<uint64_t, int> refused;            // fid -> refused entries
  std::set<std::string> refused_checks;
};

Seen ReadAll(Redis& r, uint32_t partitions) {
  Seen s;
  for (const auto& [p, e] : ReadPartitionEntries(r, partitions)) {
    EXPECT_EQ(waypoint::core::PartitionOf(e.fid, partitions), p);
    EXPECT_EQ(e.job_id, "job-1");
    EXPECT_EQ(e.source, waypoint::core::EntrySource::kBackfill);
    if (e.kind == waypoint::core::EntryKind::kFidStart) {
      s.fid_starts[e.fid]++;
      s.fid_start[e.fid] = e.payload;
    } else if (e.kind != waypoint::core::EntryKind::kFidDone && s.fid_starts.count(e.fid) == 0) {
      s.pages_before_start++;
    }
    if (e.kind == waypoint::core::EntryKind::kFidDone) {
      s.fid_done[e.fid] = e.payload;
      s.fid_done_count++;
    } else if (e.kind == waypoint::core::EntryKind::kMessage) {
      Message m;
      EXPECT_TRUE(m.ParseFromString(e.payload));
      EXPECT_EQ(m.data().fid(), e.fid);
      s.messages[e.fid]++;
    } else if (e.kind == waypoint::core::EntryKind::kRefused) {
      // The node's bytes ride along untouched, with what they would have been and why not.
      Message m;
      EXPECT_TRUE(m.ParseFromString(e.payload));
      EXPECT_EQ(m.data().fid(), e.fid);
      EXPECT_EQ(e.refused_kind, waypoint::core::EntryKind::kMessage);
      EXPECT_FALSE(e.refused_reason.empty());
      s.refused[e.fid]++;
      s.refused_checks.insert(e.refused_check);
    }
  }
  return s;
}

long long Pending(Redis& r) {
  Reply p = r.Command({"XPENDING", KeyLayout{}.BackfillJobStream(), KeyLayout::kBackfillGroup});
  return p->type == REDIS_REPLY_ARRAY ? p->element[0]->integer : -1;
}

// Delivered: the backfill group has read the job stream up to `id`. Nothing pending
// also holds between the group's creation and its first read, so waiting on that alone
// can end before the job was even taken.
bool Delivered(Redis& r, const std::string& id) {
  Reply g = r.Command({"XINFO", "GROUPS", KeyLayout{}.BackfillJobStream()});
  if (g->type != REDIS_REPLY_ARRAY) return false;
  for (size_t i = 0; i < g->elements; ++i) {
    const redisReply* f = g->element[i];
    for (size_t j = 0; j + 1 < f->elements; j += 2)
      if (std::string(f->element[j]->str, f->element[j]->len) == "last-delivered-id" &&
          std::string(f->element[j + 1]->str, f->element[j + 1]->len) == id)
        return true;
  }
  return false;
}

}  // namespace

TEST(BackfillJob, ParsesAndRejectsFields) {
  auto j = ParseJob("1-0", {{"v", "1"}, {"job", "a"}, {"fids", "3,5"}, {"types", "cast,onchain"}});
  EXPECT_EQ(j.fids, (std::vector<uint64_t>{3, 5}));
  EXPECT_EQ(j.types.size(), 2u);
  EXPECT_TRUE(ParseJob("1-0", {{"v", "1"}, {"job", "a"}, {"fids", "all"}, {"types", ""}}).all_fids);
  EXPECT_THROW(ParseJob("1-0", {{"v", "2"}, {"job", "a"}, {"fids", "1"}}), waypoint::core::Error);
  EXPECT_THROW(ParseJob("1-0", {{"v", "1"}, {"job", "a"}, {"fids", "1,x"}}), waypoint::core::Error);
  EXPECT_THROW(ParseJob("1-0", {{"v", "1"}, {"job", "a"}, {"fids", "1"}, {"types", "casts"}}), waypoint::core::Error);
  EXPECT_THROW(ParseJob("1-0", {{"v", "1"}, {"fids", "1"}}), waypoint::core::Error);
}

TEST(Backfill, PagesEveryFidReportsFailuresAndAcksAfterAll) {
  RedisServer redis;
  HubServer hub;
  hub.num_shards = 2;
  hub.casts_per_fid = {{1, 7}, {2, 0}, {3, 25}, {4, 3}, {9, 12}};
  hub.failing_fids = {4};
  const std::string addr = hub.Start();
  Config cfg;
  cfg.node_addr = addr;
  cfg.redis_url = redis.url();
  cfg.partitions = 4;
  cfg.page_size = 5;  // several pages per fid
  cfg.fid_attempts = 2;
  cfg.backoff_base_ms = 10;
  cfg.backoff_max_ms = 50;
  cfg.node_rps = 10000;
  cfg.consumer = "test-consumer";
  cfg.breaker_failures = 1000;
  Redis r(ParseRedisUrl(redis.url()));
  const std::string jobs = KeyLayout{}.BackfillJobStream();
  Redis::Check(r.Command({"XADD", jobs, "*", "v", "1", "job", "job-1", "fids", "1,2,3,4", "types", "cast"}), "XADD");
  Redis::Check(r.Command({"XADD", jobs, "*", "v", "9", "job", "bad"}), "XADD");  // poison job
  std::atomic<bool> stop{false};
  Node node(cfg, &stop);
  BackfillWorker w(cfg, &node, &stop);
  std::thread t([&] { w.Run(); });
  const bool acked = WaitFor(
      [&] {
        Reply g = r.Command({"XINFO", "GROUPS", jobs});
        if (g->type != REDIS_REPLY_ARRAY || g->elements == 0) return false;
        return Pending(r) == 0 && r.Command({"XLEN", KeyLayout{}.DeadLetterStream()})->integer == 1;
      },
      15000);
  stop = true;
  t.join();
  ASSERT_TRUE(acked);
  Seen s = ReadAll(r, cfg.partitions);
  EXPECT_EQ(s.messages[1], 7);
  EXPECT_EQ(s.messages[3], 25);
  EXPECT_EQ(s.messages.count(2), 0u);
  EXPECT_EQ(s.fid_done_count, 4);
  // fid_start precedes every page of its fid, once per attempt, with the job's size.
  EXPECT_EQ(s.pages_before_start, 0);
  EXPECT_EQ(s.fid_starts[1], 1);
  EXPECT_EQ(s.fid_starts[4], 2);
  EXPECT_NE(s.fid_start[1].find("\"fids_total\":4}"), std::string::npos) << s.fid_start[1];
  EXPECT_EQ(s.fid_start[1], "{\"types\":[\"cast\"],\"fids_total\":4}");
  EXPECT_EQ(s.fid_done[1], "{\"status\":\"ok\",\"messages\":7}");
  EXPECT_EQ(s.fid_done[2], "{\"status\":\"ok\",\"messages\":0}");
  EXPECT_EQ(s.fid_done[3], "{\"status\":\"ok\",\"messages\":25}");
  EXPECT_EQ(s.fid_done[4].rfind(
                "{\"status\":\"failed\",\"messages\":0,\"error\":\"GetAllCastMessagesByFid: fid unavailable", 0),
            0u)
      << s.fid_done[4];
  Reply progress = r.Command({"HGET", "waypoint:backfill:job:job-1", "fids_done"});
  ASSERT_EQ(progress->type, REDIS_REPLY_STRING);
  EXPECT_EQ(std::string(progress->str), "4");
}

// App keys: the fid's signers are paged until the token is unset (here a full last page,
// then an empty one), only the off-chain ones are written (kind signer, in the node's
// order), after the other stores, and fid_start names app_key among every store. A node
// without GetSignersByFid (UNIMPLEMENTED) leaves app keys out of fid_start.
TEST(Backfill, AppKeysFromEveryPageOfGetSignersByFid) {
  for (const bool served : {true, false}) {
    RedisServer redis;
    HubServer hub;
    hub.casts_per_fid = {{5, 2}};
    std::map<uint64_t, std::vector<Signer>> signers;
    for (int i = 0; i < 6; ++i) {
      Signer sg;
      sg.set_source(i < 2 ? SIGNER_SOURCE_ONCHAIN : SIGNER_SOURCE_OFFCHAIN);
      sg.set_key(std::string(32, static_cast<char>('a' + i)));
      sg.set_fid(5);
      sg.set_added_at(1700000000);
      sg.set_nonce(static_cast<uint32_t>(i));
      signers[5].push_back(sg);
    }
    if (served) hub.signers_per_fid = &signers;
    const std::string addr = hub.Start();
    Config cfg;
    cfg.node_addr = addr;
    cfg.redis_url = redis.url();
    cfg.partitions = 2;
    cfg.page_size = 2;
    cfg.node_rps = 10000;
    cfg.consumer = "keys";
    Redis r(ParseRedisUrl(redis.url()));
    const std::string jobs = KeyLayout{}.BackfillJobStream();
    Redis::Check(r.Command({"XADD", jobs, "*", "v", "1", "job", "job-1", "fids", "5", "types", ""}), "XADD");
    std::atomic<bool> stop{false};
    Node node(cfg, &stop);
    BackfillWorker w(cfg, &node, &stop);
    std::thread t([&] { w.Run(); });
    const bool acked = WaitFor(
        [&] {
          Reply g = r.Command({"XINFO", "GROUPS", jobs});
          return g->type == REDIS_REPLY_ARRAY && g->elements > 0 && Pending(r) == 0 &&
                 r.Command({"XLEN", KeyLayout{}.PartitionStream(1)})->integer > 0;
        },
        15000);
    stop = true;
    t.join();
    ASSERT_TRUE(acked);
    std::vector<std::string> keys;
    std::vector<waypoint::core::EntryKind> kinds;
    for (const auto& [p, e] : ReadPartitionEntries(r, cfg.partitions)) {
      kinds.push_back(e.kind);
      if (e.kind == waypoint::core::EntryKind::kSigner) {
        Signer sg;
        ASSERT_TRUE(sg.ParseFromString(e.payload));
        EXPECT_EQ(sg.source(), SIGNER_SOURCE_OFFCHAIN);
        keys.push_back(sg.key().substr(0, 1));
      }
      if (e.kind == waypoint::core::EntryKind::kFidStart) {
        const bool names_keys = e.payload.find("\"app_key\"") != std::string::npos;
        EXPECT_EQ(names_keys, served) << e.payload;
        EXPECT_NE(e.payload.find("\"cast\""), std::string::npos) << e.payload;
      }
      if (e.kind == waypoint::core::EntryKind::kFidDone) {
        EXPECT_EQ(e.payload, served ? "{\"status\":\"ok\",\"messages\":6}" : "{\"status\":\"ok\",\"messages\":2}");
      }
    }
    int calls = 0;
    for (const auto& [method, at] : hub.Calls()) calls += method == "GetSignersByFid";
    if (served) {
      EXPECT_EQ(keys, (std::vector<std::string>{"c", "d", "e", "f"}));
      EXPECT_EQ(calls, 1 + 4);  // the first-use check, then pages of 2, 2, 2 and an empty one
      // The signers come last, just before fid_done.
      ASSERT_GE(kinds.size(), 2u);
      EXPECT_EQ(kinds[kinds.size() - 2], waypoint::core::EntryKind::kSigner);
    } else {
      EXPECT_TRUE(keys.empty());
      EXPECT_EQ(calls, 1);  // asked once, never again
    }
  }
}

// At level signature the in-test node's unsigned messages are refused: written as
// refused entries (the extension's dead letters), and the fid still completes.
TEST(Backfill, SignatureLevelRefusesWhatANodeWouldNotAccept) {
  RedisServer redis;
  HubServer hub;
  hub.num_shards = 1;
  hub.casts_per_fid = {{1, 7}, {5, 3}};
  const std::string addr = hub.Start();
  Config cfg;
  cfg.node_addr = addr;
  cfg.redis_url = redis.url();
  cfg.partitions = 2;
  cfg.page_size = 4;
  cfg.node_rps = 10000;
  cfg.consumer = "test-consumer";
  GlobalVerifier().Configure({waypoint::core::VerifyLevel::kSignature, FARCASTER_NETWORK_MAINNET}, 2);
  Redis r(ParseRedisUrl(redis.url()));
  Reply added = r.Command(
      {"XADD", KeyLayout{}.BackfillJobStream(), "*", "v", "1", "job", "job-1", "fids", "1,5", "types", "cast"});
  Redis::Check(added, "XADD");
  const std::string job_entry(added->str, added->len);
  std::atomic<bool> stop{false};
  Node node(cfg, &stop);
  BackfillWorker w(cfg, &node, &stop);
  std::thread t([&] { w.Run(); });
  const bool acked = WaitFor([&] { return Delivered(r, job_entry) && Pending(r) == 0; }, 15000);
  stop = true;
  t.join();
  GlobalVerifier().Configure({waypoint::core::VerifyLevel::kOff, FARCASTER_NETWORK_MAINNET}, 0);
  ASSERT_TRUE(acked);
  Seen s = ReadAll(r, cfg.partitions);
  EXPECT_TRUE(s.messages.empty());
  EXPECT_EQ(s.refused[1], 7);
  EXPECT_EQ(s.refused[5], 3);
  EXPECT_EQ(s.refused_checks, (std::set<std::string>{"hash_mismatch"}));
  EXPECT_EQ(s.fid_done[1], "{\"status\":\"ok\",\"messages\":7}");
}

TEST(Backfill, AllFidsAndEveryStoreAndAClaimedJob) {
  RedisServer redis;
  HubServer hub;
  hub.num_shards = 2;
  hub.casts_per_fid = {{5, 2}, {6, 1}, {7, 3}};
  const std::string addr = hub.Start();
  Config cfg;
  cfg.node_addr = addr;
  cfg.redis_url = redis.url();
  cfg.partitions = 2;
  cfg.node_rps = 10000;
  cfg.claim_idle_ms = 200;
  cfg.consumer = "alive";
  Redis r(ParseRedisUrl(redis.url()));
  const std::string jobs = KeyLayout{}.BackfillJobStream();
  Redis::Check(r.Command({"XGROUP", "CREATE", jobs, KeyLayout::kBackfillGroup, "0", "MKSTREAM"}), "XGROUP");
  Redis::Check(r.Command({"XADD", jobs, "*", "v", "1", "job", "job-1", "fids", "all", "types", ""}), "XADD");
  // A consumer that died holding the job: it must be claimed once idle.
  Redis::Check(r.Command({"XREADGROUP", "GROUP", KeyLayout::kBackfillGroup, "dead", "STREAMS", jobs, ">"}), "read");
  std::atomic<bool> stop{false};
  Node node(cfg, &stop);
  BackfillWorker w(cfg, &node, &stop);
  std::thread t([&] { w.Run(); });
  const bool acked = WaitFor([&] { return Pending(r) == 0; }, 15000);
  stop = true;
  t.join();
  ASSERT_TRUE(acked);
  Seen s = ReadAll(r, cfg.partitions);
  // Three fids, and the job's channel pass as the fid_done of fid 0: failed, since this
  // node reports no data shard 1 (the fids go on).
  EXPECT_EQ(s.fid_done_count, 4);
  EXPECT_EQ(s.messages[5], 2);
  EXPECT_EQ(s.messages[7], 3);
  for (auto fid : {5, 6, 7}) EXPECT_EQ(s.fid_done[fid].find("\"status\":\"ok\""), 1u) << s.fid_done[fid];
  EXPECT_EQ(s.fid_done[0].find("\"status\":\"failed\""), 1u) << s.fid_done[0];
  EXPECT_NE(s.fid_done[0].find("no data shard 1"), std::string::npos) << s.fid_done[0];
}

// A sidecar in backfill mode alone keeps Redis bounded as the stream mode does: page
// reads pause while the apply groups' backlog is above the high watermark and resume
// below the low one, and what every group acknowledged is trimmed.
TEST(Backfill, BackpressurePausesPageReadsAndAcknowledgedEntriesAreTrimmed) {
  RedisServer redis;
  HubServer hub;
  hub.num_shards = 1;
  hub.casts_per_fid = {{1, 30}, {2, 30}, {3, 30}};
  hub.delay_ms = 20;  // each page read takes a while: the pause comes mid-job
  const std::string addr = hub.Start();
  Config cfg;
  cfg.node_addr = addr;
  cfg.redis_url = redis.url();
  cfg.partitions = 2;
  cfg.page_size = 5;
  cfg.node_rps = 10000;
  cfg.consumer = "test-consumer";
  cfg.backfill_concurrency = 1;
  cfg.high_watermark = 20;
  cfg.low_watermark = 5;
  cfg.backlog_interval_ms = 20;
  cfg.trim_interval_ms = 100;
  Redis r(ParseRedisUrl(redis.url()));
  KeyLayout k;
  for (uint32_t p = 0; p < cfg.partitions; ++p)
    Redis::Check(r.Command({"XGROUP", "CREATE", k.PartitionStream(p), "apply", "0", "MKSTREAM"}), "XGROUP");
  Redis::Check(
      r.Command({"XADD", k.BackfillJobStream(), "*", "v", "1", "job", "job-1", "fids", "1,2,3", "types", "cast"}),
      "XADD");
  std::atomic<bool> stop{false};
  Node node(cfg, &stop);
  BackfillWorker w(cfg, &node, &stop);
  std::thread t([&] { w.Run(); });
  auto backlog = [&] {
    long long n = 0;
    for (uint32_t p = 0; p < cfg.partitions; ++p) n += r.Command({"XLEN", k.PartitionStream(p)})->integer;
    return n;
  };
  // Nothing is applied: the reads pause once the backlog passes the high watermark, and
  // then nothing more is written (90 casts, 3 fid_start and 3 fid_done in all).
  ASSERT_TRUE(WaitFor([&] { return GlobalMetrics().Get("waypoint_sidecar_backfill_paused") == 1; }, 5000));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const long long held = backlog();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(backlog(), held);
  EXPECT_GT(held, 20);
  EXPECT_LT(held, 96);
  // Apply (read + ack) as it comes: the job completes and every acknowledged entry is trimmed.
  long long applied = 0;
  auto drain = [&] {
    for (uint32_t p = 0; p < cfg.partitions; ++p) {
      Reply rd =
          r.Command({"XREADGROUP", "GROUP", "apply", "w", "COUNT", "1000", "STREAMS", k.PartitionStream(p), ">"});
      if (rd->type != REDIS_REPLY_ARRAY) continue;
      const redisReply* entries = rd->element[0]->element[1];
      for (size_t i = 0; i < entries->elements; ++i) {
        r.Command({"XACK", k.PartitionStream(p), "apply", std::string(entries->element[i]->element[0]->str)});
        ++applied;
      }
    }
  };
  ASSERT_TRUE(WaitFor(
      [&] {
        drain();
        return Pending(r) == 0 && applied == 96 && backlog() == 0;
      },
      15000))
      << "applied " << applied << ", left " << backlog();
  stop = true;
  t.join();
  EXPECT_EQ(GlobalMetrics().Get("waypoint_sidecar_backfill_paused"), 0);
  EXPECT_GE(GlobalMetrics().Get("waypoint_sidecar_trimmed_entries_total"), 96);
}
