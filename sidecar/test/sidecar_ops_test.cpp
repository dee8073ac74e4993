// Operating under pressure, against real servers on loopback: the Redis durability guard
// (an evicting Redis is refused, by the real binary), the Redis pool's reuse and health
// figures, the node circuit breaker opening on UNAVAILABLE and closing after recovery,
// the rate limit and concurrency cap under a backfill of many fids (measured at the
// node), a user-data-only refresh, backfill up to a max fid, and the spam-label filter.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "backfill.hpp"
#include "config.hpp"
#include "hub_server.hpp"
#include "metrics.hpp"
#include "spam.hpp"
#include "support.hpp"
#include "waypoint/core/entry.hpp"
#include "waypoint/core/errors.hpp"

using namespace waypoint::sidecar;
using namespace waypoint::sidecar::test;
using waypoint::core::KeyLayout;

namespace {

// A redis-server with extra arguments (the shared RedisServer is noeviction, no persistence).
struct CustomRedis {
  int port = FreePort();
  Process proc;
  explicit CustomRedis(std::vector<std::string> extra) {
    std::vector<std::string> argv = {
        WAYPOINT_REDIS_SERVER, "--port", std::to_string(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly",        "no"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    proc = Process(argv);
    WaitFor(
        [&] {
          try {
            Redis r(ParseRedisUrl(url()), 500);
            return r.Command({"PING"})->type == REDIS_REPLY_STATUS;
          } catch (...) {
            return false;
          }
        },
        5000);
  }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port); }
};

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Waits for a child to exit (signal 0 only waits); returns its status or -1.
int WaitExit(Process& p, int ms) { return p.Signal(0, ms); }

struct Entries {
  std::vector<waypoint::core::StreamEntry> all;
};

Entries ReadEntries(Redis& r, uint32_t partitions) {
  Entries out;
  for (auto& landed : ReadPartitionEntries(r, partitions)) out.all.push_back(std::move(landed.entry));
  return out;
}

Config BackfillConfig(const std::string& node, const std::string& redis) {
  Config cfg;
  cfg.node_addr = node;
  cfg.redis_url = redis;
  cfg.partitions = 4;
  cfg.node_rps = 100000;
  cfg.backoff_base_ms = 10;
  cfg.backoff_max_ms = 50;
  cfg.breaker_failures = 1000;
  cfg.consumer = "ops-test";
  return cfg;
}

}  // namespace

TEST(RedisGuard, EvictingRedisIsRefusedByTheSidecarUnlessOverridden) {
  CustomRedis redis({"--maxmemory", "100mb", "--maxmemory-policy", "allkeys-lru"});
  const std::string log = ::testing::TempDir() + "/ops-guard.log";
  std::remove(log.c_str());
  const std::vector<std::string> base = {WAYPOINT_SIDECAR_BIN, "--mode",      "backfill",  "--node",
                                         "127.0.0.1:1",        "--redis-url", redis.url(), "--metrics-listen",
                                         "127.0.0.1:0"};
  Process refused(base, log);
  const int rc = WaitExit(refused, 10000);
  const std::string text = ReadFile(log);
  EXPECT_EQ(rc, 2) << text;
  EXPECT_NE(text.find("refusing to start"), std::string::npos) << text;
  EXPECT_NE(text.find("maxmemory-policy allkeys-lru"), std::string::npos) << text;

  // Explicit override: it starts, and says what it accepted.
  std::remove(log.c_str());
  std::vector<std::string> allowed = base;
  allowed.push_back("--redis-allow-eviction=true");
  Process ok(allowed, log);
  EXPECT_TRUE(
      WaitFor([&] { return ReadFile(log).find("allowed by redis.allow_eviction") != std::string::npos; }, 10000))
      << ReadFile(log);
  EXPECT_TRUE(ok.Alive());
  EXPECT_EQ(ok.Signal(SIGTERM), 0);
  // Missing persistence is a warning, not a refusal.
  EXPECT_NE(ReadFile(log).find("no persistence"), std::string::npos) << ReadFile(log);
}

