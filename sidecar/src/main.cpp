// waypoint-sidecar entry point: configuration, logging, signals, HTTP, and the stream
// and backfill services. SIGTERM/SIGINT: stop reading, flush what was read (with its
// cursor) within shutdown_grace_ms, exit 0.
#include <nlohmann/json.hpp>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <iostream>
#include <thread>

#include "backfill.hpp"
#include "config.hpp"
#include "metrics.hpp"
#include "node.hpp"
#include "redis.hpp"
#include "spam.hpp"
#include "stream.hpp"
#include "verifier.hpp"
#include "waypoint/core/errors.hpp"
#include "waypoint/core/routing.hpp"
#include "waypoint/core/verify.hpp"

using namespace waypoint::sidecar;

namespace {

void DescribeMetrics(const Config& cfg) {
  auto& m = GlobalMetrics();
  m.Describe("waypoint_sidecar_events_received_total", "counter", "HubEvents read from Subscribe, per shard");
  m.Describe("waypoint_sidecar_events_written_total", "counter",
             "entries written to partition streams, per shard and src");
  m.Describe("waypoint_sidecar_duplicates_dropped_total", "counter", "events already handed over, dropped");
  m.Describe("waypoint_sidecar_undecodable_total", "counter", "events whose bytes did not parse as HubEvent");
  m.Describe("waypoint_sidecar_verified_total", "counter", "entries verified before they were written, per level");
  m.Describe(
      "waypoint_sidecar_refused_total", "counter",
      "entries refused by verification (written as refused entries, dead letters in the mirror), per check and src");
  m.Describe("waypoint_sidecar_verify_seconds_total", "counter",
             "wall-clock seconds the writers spent verifying, per level");
  m.Describe("waypoint_sidecar_repaired_events_total", "counter", "missing events fetched with GetEvents and written");
  m.Describe("waypoint_sidecar_repair_fetches_total", "counter", "GetEvents repairs started");
  m.Describe("waypoint_sidecar_blocks_total", "counter", "blocks verified and passed by the cursor");
  m.Describe("waypoint_sidecar_flushes_total", "counter", "MULTI/EXEC batches committed");
  m.Describe("waypoint_sidecar_flush_errors_total", "counter", "failed batches (retried)");
  m.Describe("waypoint_sidecar_cursor_event_id", "gauge", "durable cursor per shard");
  m.Describe("waypoint_sidecar_node_head_event_id", "gauge", "latest event id seen per shard");
  m.Describe("waypoint_sidecar_queue_depth", "gauge", "events between reader and writer per shard");
  m.Describe("waypoint_sidecar_subscribed", "gauge", "1 while a Subscribe call is open");
  m.Describe("waypoint_sidecar_subscription_ends_total", "counter", "subscriptions closed, by reason");
  m.Describe("waypoint_sidecar_backlog_entries", "gauge", "unacknowledged entries over all partition streams");
  m.Describe("waypoint_sidecar_paused", "gauge", "1 while backpressure keeps subscriptions closed");
  m.Describe("waypoint_sidecar_backfill_paused", "gauge", "1 while backpressure keeps backfill page reads paused");
  m.Describe("waypoint_sidecar_trimmed_entries_total", "counter", "acknowledged entries trimmed");
  m.Describe("waypoint_sidecar_breaker_open", "gauge", "1 while the node circuit breaker is open");
  m.Describe("waypoint_sidecar_backfill_fids_total", "counter", "fids backfilled, by status");
  m.Describe("waypoint_sidecar_backfill_entries_total", "counter", "backfill entries written");
  m.Describe("waypoint_sidecar_backfill_jobs_total", "counter", "backfill jobs acknowledged");
  m.Describe("waypoint_sidecar_node_errors_total", "counter", "failed node calls, by method");
  m.Describe("waypoint_sidecar_node_requests_total", "counter", "unary calls sent to the node, by method");
  m.Describe("waypoint_sidecar_node_in_flight", "gauge", "unary node calls in flight (capped by node.max_in_flight)");
  m.Describe("waypoint_sidecar_node_rate_limited_total", "counter", "node calls that waited for the rate limit");
  m.Describe("waypoint_sidecar_breaker_state", "gauge",
             "circuit breaker per dependency: 0 closed, 1 half-open, 2 open (redis: 0 up, 2 down)");
  m.Describe("waypoint_sidecar_breaker_opened_total", "counter", "times a breaker opened, per dependency");
  m.Describe("waypoint_sidecar_errors_total", "counter", "errors by dependency and class (transient, permanent)");
  m.Describe("waypoint_sidecar_redis_pool_size", "gauge", "connections a Redis pool may hold");
  m.Describe("waypoint_sidecar_redis_pool_in_use", "gauge", "pooled Redis connections lent out");
  m.Describe("waypoint_sidecar_redis_pool_idle", "gauge", "pooled Redis connections free");
  m.Describe("waypoint_sidecar_redis_pool_waits_total", "counter", "acquisitions that had to wait for a connection");
  m.Describe("waypoint_sidecar_redis_pool_timeouts_total", "counter", "acquisitions that gave up (pool exhausted)");
  m.Describe("waypoint_sidecar_queue_alert_level", "gauge",
             "queue alert per partition stream (and worst, unlabelled): 0 ok, 1 warning, 2 critical");
  m.Describe("waypoint_sidecar_queue_alert_transitions_total", "counter", "queue alert level changes, by new level");
  m.Describe("waypoint_sidecar_oldest_pending_age_seconds", "gauge", "age of the oldest unacknowledged entry");
  m.Describe("waypoint_sidecar_groups_recreated_total", "counter", "consumer groups recreated after a deletion");
  m.Describe("waypoint_sidecar_spam_filtered_total", "counter", "entries not written because of a spam label, by src");
  m.Describe("waypoint_sidecar_spam_labelled_fids", "gauge", "fids filtered by the spam-label file");
  m.Describe("waypoint_sidecar_backlog_high_watermark", "gauge", "backlog above which subscriptions are closed");
  m.Describe("waypoint_sidecar_backlog_low_watermark", "gauge", "backlog under which subscriptions resume");
  m.Describe("process_resident_memory_bytes", "gauge", "resident memory of the sidecar process");
  // Counters an alert takes a rate of exist from the start (at 0), so the first error counts.
  for (const char* cls : {"transient", "permanent"})
    m.Add("waypoint_sidecar_errors_total", Label("dependency", "node") + "," + Label("class", cls), 0);
  m.Add("waypoint_sidecar_errors_total", Label("dependency", "redis") + "," + Label("class", "transient"), 0);
  m.Add("waypoint_sidecar_breaker_opened_total", Label("dependency", "redis"), 0);
  if (cfg.mode != Mode::kBackfill) {
    m.Set("waypoint_sidecar_backlog_high_watermark", "", static_cast<double>(cfg.high_watermark));
    m.Set("waypoint_sidecar_backlog_low_watermark", "", static_cast<double>(cfg.low_watermark));
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Signals are taken by one thread with sigwait; every other thread inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  Config cfg;
  try {
    bool help = false;
    cfg = LoadConfig(std::vector<std::string>(argv + 1, argv + argc), &help);
    if (help) {
      std::cout << HelpText();
      return 0;
    }
  } catch (const std::exception& e) {
    std::cerr << "waypoint-sidecar: configuration error: " << e.what() << "\n";
    return 2;
  }

  auto logger = spdlog::stderr_color_mt("sidecar");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  spdlog::flush_on(spdlog::level::warn);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l [%t] %v");
  // Never log the API key or the Redis password.
  spdlog::info("starting: mode={} node={} tls={} redis={} prefix={} partitions={}", ModeName(cfg.mode), cfg.node_addr,
               cfg.node_tls, ParseRedisUrl(cfg.redis_url).Redacted(), cfg.key_prefix, cfg.partitions);
  DescribeMetrics(cfg);

  std::atomic<bool> stop{false}, hard_stop{false};
  std::thread signals([&] {
    int sig = 0;
    sigwait(&set, &sig);
    spdlog::info("signal {}: stopping (flushing what was read)", sig);
    stop = true;
    SleepFor(cfg.shutdown_grace_ms, hard_stop);
    hard_stop = true;
  });
  signals.detach();

  if (!cfg.spam_labels_file.empty()) {
    try {
      const SpamLoadStats st = GlobalSpamFilter().LoadFile(cfg.spam_labels_file);
      spdlog::info("spam-label filter on: {} label(s) in {} line(s) ({} skipped), {} fid(s) filtered", st.labels,
                   st.lines, st.skipped, st.spam_fids);
      GlobalMetrics().Set("waypoint_sidecar_spam_labelled_fids", "", static_cast<double>(st.spam_fids));
    } catch (const std::exception& e) {
      spdlog::error("configuration error: {}", e.what());
      spdlog::shutdown();
      return 2;
    }
  }

  {
    waypoint::core::VerifyOptions v;
    v.level = *waypoint::core::ParseVerifyLevel(cfg.verify_level);
    v.network = *waypoint::core::ParseNetwork(cfg.network);  // validated by LoadConfig
    const unsigned threads = cfg.verify_threads >= 0 ? static_cast<unsigned>(cfg.verify_threads)
                                                     : std::max(1u, std::thread::hardware_concurrency());
    GlobalVerifier().Configure(v, v.level == waypoint::core::VerifyLevel::kOff ? 0 : threads);
    spdlog::info("verification: {} (network {}, {} thread(s) besides the writers)", cfg.verify_level, cfg.network,
                 v.level == waypoint::core::VerifyLevel::kOff ? 0 : threads);
  }

  // Durability guard: wait for Redis, then refuse a server that may evict the streams.
  {
    Redis r(ParseRedisUrl(cfg.redis_url), cfg.redis_timeout_ms);
    Backoff bo(cfg.backoff_base_ms, cfg.backoff_max_ms);
    bool logged = false;
    while (!stop.load()) {
      try {
        CheckDurability(r, ParseRedisUrl(cfg.redis_url).Redacted(), cfg.redis_allow_eviction);
        break;
      } catch (const waypoint::core::Error& e) {
        if (e.cls() == waypoint::core::ErrorClass::kConfig) {
          spdlog::error("refusing to start: {}", e.what());
          spdlog::shutdown();
          return 2;
        }
        if (!logged) spdlog::warn("waiting for Redis: {}", e.what());
        logged = true;
        SleepFor(bo.Next(), stop);
      }
    }
  }

  int rc = 0;
  try {
    Node node(cfg, &hard_stop);
    std::unique_ptr<StreamService> stream;
    std::atomic<bool> redis_probe{false};

    HttpServer http;
    const int port = http.Start(cfg.metrics_listen, [&](const std::string& path, int* status, std::string* type) {
      if (path == "/metrics") {
        *type = "text/plain; version=0.0.4";
        GlobalMetrics().Set("process_resident_memory_bytes", "", ResidentMemoryBytes());
        return GlobalMetrics().Render();
      }
      if (path == "/healthz") {
        *status = stop ? 503 : 200;
        return std::string(stop ? "stopping\n" : "ok\n");
      }
      if (path == "/readyz") {
        const bool node_ok = node.breaker().state(NowMs()) != CircuitBreaker::State::kOpen;
        const bool redis_ok = redis_probe.load();
        const bool ready = !stop && node_ok && redis_ok;
        *status = ready ? 200 : 503;
        nlohmann::ordered_json j;  // ordered: {"ready":...,"node":...,"redis":...} as always
        j["ready"] = ready;
        j["node"] = node_ok;
        j["redis"] = redis_ok;
        return j.dump() + "\n";
      }
      *status = 404;
      return std::string("not found\n");
    });
    spdlog::info("metrics and health on {}:{}", cfg.metrics_listen.substr(0, cfg.metrics_listen.rfind(':')), port);

    std::thread probe([&] {
      // One long-lived connection: PING, and the health hash the extension shows in
      // waypoint.sync_status (breaker states of the sidecar's dependencies).
      Redis r(ParseRedisUrl(cfg.redis_url), cfg.redis_timeout_ms);
      waypoint::core::KeyLayout keys;
      keys.prefix = cfg.key_prefix;
      const std::string health = keys.SidecarHealthKey();
      bool was_up = true;
      while (!hard_stop.load()) {
        node.PublishBreaker();
        const char* node_state = BreakerStateName(node.breaker().state(NowMs()));
        try {
          auto rep = r.Pipeline(
              {{"PING"},
               {"HSET", health, "node_breaker", node_state, "redis", "closed", "consumer", cfg.consumer, "mode",
                ModeName(cfg.mode), "verify", cfg.verify_level, "updated_ms", std::to_string(WallMs())}});
          redis_probe = rep[0]->type == REDIS_REPLY_STATUS;
        } catch (const std::exception& e) {
          redis_probe = false;
          GlobalMetrics().Add("waypoint_sidecar_errors_total",
                              Label("dependency", "redis") + "," + Label("class", "transient"));
        }
        const bool up = redis_probe.load();
        GlobalMetrics().Set("waypoint_sidecar_breaker_state", Label("dependency", "redis"), up ? 0 : 2);
        if (up != was_up) {
          if (up)
            spdlog::info("Redis reachable again");
          else
            spdlog::warn("Redis unreachable (writes retry with capped exponential backoff and jitter)");
          if (!up) GlobalMetrics().Add("waypoint_sidecar_breaker_opened_total", Label("dependency", "redis"));
        }
        was_up = up;
        SleepFor(1000, stop);
        if (stop) break;
      }
    });

    std::thread backfill;
    if (cfg.mode != Mode::kStream) {
      backfill = std::thread([&] {
        BackfillWorker w(cfg, &node, &stop);
        w.Run();
      });
    }
    if (cfg.mode != Mode::kBackfill) {
      stream = std::make_unique<StreamService>(cfg, &node, &stop, &hard_stop);
      stream->Start();
      stream->Join();
    }
    if (backfill.joinable()) backfill.join();
    probe.join();
    http.Stop();
  } catch (const std::exception& e) {
    spdlog::error("fatal: {}", e.what());
    rc = 1;
  }
  spdlog::info("stopped");
  spdlog::shutdown();
  return rc;
}
