// Pure unit tests: configuration precedence and validation, backoff bounds, the circuit
// breaker, the token bucket, Redis URLs, the raw protobuf walker, metric labels.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <set>

#include "config.hpp"
#include "metrics.hpp"
#include "node.hpp"
#include "redis.hpp"
#include "util.hpp"
#include "waypoint/core/errors.hpp"

using namespace waypoint::sidecar;

namespace {

std::string WriteFile(const std::string& text) {
  char path[] = "/tmp/waypoint-sidecar-cfg-XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

std::string ConfigError(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {}) {
  bool help = false;
  try {
    LoadConfig(args, env, &help);
  } catch (const waypoint::core::Error& e) {
    EXPECT_EQ(e.cls(), waypoint::core::ErrorClass::kConfig);
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Config, DefaultsWhenNothingIsGiven) {
  bool help = false;
  Config c = LoadConfig({}, {}, &help);
  EXPECT_EQ(c.mode, Mode::kBoth);
  EXPECT_EQ(c.partitions, 8u);
  EXPECT_EQ(c.key_prefix, "waypoint");
  EXPECT_EQ(c.metrics_listen, "127.0.0.1:9102");
  EXPECT_TRUE(c.shards.empty());
  EXPECT_EQ(c.verify_level, "signature");
  EXPECT_EQ(c.network, "mainnet");
}

TEST(Config, VerificationLevels) {
  bool help = false;
  EXPECT_EQ(LoadConfig({"--verify", "hash"}, {}, &help).verify_level, "hash");
  EXPECT_EQ(LoadConfig({}, {{"WAYPOINT_VERIFY", "off"}}, &help).verify_level, "off");
  EXPECT_EQ(LoadConfig({"--network", "testnet"}, {}, &help).network, "testnet");
  EXPECT_NE(ConfigError({"--verify", "strict"}).find("'verify.level': 'strict' is not off, hash, signature or full"),
            std::string::npos);
  EXPECT_EQ(LoadConfig({"--verify", "full"}, {}, &help).verify_level, "full");
  EXPECT_NE(ConfigError({"--network", "moon"}).find("verify.network"), std::string::npos);
  EXPECT_NE(HelpText().find("--verify"), std::string::npos);
}

TEST(Config, FlagsBeatEnvironmentBeatFileBeatDefaults) {
  const std::string file = WriteFile(
      "mode = \"stream\"\n[node]\naddr = \"file:1\"\n[redis]\nurl = \"redis://file:1\"\npartitions = 4\n"
      "key_prefix = \"fromfile\"\n[stream]\nshards = [2, 3]\n");
  bool help = false;
  Config c = LoadConfig({"--config", file, "--node", "flag:3"},
                        {{"WAYPOINT_NODE_ADDR", "env:2"}, {"WAYPOINT_REDIS_URL", "redis://env:2"}}, &help);
  EXPECT_EQ(c.node_addr, "flag:3");              // flag over env and file
  EXPECT_EQ(c.redis_url, "redis://env:2");       // env over file
  EXPECT_EQ(c.partitions, 4u);                   // file over default
  EXPECT_EQ(c.key_prefix, "fromfile");
  EXPECT_EQ(c.mode, Mode::kStream);
  EXPECT_EQ(c.shards, (std::vector<uint32_t>{2, 3}));
  EXPECT_EQ(c.batch_size, Config{}.batch_size);  // default untouched
  // Positional mode and --flag=value form.
  c = LoadConfig({"backfill", "--partitions=16", "--tls"}, {}, &help);
  EXPECT_EQ(c.mode, Mode::kBackfill);
  EXPECT_EQ(c.partitions, 16u);
  EXPECT_TRUE(c.node_tls);
  unlink(file.c_str());
}

TEST(Config, ErrorsNameTheKeyAndTheProblem) {
  const std::string unknown = WriteFile("[redis]\nurll = \"x\"\n");
  EXPECT_NE(ConfigError({"--config", unknown}).find("unknown key 'redis.urll'"), std::string::npos);
  const std::string wrong_type = WriteFile("[redis]\npartitions = \"eight\"\n");
  EXPECT_NE(ConfigError({"--config", wrong_type}).find("redis.partitions"), std::string::npos);
  EXPECT_NE(ConfigError({"--partitions", "0"}).find("'redis.partitions': '0' is out of range"), std::string::npos);
  EXPECT_NE(ConfigError({}, {{"WAYPOINT_PARTITON", "8"}}).find("unknown variable WAYPOINT_PARTITON"),
            std::string::npos);
  EXPECT_NE(ConfigError({}, {{"WAYPOINT_WATCHDOG_MS", "soon"}}).find("stream.watchdog_ms"), std::string::npos);
  EXPECT_NE(ConfigError({"--redis-url", "http://x"}).find("redis.url"), std::string::npos);
  EXPECT_NE(ConfigError({"--mode", "sideways"}).find("'mode'"), std::string::npos);
  EXPECT_NE(ConfigError({"--high-watermark", "10", "--low-watermark", "20"}).find("stream.low_watermark"),
            std::string::npos);
  EXPECT_NE(ConfigError({"--api-key-header", "x-api-key"}).find("node.api_key"), std::string::npos);
  EXPECT_NE(ConfigError({"--bogus"}).find("unknown flag '--bogus'"), std::string::npos);
  const std::string broken = WriteFile("[node\naddr=1\n");
  EXPECT_NE(ConfigError({"--config", broken}).find("line"), std::string::npos);
  // A password in a bad URL is never echoed.
  const std::string e = ConfigError({"--redis-url", "redis://:s3cret@host:notaport"});
  EXPECT_EQ(e.find("s3cret"), std::string::npos);
  for (auto f : {unknown, wrong_type, broken}) unlink(f.c_str());
}

TEST(Config, HelpListsEveryOption) {
  const std::string h = HelpText();
  for (auto key : {"node.addr", "node.tls", "node.ca_file", "node.api_key_header", "redis.url", "redis.key_prefix",
                   "redis.partitions", "stream.shards", "stream.high_watermark", "stream.low_watermark",
                   "stream.watchdog_ms", "retry.backoff_base_ms", "retry.breaker_failures", "backfill.concurrency",
                   "backfill.node_rps", "http.listen", "WAYPOINT_API_KEY"})
    EXPECT_NE(h.find(key), std::string::npos) << key;
  EXPECT_NE(h.find("TLS"), std::string::npos);
}

TEST(RedisUrl, ParsesPasswordUserPortAndDb) {
  auto u = ParseRedisUrl("redis://:pw@10.0.0.1:6380/3");
  EXPECT_EQ(u.host, "10.0.0.1");
  EXPECT_EQ(u.port, 6380);
  EXPECT_EQ(u.password, "pw");
  EXPECT_EQ(u.db, 3);
  u = ParseRedisUrl("redis://alice:pw@h");
  EXPECT_EQ(u.user, "alice");
  EXPECT_EQ(u.port, 6379);
  EXPECT_EQ(u.Redacted().find("pw"), std::string::npos);
  EXPECT_THROW(ParseRedisUrl("rediss://h:1"), waypoint::core::Error);
  EXPECT_THROW(ParseRedisUrl("redis://h:0"), waypoint::core::Error);
  EXPECT_THROW(ParseRedisUrl("redis://h:1/x"), waypoint::core::Error);
  // Core's rule, the extension's too (test/unit/redis_url_test.cpp has every case).
  EXPECT_THROW(ParseRedisUrl("redis://secret@h"), waypoint::core::Error);
  EXPECT_EQ(ParseRedisUrl("redis://:p%40ss@h").password, "p@ss");
}

TEST(CircuitBreaker, OpensHalfOpensAndCloses) {
  CircuitBreaker b(3, 1000);
  EXPECT_TRUE(b.Allow(0));
  b.Failure(0);
  b.Failure(0);
  EXPECT_EQ(b.state(0), CircuitBreaker::State::kClosed);
  b.Failure(10);
  EXPECT_EQ(b.state(10), CircuitBreaker::State::kOpen);
  EXPECT_FALSE(b.Allow(500));
  EXPECT_TRUE(b.Allow(1010));   // half-open: one trial
  EXPECT_FALSE(b.Allow(1011));  // only one at a time
  b.Failure(1020);              // the trial failed: open again
  EXPECT_FALSE(b.Allow(1500));
  EXPECT_TRUE(b.Allow(2020));
  b.Success();
  EXPECT_EQ(b.state(2021), CircuitBreaker::State::kClosed);
  EXPECT_TRUE(b.Allow(2021));
  EXPECT_TRUE(b.Allow(2021));
}

TEST(TokenBucket, LimitsTheRate) {
  TokenBucket t(10, 2);  // 10/s, burst 2
  const int64_t t0 = NowMs();
  EXPECT_TRUE(t.TryAcquire(t0));
  EXPECT_TRUE(t.TryAcquire(t0));
  EXPECT_FALSE(t.TryAcquire(t0));
  EXPECT_GT(t.WaitMs(t0), 0);
  EXPECT_TRUE(t.TryAcquire(t0 + 100));  // one token per 100 ms
  EXPECT_FALSE(t.TryAcquire(t0 + 100));
  // Blocking acquire of 12 tokens at 20/s with burst 2 takes about 500 ms.
  TokenBucket u(20, 2);
  std::atomic<bool> stop{false};
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(u.Acquire(stop));
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(ms, 450);
  EXPECT_LE(ms, 1500);
  stop = true;
  TokenBucket empty(0.1, 1);
  empty.TryAcquire(NowMs());
  EXPECT_FALSE(empty.Acquire(stop));  // stop interrupts the wait
}

TEST(Wire, RepeatedBytesCutsFieldsWithoutReserializing) {
  MessagesResponse resp;
  Message* m = resp.add_messages();
  m->set_hash(std::string("\x01\x02", 2));
  m->mutable_data()->set_fid(7);
  resp.add_messages()->set_hash("second");
  resp.set_next_page_token("tok");
  const std::string raw = resp.SerializeAsString();
  std::vector<std::string> items;
  std::string token;
  ASSERT_TRUE(RepeatedBytes(raw, 1, &items, &token, 2));
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0], resp.messages(0).SerializeAsString());
  EXPECT_EQ(token, "tok");
  items.clear();
  EXPECT_FALSE(RepeatedBytes(raw.substr(0, raw.size() - 2), 1, &items, &token, 2));  // truncated
}

TEST(Events, FidOfUsernameProofFallsBackToTheDeletedProof) {
  HubEvent e;
  e.set_type(HUB_EVENT_TYPE_MERGE_USERNAME_PROOF);
  e.mutable_merge_username_proof_body()->mutable_username_proof()->set_fid(0);
  e.mutable_merge_username_proof_body()->mutable_deleted_username_proof()->set_fid(42);
  EXPECT_EQ(FidOfEvent(e), 42u);
  HubEvent m;
  m.mutable_merge_message_body()->mutable_message()->mutable_data()->set_fid(9);
  EXPECT_EQ(FidOfEvent(m), 9u);
  EXPECT_FALSE(InspectEvent("\xff\xff\xff").decoded);
}

TEST(Metrics, ResidentMemoryIsThisProcess) {
  // process_resident_memory_bytes: a test binary holds at least a megabyte, far below 4 GB.
  const double rss = ResidentMemoryBytes();
  EXPECT_GT(rss, 1e6);
  EXPECT_LT(rss, 4e9);
}

TEST(Metrics, LabelValuesAreEscaped) {
  // Text exposition format: backslash, double quote and line feed are escaped in label
  // values; nothing else is.
  EXPECT_EQ(Label("shard", 1), "shard=\"1\"");
  EXPECT_EQ(Label("error", "a\\b"), "error=\"a\\\\b\"");
  EXPECT_EQ(Label("error", "say \"hi\""), "error=\"say \\\"hi\\\"\"");
  EXPECT_EQ(Label("error", "line1\nline2"), "error=\"line1\\nline2\"");
  EXPECT_EQ(Label("error", "\\\"\n"), "error=\"\\\\\\\"\\n\"");
  EXPECT_EQ(Label("pool", "tab\there, {braces}=ok"), "pool=\"tab\there, {braces}=ok\"");
  // A rendered series stays on one line whatever the value holds.
  Metrics m;
  m.Describe("t_total", "counter", "test");
  m.Add("t_total", Label("method", "Get\"Fids\"\n") + "," + Label("class", "x"), 2);
  const std::string text = m.Render();
  EXPECT_NE(text.find("t_total{method=\"Get\\\"Fids\\\"\\n\",class=\"x\"} 2"), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3) << text;
}
