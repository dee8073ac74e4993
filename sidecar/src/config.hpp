// Sidecar configuration: one table of options, each reachable as a TOML key, a
// WAYPOINT_* environment variable and a command-line flag. Precedence: flags > env >
// file > defaults. Unknown keys and bad values are errors naming the key (an inert or
// misspelled key is how other tools silently lost settings).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace waypoint::sidecar {

enum class Mode { kStream, kBackfill, kBoth };

// Longest blocking Redis read the sidecar issues (XREADGROUP BLOCK of the backfill job
// consumer). Command timeouts must exceed it, or a healthy idle read would time out.
constexpr int kRedisBlockMs = 1000;

struct Config {
  Mode mode = Mode::kBoth;

  // node
  std::string node_addr = "127.0.0.1:3383";
  bool node_tls = false;
  std::string node_ca_file;  // empty: system roots
  std::string api_key_header;
  std::string api_key;  // never logged
  int node_timeout_ms = 30000;
  int node_max_in_flight = 8;  // concurrent unary calls toward the node (backfill + repair)

  // redis
  std::string redis_url = "redis://127.0.0.1:6379";
  std::string key_prefix = "waypoint";
  uint32_t partitions = 8;
  int redis_timeout_ms = 5000;  // connect and command timeout; > kRedisBlockMs
  size_t redis_pool_size = 8;   // shared connections for short commands
  int redis_pool_wait_ms = 2000;
  bool redis_allow_eviction = false;  // accept a maxmemory-policy other than noeviction

  // stream
  std::vector<uint32_t> shards;  // empty: every data shard from GetInfo
  bool start_from_earliest = true;
  size_t queue_capacity = 20000;
  size_t batch_size = 500;
  uint64_t high_watermark = 500000;
  uint64_t low_watermark = 250000;
  int watchdog_ms = 30000;
  int trim_interval_ms = 10000;
  int backlog_interval_ms = 1000;
  int repair_delay_ms = 2000;

  // retry
  int backoff_base_ms = 100;
  int backoff_max_ms = 30000;
  int breaker_failures = 5;
  int breaker_open_ms = 10000;

  // backfill
  int backfill_concurrency = 4;
  double node_rps = 50;
  uint32_t page_size = 1000;
  int fid_attempts = 4;
  int claim_idle_ms = 60000;
  int progress_interval_ms = 10000;
  std::string consumer;             // empty: <hostname>-<pid>
  std::string preset = "standard";  // standard | high (throughput presets, see --help)

  // queue alerts (0 = off); defaults in docs/operations.md
  int64_t alert_backlog_warning = 250000;
  int64_t alert_backlog_critical = 500000;
  int64_t alert_age_warning_ms = 60000;
  int64_t alert_age_critical_ms = 300000;

  // verification of what the node sends (docs/verification.md)
  std::string verify_level = "signature";  // off | hash | signature | full
  std::string network = "mainnet";         // mainnet | testnet | devnet
  int verify_threads = -1;                 // pool threads; -1 = one per core

  // spam-label filter (off when empty)
  std::string spam_labels_file;

  // http / log / shutdown
  std::string metrics_listen = "127.0.0.1:9102";
  std::string log_level = "info";
  int shutdown_grace_ms = 10000;
};

const char* ModeName(Mode m);

// LoadConfig builds the configuration from (in rising precedence) defaults, the TOML
// file named by --config (or WAYPOINT_CONFIG), the process environment (WAYPOINT_*) and
// the flags. Flags and variables are read with CLI11, the file with toml++.
// `args` excludes argv[0]. Throws core::Error(kConfig) naming the key on any problem.
// Sets *help when --help was given (nothing else is validated then).
Config LoadConfig(const std::vector<std::string>& args, bool* help);

std::string HelpText();

}  // namespace waypoint::sidecar
