// Pure unit tests: configuration precedence and validation, backoff bounds, the circuit
// breaker, the token bucket, Redis URLs, the raw protobuf walker, metric labels, and the
// HTTP server over a real loopback socket.
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
#include "support.hpp"
#include "util.hpp"
#include "waypoint/core/errors.hpp"

using namespace waypoint::sidecar;
using namespace waypoint::sidecar::test;

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
    LoadWith(args, env, &help);
  } catch (const waypoint::core::Error& e) {
    EXPECT_EQ(e.cls(), waypoint::core::ErrorClass::kConfig);
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Config, DefaultsWhenNothingIsGiven) {
  bool help = false;
  Config c = LoadWith({}, {}, &help);
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
  EXPECT_EQ(LoadWith({"--verify", "hash"}, {}, &help).verify_level, "hash");
  EXPECT_EQ(LoadWith({}, {{"WAYPOINT_VERIFY", "off"}}, &help).verify_level, "off");
  EXPECT_EQ(LoadWith({"--network", "testnet"}, {}, &help).network, "testnet");
  EXPECT_NE(ConfigError({"--verify", "strict"}).find("'verify.level': 'strict' is not off, hash, signature or full"),
            std::string::npos);
  EXPECT_EQ(LoadWith({"--verify", "full"}, {}, &help).verify_level, "full");
  EXPECT_NE(ConfigError({"--network", "moon"}).find("verify.network"), std::string::npos);
  EXPECT_NE(HelpText().find("--verify"), std::string::npos);
}

