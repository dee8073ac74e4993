// waypoint-sidecar entry point: configuration, logging, signals, HTTP, and the stream
// and backfill services. SIGTERM/SIGINT: stop reading, flush what was read (with its
// cursor) within shutdown_grace_ms, exit 0.
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
#include "stream.hpp"
#include "waypoint/core/errors.hpp"

using namespace waypoint::sidecar;

namespace {

void DescribeMetrics() {
  auto& m = GlobalMetrics();
  m.Describe("waypoint_sidecar_events_received_total", "counter", "HubEvents read from Subscribe, per shard");
  m.Describe("waypoint_sidecar_events_written_total", "counter", "entries written to partition streams, per shard and src");
  m.Describe("waypoint_sidecar_duplicates_dropped_total", "counter", "events already handed over, dropped");
  m.Describe("waypoint_sidecar_undecodable_total", "counter", "events whose bytes did not parse as HubEvent");
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
  m.Describe("waypoint_sidecar_trimmed_entries_total", "counter", "acknowledged entries trimmed");
  m.Describe("waypoint_sidecar_breaker_open", "gauge", "1 while the node circuit breaker is open");
  m.Describe("waypoint_sidecar_backfill_fids_total", "counter", "fids backfilled, by status");
  m.Describe("waypoint_sidecar_backfill_entries_total", "counter", "backfill entries written");
  m.Describe("waypoint_sidecar_backfill_jobs_total", "counter", "backfill jobs acknowledged");
  m.Describe("waypoint_sidecar_node_errors_total", "counter", "failed node calls, by method");
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
    cfg = LoadConfig(std::vector<std::string>(argv + 1, argv + argc), WaypointEnvironment(), &help);
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
  DescribeMetrics();

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

  int rc = 0;
  try {
    Node node(cfg, &hard_stop);
    std::unique_ptr<StreamService> stream;
    std::atomic<bool> redis_probe{false};

    HttpServer http;
    const int port = http.Start(cfg.metrics_listen, [&](const std::string& path, int* status, std::string* type) {
      if (path == "/metrics") {
        *type = "text/plain; version=0.0.4";
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
        return std::string("{\"ready\":") + (ready ? "true" : "false") + ",\"node\":" + (node_ok ? "true" : "false") +
               ",\"redis\":" + (redis_ok ? "true" : "false") + "}\n";
      }
      *status = 404;
      return std::string("not found\n");
    });
    spdlog::info("metrics and health on {}:{}", cfg.metrics_listen.substr(0, cfg.metrics_listen.rfind(':')), port);

    std::thread probe([&] {
      Redis r(ParseRedisUrl(cfg.redis_url), 2000);
      while (!hard_stop.load()) {
        try {
          redis_probe = r.Command({"PING"})->type == REDIS_REPLY_STATUS;
        } catch (const std::exception&) {
          redis_probe = false;
        }
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