TEST(SidecarHttp, EndpointsOfTheRealBinaryAndACleanStop) {
  CustomRedis redis({"--maxmemory-policy", "noeviction"});
  const int http_port = FreePort();
  const std::string log = ::testing::TempDir() + "/ops-http.log";
  std::remove(log.c_str());
  // Mode and listen address from the process environment, as a container passes them.
  Process sidecar({WAYPOINT_SIDECAR_BIN, "--node", "127.0.0.1:1", "--redis-url", redis.url()}, log,
                  {"WAYPOINT_MODE=backfill", "WAYPOINT_METRICS_LISTEN=127.0.0.1:" + std::to_string(http_port)});
  ASSERT_TRUE(WaitFor([&] { return HttpGet(http_port, "/healthz").status == 200; }, 15000)) << ReadFile(log);
  const HttpAnswer health = HttpGet(http_port, "/healthz");
  EXPECT_EQ(health.body, "ok\n");
  EXPECT_EQ(health.headers.at("content-type"), "text/plain; charset=utf-8");
  // Ready once the Redis probe answered; the node (nothing listens there) may have opened
  // its breaker meanwhile, which makes it 503 with node false.
  ASSERT_TRUE(
      WaitFor([&] { return HttpGet(http_port, "/readyz").body.find("\"redis\":true") != std::string::npos; }, 15000));
  const HttpAnswer ready = HttpGet(http_port, "/readyz");
  if (ready.status == 200)
    EXPECT_EQ(ready.body, "{\"ready\":true,\"node\":true,\"redis\":true}\n");
  else
    EXPECT_EQ(ready.body, "{\"ready\":false,\"node\":false,\"redis\":true}\n") << ready.status;
  const HttpAnswer metrics = HttpGet(http_port, "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.headers.at("content-type"), "text/plain; version=0.0.4");
  EXPECT_NE(metrics.body.find("\nprocess_resident_memory_bytes "), std::string::npos);
  EXPECT_NE(metrics.body.find("# TYPE waypoint_sidecar_"), std::string::npos);
  EXPECT_EQ(HttpGet(http_port, "/nope").status, 404);
  EXPECT_NE(ReadFile(log).find("mode=backfill"), std::string::npos) << ReadFile(log);
  EXPECT_EQ(sidecar.Signal(SIGTERM, 15000), 0) << ReadFile(log);
  EXPECT_EQ(HttpGet(http_port, "/healthz").status, 0);  // the port is closed after the stop
}

TEST(RedisGuard, ReadsSettingsThroughInfoWhenConfigIsRenamed) {
  CustomRedis redis({"--maxmemory-policy", "volatile-lru", "--appendonly", "yes", "--rename-command", "CONFIG", ""});
  Redis r(ParseRedisUrl(redis.url()));
  const auto d = ReadDurability(r);
  EXPECT_EQ(d.maxmemory_policy, "volatile-lru");
  EXPECT_EQ(d.aof, 1);
  EXPECT_THROW(CheckDurability(r, "test", false), waypoint::core::Error);
  EXPECT_NO_THROW(CheckDurability(r, "test", true));
  RedisServer plain;  // noeviction, no persistence: accepted
  Redis p(ParseRedisUrl(plain.url()));
  EXPECT_NO_THROW(CheckDurability(p, "test", false));
  const auto pd = ReadDurability(p);
  EXPECT_EQ(pd.maxmemory_policy, "noeviction");
  EXPECT_EQ(pd.aof, 0);
  EXPECT_EQ(pd.rdb, 0);
}

TEST(RedisPool, ReusesConnectionsAndReportsHealth) {
  RedisServer redis;
  Redis admin(ParseRedisUrl(redis.url()));
  auto connections = [&] {
    Reply info = admin.Command({"INFO", "stats"});
    return std::stoll(waypoint::core::InfoField(std::string(info->str, info->len), "total_connections_received"));
  };
  RedisPool pool("ops", ParseRedisUrl(redis.url()), 2, 2000, 200);
  // The counters an alert takes a rate of are there, at 0, before the first wait.
  const std::string rendered = GlobalMetrics().Render();
  EXPECT_NE(rendered.find("waypoint_sidecar_redis_pool_waits_total{pool=\"ops\"} 0"), std::string::npos);
  EXPECT_NE(rendered.find("waypoint_sidecar_redis_pool_timeouts_total{pool=\"ops\"} 0"), std::string::npos);
  const long long before = connections();
  for (int i = 0; i < 200; ++i) {
    auto lease = pool.Acquire();
    ASSERT_EQ(lease->Command({"PING"})->type, REDIS_REPLY_STATUS);
  }
  // 200 operations, one connection: never one per operation.
  EXPECT_EQ(connections() - before, 1);
  auto& m = GlobalMetrics();
  const std::string label = Label("pool", "ops");
  {
    auto a = pool.Acquire();
    auto b = pool.Acquire();
    a->Command({"PING"});
    b->Command({"PING"});
    EXPECT_EQ(pool.in_use(), 2u);
    EXPECT_EQ(m.Get("waypoint_sidecar_redis_pool_in_use", label), 2);
    EXPECT_EQ(m.Get("waypoint_sidecar_redis_pool_idle", label), 0);
    const int64_t t0 = NowMs();
    EXPECT_THROW(pool.Acquire(), waypoint::core::Error);  // exhausted: a transient error
    EXPECT_GE(NowMs() - t0, 190);
    EXPECT_EQ(m.Get("waypoint_sidecar_redis_pool_waits_total", label), 1);
    EXPECT_EQ(m.Get("waypoint_sidecar_redis_pool_timeouts_total", label), 1);
    // A waiter gets the connection a releasing lease gives back.
    std::thread release([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      auto gone = std::move(a);
    });
    auto c = pool.Acquire();
    release.join();
    EXPECT_TRUE(static_cast<bool>(c));
    EXPECT_EQ(m.Get("waypoint_sidecar_redis_pool_waits_total", label), 2);
  }
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(pool.idle(), 2u);
  EXPECT_EQ(m.Get("waypoint_sidecar_redis_pool_idle", label), 2);
  EXPECT_EQ(connections() - before, 2);
}

TEST(NodeBreaker, UnavailableOpensItAndRecoveryClosesIt) {
  HubServer hub;
  const std::string addr = hub.Start();
  Config cfg;
  cfg.node_addr = addr;
  cfg.breaker_failures = 3;
  cfg.breaker_open_ms = 500;
  cfg.node_timeout_ms = 2000;
  std::atomic<bool> stop{false};
  Node node(cfg, &stop);
  const std::string label = Label("dependency", "node");
  GetInfoResponse info;
  ASSERT_TRUE(node.GetInfo(&info).ok());
  EXPECT_EQ(GlobalMetrics().Get("waypoint_sidecar_breaker_state", label), 0);

  hub.unavailable = true;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(node.GetInfo(&info).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(node.breaker().state(NowMs()), CircuitBreaker::State::kOpen);
  EXPECT_EQ(GlobalMetrics().Get("waypoint_sidecar_breaker_state", label), 2);
  EXPECT_GE(GlobalMetrics().Get("waypoint_sidecar_errors_total", label + "," + Label("class", "transient")), 3);

  // While open, nothing reaches the node: a caller waits (here: gives up).
  const size_t calls = hub.Calls().size();
  std::atomic<bool> abort{false};
  std::thread giveup([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    abort = true;
  });
  EXPECT_EQ(node.GetInfo(&info, &abort).error_code(), grpc::StatusCode::CANCELLED);
  giveup.join();
  EXPECT_EQ(hub.Calls().size(), calls);

  // Half-open trial still failing: open again.
  std::this_thread::sleep_for(std::chrono::milliseconds(550));
  EXPECT_EQ(node.breaker().state(NowMs()), CircuitBreaker::State::kHalfOpen);
  EXPECT_EQ(node.GetInfo(&info).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(node.breaker().state(NowMs()), CircuitBreaker::State::kOpen);

  // Recovery: the next trial succeeds and closes it.
  hub.unavailable = false;
  std::this_thread::sleep_for(std::chrono::milliseconds(550));
  node.PublishBreaker();
  EXPECT_EQ(GlobalMetrics().Get("waypoint_sidecar_breaker_state", label), 1);
  EXPECT_TRUE(node.GetInfo(&info).ok());
  EXPECT_EQ(node.breaker().state(NowMs()), CircuitBreaker::State::kClosed);
  EXPECT_EQ(GlobalMetrics().Get("waypoint_sidecar_breaker_state", label), 0);
  EXPECT_GE(GlobalMetrics().Get("waypoint_sidecar_breaker_opened_total", label), 2);
}

TEST(NodeLimits, RateLimitAndConcurrencyCapHoldUnderABackfillOfManyFids) {
  RedisServer redis;
  HubServer hub;
  hub.num_shards = 2;
  const int kFids = 200;
  for (int f = 1; f <= kFids; ++f) {
    hub.casts_per_fid[f] = 1;
    hub.user_data_per_fid[f] = 1;
  }
  hub.delay_ms = 15;  // calls overlap, so the cap is exercised
  Config cfg = BackfillConfig(hub.Start(), redis.url());
  cfg.node_rps = 80;
  cfg.node_max_in_flight = 3;
  cfg.backfill_concurrency = 16;
  std::atomic<bool> stop{false};
  Node node(cfg, &stop);
  BackfillWorker w(cfg, &node, &stop);
  Redis r(ParseRedisUrl(redis.url()));
  Job job;
  job.id = "job-rate";
  job.entry_id = "0-1";
  for (int f = 1; f <= kFids; ++f) job.fids.push_back(f);
  job.types = {"cast", "user_data"};
  const int64_t t0 = NowMs();
  ASSERT_TRUE(w.RunJob(r, job));
  const int64_t elapsed = NowMs() - t0;
  auto calls = hub.Calls();
  std::vector<int64_t> ts;
  for (const auto& [m, t] : calls)
    if (m != "GetInfo") ts.push_back(t);
  ASSERT_EQ(ts.size(), static_cast<size_t>(2 * kFids));
  std::sort(ts.begin(), ts.end());
  // The bucket starts full (burst = one second of rate); after that no 1 s window may
  // hold more than the rate, give or take a few calls whose transit time to the server
  // varied (timestamps are taken at the node, as an operator would measure).
  size_t worst = 0;
  for (size_t i = 0; i < ts.size(); ++i) {
    if (ts[i] < ts.front() + 1000) continue;
    const size_t j = std::upper_bound(ts.begin(), ts.end(), ts[i] + 999) - ts.begin();
    worst = std::max(worst, j - i);
  }
  const double steady_rps = (ts.size() - 80) * 1000.0 / std::max<int64_t>(1, ts.back() - ts.front());
  std::printf(
      "[ figures ] %zu requests in %lld ms: steady %.1f req/s (limit 80), worst 1 s window %zu, "
      "max in flight at the node %d (cap 3)\n",
      ts.size(), static_cast<long long>(elapsed), steady_rps, worst, hub.max_in_flight.load());
  EXPECT_LE(worst, 84u);
  EXPECT_LE(steady_rps, 82.0);
  EXPECT_GE(steady_rps, 60.0);  // and the limit is not far below what was asked
  EXPECT_LE(hub.max_in_flight.load(), 3);
  EXPECT_LE(node.max_in_flight_seen(), 3);
}

TEST(Refresh, UserDataOnlyJobTouchesOnlyUserData) {
  RedisServer redis;
  HubServer hub;
  hub.num_shards = 2;
  hub.casts_per_fid = {{1, 5}, {2, 3}, {3, 0}, {7, 4}};
  hub.user_data_per_fid = {{1, 2}, {2, 1}, {7, 3}};
  Config cfg = BackfillConfig(hub.Start(), redis.url());
  std::atomic<bool> stop{false};
  Node node(cfg, &stop);
  BackfillWorker w(cfg, &node, &stop);
  Redis r(ParseRedisUrl(redis.url()));
  Job job = ParseJob("0-1", {{"v", "1"}, {"job", "profiles"}, {"fids", "1,2,3,7"}, {"types", "user_data"}});
  ASSERT_TRUE(w.RunJob(r, job));
  std::set<std::string> methods;
  for (const auto& [m, t] : hub.Calls()) methods.insert(m);
  EXPECT_EQ(methods, (std::set<std::string>{"GetInfo", "GetAllUserDataMessagesByFid"}));
  int user_data = 0, fid_done = 0;
  for (const auto& e : ReadEntries(r, cfg.partitions).all) {
    if (e.kind == waypoint::core::EntryKind::kFidDone) {
      ++fid_done;
      continue;
    }
    if (e.kind == waypoint::core::EntryKind::kFidStart) continue;  // backfill marker, not data
    ASSERT_EQ(e.kind, waypoint::core::EntryKind::kMessage);
    Message m;
    ASSERT_TRUE(m.ParseFromString(e.payload));
    EXPECT_EQ(m.data().type(), MESSAGE_TYPE_USER_DATA_ADD);
    ++user_data;
  }
  EXPECT_EQ(user_data, 6);
  EXPECT_EQ(fid_done, 4);
}

TEST(ErrorClasses, TransientFidsAreRetriedPermanentOnesAreNot) {
  RedisServer redis;
  HubServer hub;
  hub.casts_per_fid = {{1, 2}, {2, 2}, {3, 2}};
  hub.failing_fids = {2};  // UNAVAILABLE: transient
  hub.invalid_fids = {3};  // INVALID_ARGUMENT: permanent
  Config cfg = BackfillConfig(hub.Start(), redis.url());
  cfg.fid_attempts = 3;
  std::atomic<bool> stop{false};
  Node node(cfg, &stop);
  BackfillWorker w(cfg, &node, &stop);
  Redis r(ParseRedisUrl(redis.url()));
  ASSERT_TRUE(w.RunJob(r, ParseJob("0-1", {{"v", "1"}, {"job", "classes"}, {"fids", "1,2,3"}, {"types", "cast"}})));
  // Calls per fid are not in the log; count them through the method log and the outcomes.
  int cast_calls = 0;
  for (const auto& [m, t] : hub.Calls()) cast_calls += m == "GetAllCastMessagesByFid";
  EXPECT_EQ(cast_calls, 1 + 3 + 1);  // fid 1 once, fid 2 three attempts, fid 3 once
  std::map<uint64_t, std::string> done;
  for (const auto& e : ReadEntries(r, cfg.partitions).all)
    if (e.kind == waypoint::core::EntryKind::kFidDone) done[e.fid] = e.payload;
  EXPECT_EQ(done[1].rfind("{\"status\":\"ok\"", 0), 0u);
  EXPECT_EQ(done[2].rfind("{\"status\":\"failed\"", 0), 0u);
  EXPECT_EQ(done[3].rfind("{\"status\":\"failed\"", 0), 0u) << done[3];
  EXPECT_NE(done[3].find("bad fid"), std::string::npos);
  EXPECT_GE(GlobalMetrics().Get("waypoint_sidecar_errors_total",
                                Label("dependency", "node") + "," + Label("class", "permanent")),
            1);
}

TEST(Backfill, AllFidsUpToAMaximum) {
  RedisServer redis;
  HubServer hub;
  hub.num_shards = 2;
  hub.casts_per_fid = {{1, 1}, {4, 1}, {5, 2}, {6, 1}, {30, 1}};
  Config cfg = BackfillConfig(hub.Start(), redis.url());
  std::atomic<bool> stop{false};
  Node node(cfg, &stop);
  BackfillWorker w(cfg, &node, &stop);
  Redis r(ParseRedisUrl(redis.url()));
  Job job = ParseJob("0-1", {{"v", "1"}, {"job", "upto"}, {"fids", "all"}, {"types", "cast"}, {"max_fid", "5"}});
  EXPECT_EQ(job.max_fid, 5u);
  EXPECT_THROW(ParseJob("0-1", {{"v", "1"}, {"job", "x"}, {"fids", "all"}, {"max_fid", "0"}}), waypoint::core::Error);
  ASSERT_TRUE(w.RunJob(r, job));
  std::set<uint64_t> done;
  for (const auto& e : ReadEntries(r, cfg.partitions).all)
    if (e.kind == waypoint::core::EntryKind::kFidDone) done.insert(e.fid);
  EXPECT_EQ(done, (std::set<uint64_t>{1, 4, 5}));
}

TEST(Spam, LabelsFileFormatAndFilter) {
  std::istringstream in(
      "{\"provider\":9152,\"type\":{\"target\":\"fid\",\"fid\":10},\"label_type\":\"spam\",\"label_value\":0,"
      "\"timestamp\":100}\n"
      "{\"provider\":9152,\"type\":{\"target\":\"fid\",\"fid\":11},\"label_type\":\"spam\",\"label_value\":0,"
      "\"timestamp\":100}\n"
      "{\"provider\":9152,\"type\":{\"target\":\"fid\",\"fid\":11},\"label_type\":\"spam\",\"label_value\":2,"
      "\"timestamp\":200}\n"
      "{\"provider\":9152,\"type\":{\"target\":\"fid\",\"fid\":12},\"label_type\":\"spam\",\"label_value\":1,"
      "\"timestamp\":100}\n"
      "{\"provider\":9152,\"type\":{\"target\":\"fid\",\"fid\":13},\"label_type\":\"spam\",\"label_value\":2,"
      "\"timestamp\":300}\n"
      "{\"provider\":9152,\"type\":{\"target\":\"fid\",\"fid\":13},\"label_type\":\"spam\",\"label_value\":0,"
      "\"timestamp\":301}\n"
      "{\"provider\":9152,\"type\":{\"target\":\"cast\",\"fid\":14},\"label_type\":\"spam\",\"label_value\":0}\n"
      "{\"type\":{\"target\":\"fid\",\"fid\":15},\"label_type\":\"quality\",\"label_value\":0}\n"
      "not json\n"
      "\n");
  SpamFilter f;
  EXPECT_FALSE(f.IsSpam(10));  // inactive until loaded
  const SpamLoadStats st = f.Load(in);
  EXPECT_EQ(st.lines, 9u);
  EXPECT_EQ(st.labels, 6u);
  EXPECT_EQ(st.skipped, 3u);
  EXPECT_TRUE(f.IsSpam(10));
  EXPECT_FALSE(f.IsSpam(11));  // relabelled not spam later
  EXPECT_FALSE(f.IsSpam(12));  // "might be": kept
  EXPECT_TRUE(f.IsSpam(13));
  EXPECT_FALSE(f.IsSpam(14));
  EXPECT_FALSE(f.IsSpam(15));
  EXPECT_EQ(st.spam_fids, 2u);
  EXPECT_THROW(f.LoadFile("/nonexistent/labels.jsonl"), waypoint::core::Error);
}

TEST(Spam, LabelLinesAreReadAsJson) {
  std::istringstream in(
      // Spacing, CRLF, key order, escapes and extra nested fields do not matter.
      "{ \"label_type\" : \"spam\", \"label_value\": 0, \"type\": {\"fid\": 20, \"target\": \"fid\"},"
      " \"note\": \"a \\\"quoted\\\" \\u00e9 {brace}\", \"tags\": [1, {\"x\": [2]}], \"timestamp\": 5}\r\n"
      // Quoted numbers are read as numbers.
      "{\"type\":{\"target\":\"fid\",\"fid\":\"21\"},\"label_type\":\"spam\",\"label_value\":\"0\",\"timestamp\":\"7\"}"
      "\n"
      // Not a value: negative, fractional, a fid too large, a label not an object, truncated.
      "{\"type\":{\"target\":\"fid\",\"fid\":-22},\"label_type\":\"spam\",\"label_value\":0}\n"
      "{\"type\":{\"target\":\"fid\",\"fid\":23},\"label_type\":\"spam\",\"label_value\":0.5}\n"
      "{\"type\":{\"target\":\"fid\",\"fid\":\"123456789012345678901\"},\"label_type\":\"spam\",\"label_value\":0}\n"
      "[{\"type\":{\"target\":\"fid\",\"fid\":24},\"label_type\":\"spam\",\"label_value\":0}]\n"
      "{\"type\":{\"target\":\"fid\",\"fid\":25},\"label_type\":\"spam\",\"label_value\":0\n"
      "{\"type\":\"fid\",\"label_type\":\"spam\",\"label_value\":0}\n"
      // No timestamp: counts as the oldest, so the later-dated label of 21 is not undone.
      "{\"type\":{\"target\":\"fid\",\"fid\":21},\"label_type\":\"spam\",\"label_value\":2}\n");
  SpamFilter f;
  const SpamLoadStats st = f.Load(in);
  EXPECT_EQ(st.lines, 9u);
  EXPECT_EQ(st.labels, 3u);
  EXPECT_EQ(st.skipped, 6u);
  EXPECT_TRUE(f.IsSpam(20));
  EXPECT_TRUE(f.IsSpam(21));
  for (uint64_t fid : {22, 23, 24, 25}) EXPECT_FALSE(f.IsSpam(fid)) << fid;
}

TEST(Spam, FilteredFidsAreNotWrittenButStillReported) {
  RedisServer redis;
  HubServer hub;
  hub.num_shards = 2;
  hub.casts_per_fid = {{1, 3}, {2, 4}};
  Config cfg = BackfillConfig(hub.Start(), redis.url());
  std::istringstream labels(
      "{\"provider\":9152,\"type\":{\"target\":\"fid\",\"fid\":2},\"label_type\":\"spam\",\"label_value\":0,"
      "\"timestamp\":1}\n");
  GlobalSpamFilter().Load(labels);
  std::atomic<bool> stop{false};
  Node node(cfg, &stop);
  BackfillWorker w(cfg, &node, &stop);
  Redis r(ParseRedisUrl(redis.url()));
  Job job = ParseJob("0-1", {{"v", "1"}, {"job", "spam"}, {"fids", "1,2"}, {"types", "cast"}});
  const double before = GlobalMetrics().Get("waypoint_sidecar_spam_filtered_total", Label("src", "backfill"));
  ASSERT_TRUE(w.RunJob(r, job));
  std::istringstream none("");
  GlobalSpamFilter().Load(none);  // filter nothing for the tests that follow
  std::map<uint64_t, int> messages;
  std::map<uint64_t, std::string> done;
  for (const auto& e : ReadEntries(r, cfg.partitions).all) {
    if (e.kind == waypoint::core::EntryKind::kFidDone)
      done[e.fid] = e.payload;
    else if (e.kind == waypoint::core::EntryKind::kMessage)
      messages[e.fid]++;
  }
  EXPECT_EQ(messages[1], 3);
  EXPECT_EQ(messages.count(2), 0u);
  EXPECT_EQ(done[2], "{\"status\":\"ok\",\"messages\":0}");  // the job still completes
  EXPECT_EQ(GlobalMetrics().Get("waypoint_sidecar_spam_filtered_total", Label("src", "backfill")), before + 1);
}

TEST(OpsConfig, PresetsTimeoutsAndAlerts) {
  bool help = false;
  Config high = LoadWith({"--preset", "high"}, {}, &help);
  EXPECT_EQ(high.backfill_concurrency, 16);
  EXPECT_EQ(high.node_rps, 400);
  EXPECT_EQ(high.node_max_in_flight, 32);
  Config mixed = LoadWith({"--preset", "high", "--node-rps", "120"}, {{"WAYPOINT_BACKFILL_CONCURRENCY", "6"}}, &help);
  EXPECT_EQ(mixed.node_rps, 120);  // explicit values win over the preset
  EXPECT_EQ(mixed.backfill_concurrency, 6);
  EXPECT_EQ(mixed.node_max_in_flight, 32);
  Config standard = LoadWith({}, {}, &help);
  EXPECT_EQ(standard.backfill_concurrency, 4);
  EXPECT_EQ(standard.node_max_in_flight, 8);
  EXPECT_THROW(LoadWith({"--preset", "turbo"}, {}, &help), waypoint::core::Error);
  // A command timeout at or below the blocking read time would time out idle reads.
  EXPECT_THROW(LoadWith({"--redis-timeout-ms", "1000"}, {}, &help), waypoint::core::Error);
  EXPECT_NO_THROW(LoadWith({"--redis-timeout-ms", "1500"}, {}, &help));
  EXPECT_THROW(LoadWith({"--alert-backlog-warning", "10", "--alert-backlog-critical", "5"}, {}, &help),
               waypoint::core::Error);
  EXPECT_EQ(waypoint::core::QueueAlertLevel(99, -1, 100, 1000, 10000, 60000), 0);
  EXPECT_EQ(waypoint::core::QueueAlertLevel(100, -1, 100, 1000, 10000, 60000), 1);
  EXPECT_EQ(waypoint::core::QueueAlertLevel(1000, -1, 100, 1000, 10000, 60000), 2);
  EXPECT_EQ(waypoint::core::QueueAlertLevel(0, 10000, 100, 1000, 10000, 60000), 1);
  EXPECT_EQ(waypoint::core::QueueAlertLevel(0, 60000, 100, 1000, 10000, 60000), 2);
  EXPECT_EQ(waypoint::core::QueueAlertLevel(1 << 30, 1 << 30, 0, 0, 0, 0), 0);
}