TEST(Config, FlagsBeatEnvironmentBeatFileBeatDefaults) {
  const std::string file = WriteFile(
      "mode = \"stream\"\n[node]\naddr = \"file:1\"\n[redis]\nurl = \"redis://file:1\"\npartitions = 4\n"
      "key_prefix = \"fromfile\"\n[stream]\nshards = [2, 3]\n");
  bool help = false;
  Config c = LoadWith({"--config", file, "--node", "flag:3"},
                      {{"WAYPOINT_NODE_ADDR", "env:2"}, {"WAYPOINT_REDIS_URL", "redis://env:2"}}, &help);
  EXPECT_EQ(c.node_addr, "flag:3");         // flag over env and file
  EXPECT_EQ(c.redis_url, "redis://env:2");  // env over file
  EXPECT_EQ(c.partitions, 4u);              // file over default
  EXPECT_EQ(c.key_prefix, "fromfile");
  EXPECT_EQ(c.mode, Mode::kStream);
  EXPECT_EQ(c.shards, (std::vector<uint32_t>{2, 3}));
  EXPECT_EQ(c.batch_size, Config{}.batch_size);  // default untouched
  // Positional mode and --flag=value form.
  c = LoadWith({"backfill", "--partitions=16", "--tls"}, {}, &help);
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

TEST(Config, EveryKindThroughEverySource) {
  // Each kind of value (bool, integer, list, number, string) from the file, then the
  // environment over it, then a flag over both.
  const std::string file = WriteFile(
      "[node]\ntls = true\nca_file = \"/file.pem\"\n[redis]\npartitions = 4\n[stream]\nshards = [1, 2]\n"
      "[backfill]\nnode_rps = 10.5\n");
  bool help = false;
  Config c = LoadWith({"--config", file}, {}, &help);
  EXPECT_TRUE(c.node_tls);
  EXPECT_EQ(c.partitions, 4u);
  EXPECT_EQ(c.shards, (std::vector<uint32_t>{1, 2}));
  EXPECT_DOUBLE_EQ(c.node_rps, 10.5);
  c = LoadWith(
      {},
      {{"WAYPOINT_CONFIG", file}, {"WAYPOINT_PARTITIONS", "6"}, {"WAYPOINT_SHARDS", "3"}, {"WAYPOINT_NODE_RPS", "20"}},
      &help);
  EXPECT_EQ(c.partitions, 6u);  // the file named by WAYPOINT_CONFIG, the variables over it
  EXPECT_EQ(c.shards, (std::vector<uint32_t>{3}));
  EXPECT_DOUBLE_EQ(c.node_rps, 20);
  EXPECT_TRUE(c.node_tls);
  c = LoadWith({"--partitions", "7", "--shards=4,5", "--node-rps", "30", "--tls=false", "--ca-file", ""},
               {{"WAYPOINT_CONFIG", file}, {"WAYPOINT_PARTITIONS", "6"}, {"WAYPOINT_NODE_TLS", "true"}}, &help);
  EXPECT_EQ(c.partitions, 7u);
  EXPECT_EQ(c.shards, (std::vector<uint32_t>{4, 5}));
  EXPECT_DOUBLE_EQ(c.node_rps, 30);
  EXPECT_FALSE(c.node_tls);  // --tls=false beats the variable and the file
  EXPECT_TRUE(c.node_ca_file.empty());
  // A variable set to "" is a value, as a flag's "" is: here it clears the file's list.
  c = LoadWith({"--config", file}, {{"WAYPOINT_SHARDS", ""}}, &help);
  EXPECT_TRUE(c.shards.empty());
  EXPECT_NE(
      ConfigError({}, {{"WAYPOINT_PARTITIONS", ""}}).find("environment WAYPOINT_PARTITIONS for 'redis.partitions'"),
      std::string::npos);
  unlink(file.c_str());
}

TEST(Config, ErrorsSayWhereTheValueCameFrom) {
  const std::string file = WriteFile("[redis]\npartitions = 0\n");
  EXPECT_NE(ConfigError({"--config", file}).find("config file key 'redis.partitions': '0' is out of range [1, 1024]"),
            std::string::npos);
  EXPECT_NE(ConfigError({}, {{"WAYPOINT_PARTITIONS", "0"}})
                .find("environment WAYPOINT_PARTITIONS for 'redis.partitions': '0' is out of range"),
            std::string::npos);
  // The flag wins, so its value is the one checked (and named), not the variable's.
  EXPECT_NE(ConfigError({"--partitions", "0"}, {{"WAYPOINT_PARTITIONS", "8"}})
                .find("flag --partitions for 'redis.partitions': '0' is out of range"),
            std::string::npos);
  bool help = false;
  EXPECT_EQ(LoadWith({"--partitions", "8"}, {{"WAYPOINT_PARTITIONS", "0"}}, &help).partitions, 8u);
  EXPECT_NE(ConfigError({}, {{"WAYPOINT_NODE_TLS", "maybe"}}).find("'maybe' is not a boolean"), std::string::npos);
  EXPECT_NE(ConfigError({"--tls=maybe"}).find("flag --tls for 'node.tls'"), std::string::npos);
  EXPECT_NE(ConfigError({"--partitions"}).find("--partitions"), std::string::npos);  // no value
  EXPECT_NE(ConfigError({"--bogus=1"}).find("unknown flag '--bogus'"), std::string::npos);
  EXPECT_NE(ConfigError({"sideways"}).find("unexpected argument 'sideways'"), std::string::npos);
  EXPECT_NE(ConfigError({"-x"}).find("unexpected argument '-x'"), std::string::npos);
  EXPECT_NE(ConfigError({"--config", "/nonexistent/waypoint.toml"}).find("config file /nonexistent/waypoint.toml"),
            std::string::npos);
  unlink(file.c_str());
}

TEST(Config, CommandLineOrderRepeatsAndHelp) {
  bool help = false;
  EXPECT_EQ(LoadWith({"stream", "--mode", "both"}, {}, &help).mode, Mode::kBoth);  // the later one wins
  EXPECT_EQ(LoadWith({"--mode", "both", "stream"}, {}, &help).mode, Mode::kStream);
  EXPECT_EQ(LoadWith({"backfill"}, {{"WAYPOINT_MODE", "stream"}}, &help).mode, Mode::kBackfill);
  EXPECT_EQ(LoadWith({"--partitions", "3", "--partitions=5"}, {}, &help).partitions, 5u);
  EXPECT_FALSE(LoadWith({"--tls", "--tls=false"}, {}, &help).node_tls);
  // A negative number is a value, not a flag: the range check names it.
  EXPECT_NE(ConfigError({"--low-watermark", "-5"})
                .find("flag --low-watermark for 'stream.low_watermark': '-5' is out of range"),
            std::string::npos);
}

TEST(Config, HelpIsTheOptionTable) {
  bool help = false;
  LoadWith({"--partitions", "3", "--help"}, {}, &help);
  EXPECT_TRUE(help);
  help = false;
  LoadWith({"-h"}, {{"WAYPOINT_PARTITIONS", "not checked"}}, &help);
  EXPECT_TRUE(help);
  const std::string h = HelpText();
  EXPECT_EQ(h.rfind("waypoint-sidecar: streams Snapchain events", 0), 0u);
  EXPECT_NE(
      h.find(
          "  --tls[=BOOL]\n      use TLS toward the node (default false)\n      key node.tls, env WAYPOINT_NODE_TLS\n"),
      std::string::npos);
  EXPECT_NE(h.find("  --partitions VALUE\n"), std::string::npos);
  EXPECT_NE(h.find("  --config FILE\n      TOML configuration file (env WAYPOINT_CONFIG)\n  --help\n      this text\n\n"
                   "HTTP: GET /metrics"),
            std::string::npos);
  for (auto env : {"WAYPOINT_MODE", "WAYPOINT_METRICS_LISTEN", "WAYPOINT_SHUTDOWN_GRACE_MS", "WAYPOINT_VERIFY_THREADS"})
    EXPECT_NE(h.find(std::string(", env ") + env + "\n"), std::string::npos) << env;
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
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
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

namespace {

// A handler like the sidecar's: a few paths, a status and a content type.
std::string Handle(const std::string& path, int* status, std::string* type) {
  if (path == "/metrics") {
    *type = "text/plain; version=0.0.4";
    return "up 1\n";
  }
  if (path == "/busy") {
    *status = 503;
    return "stopping\n";
  }
  if (path == "/throw") throw std::runtime_error("handler failed");
  *status = 404;
  return "not found\n";
}

}  // namespace

TEST(HttpServer, ServesStatusTypeAndBodyOverLoopback) {
  HttpServer http;
  const int port = http.Start("127.0.0.1:0", Handle);
  ASSERT_GT(port, 0);
  HttpAnswer a = HttpGet(port, "/metrics");
  EXPECT_EQ(a.status, 200) << a.status_line;
  EXPECT_EQ(a.headers["content-type"], "text/plain; version=0.0.4");
  EXPECT_EQ(a.headers["content-length"], "5");
  EXPECT_EQ(a.body, "up 1\n");
  a = HttpGet(port, "/busy");
  EXPECT_EQ(a.status, 503);
  EXPECT_EQ(a.headers["content-type"], "text/plain; charset=utf-8");  // the default type
  EXPECT_EQ(a.body, "stopping\n");
  a = HttpGet(port, "/elsewhere");
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.body, "not found\n");
  a = HttpGet(port, "/throw");
  EXPECT_EQ(a.status, 500);
  EXPECT_EQ(a.body, "handler failed");
  // The query string is not part of the path; any method gets the same answer.
  EXPECT_EQ(HttpGet(port, "/metrics?x=1").body, "up 1\n");
  a = HttpExchange("127.0.0.1", port, "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "up 1\n");
  // HTTP/1.1 with keep-alive asked: one request per connection all the same.
  a = HttpExchange("127.0.0.1", port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.headers["connection"], "close");
  EXPECT_EQ(a.body, "up 1\n");
  // The Docker health check's request and test.
  a = HttpExchange("127.0.0.1", port, "GET /busy HTTP/1.0\r\n\r\n");
  EXPECT_NE(a.status_line.find(" 503"), std::string::npos);
}

TEST(HttpServer, ListensOnTheConfiguredAddressOnly) {
  HttpServer http;
  const int port = http.Start("127.0.0.1:0", Handle);
  EXPECT_EQ(HttpGet(port, "/metrics").status, 200);
  // 127.0.0.2 is loopback too: reachable only if the server had bound every address.
  EXPECT_EQ(HttpGet(port, "/metrics", "127.0.0.2").status, 0);
  // A port in use is refused (no SO_REUSEPORT sharing), naming the option and the reason.
  HttpServer second;
  try {
    second.Start("127.0.0.1:" + std::to_string(port), Handle);
    ADD_FAILURE() << "a second server bound the same port";
  } catch (const waypoint::core::Error& e) {
    EXPECT_EQ(e.cls(), waypoint::core::ErrorClass::kConfig);
    EXPECT_NE(std::string(e.what()).find("http.listen '127.0.0.1:" + std::to_string(port) +
                                         "': cannot listen: Address already in use"),
              std::string::npos)
        << e.what();
  }
  HttpServer named;
  EXPECT_THROW(named.Start("metrics.example:0", Handle), waypoint::core::Error);
  HttpServer local;
  const int local_port = local.Start("localhost:0", Handle);
  EXPECT_EQ(HttpGet(local_port, "/metrics").status, 200);  // localhost is 127.0.0.1
}

TEST(HttpServer, StopsPromptlyAndClosesThePort) {
  auto http = std::make_unique<HttpServer>();
  const int port = http->Start("127.0.0.1:0", Handle);
  ASSERT_EQ(HttpGet(port, "/metrics").status, 200);
  // Clients that never finish a request (one silent, one stuck mid-line) hold their
  // connections: Stop waits for them at most the 2 s timeouts, not httplib's 5 s.
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int idle = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(connect(idle, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const int partial = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(connect(partial, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(send(partial, "GET /met", 8, MSG_NOSIGNAL), 8);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // both accepted by a worker
  const auto t0 = std::chrono::steady_clock::now();
  http->Stop();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(ms, 3000);
  EXPECT_EQ(HttpGet(port, "/metrics").status, 0);  // nothing listens any more
  close(idle);
  close(partial);
  http->Stop();  // twice is harmless
  http.reset();
  // Started and stopped at once (before its accept loop ran) still stops.
  HttpServer quick;
  quick.Start("127.0.0.1:0", Handle);
  quick.Stop();
}
