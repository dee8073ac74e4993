#include "config.hpp"

#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <functional>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include <CLI/CLI.hpp>

#include "redis.hpp"
#include "waypoint/core/errors.hpp"
#include "waypoint/core/verify.hpp"

extern char** environ;

namespace waypoint::sidecar {
namespace {

using core::Error;
using core::ErrorClass;

enum class Kind { kString, kInt, kBool, kList, kDouble };

struct Option {
  const char* key;   // TOML key, dotted
  const char* env;   // environment variable
  const char* flag;  // command-line flag without "--"
  Kind kind;
  const char* help;
  std::function<void(Config&, const std::string&)> set;
};

[[noreturn]] void Bad(const std::string& where, const std::string& what) {
  throw Error(ErrorClass::kConfig, where + ": " + what);
}

int64_t ParseInt(const std::string& where, const std::string& v, int64_t lo, int64_t hi) {
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size()) Bad(where, "'" + v + "' is not an integer");
  if (out < lo || out > hi)
    Bad(where, "'" + v + "' is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return out;
}

double ParseDouble(const std::string& where, const std::string& v, double lo, double hi) {
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (v.empty() || end != v.c_str() + v.size()) Bad(where, "'" + v + "' is not a number");
  if (d < lo || d > hi) Bad(where, "'" + v + "' is out of range");
  return d;
}

bool ParseBool(const std::string& where, const std::string& v) {
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  Bad(where, "'" + v + "' is not a boolean (true/false)");
}

void CheckListen(const std::string& where, const std::string& v) {
  const auto colon = v.rfind(':');
  if (colon == std::string::npos || colon == 0) Bad(where, "'" + v + "' is not host:port");
  ParseInt(where, v.substr(colon + 1), 0, 65535);
}

// `where` is filled in by the caller: "<source> key" so messages say where a value came from.
std::vector<Option> Options() {
  auto int_opt = [](auto member, int64_t lo, int64_t hi) {
    return [member, lo, hi](Config& c, const std::string& v) {
      using T = std::remove_reference_t<decltype(c.*member)>;
      c.*member = static_cast<T>(ParseInt("", v, lo, hi));
    };
  };
  return {
      {"mode", "WAYPOINT_MODE", "mode", Kind::kString, "stream | backfill | both (default both)",
       [](Config& c, const std::string& v) {
         if (v == "stream")
           c.mode = Mode::kStream;
         else if (v == "backfill")
           c.mode = Mode::kBackfill;
         else if (v == "both")
           c.mode = Mode::kBoth;
         else
           Bad("", "'" + v + "' is not one of stream, backfill, both");
       }},
      {"node.addr", "WAYPOINT_NODE_ADDR", "node", Kind::kString, "Snapchain node gRPC address host:port",
       [](Config& c, const std::string& v) {
         CheckListen("", v);
         c.node_addr = v;
       }},
      {"node.tls", "WAYPOINT_NODE_TLS", "tls", Kind::kBool, "use TLS toward the node (default false)",
       [](Config& c, const std::string& v) { c.node_tls = ParseBool("", v); }},
      {"node.ca_file", "WAYPOINT_NODE_CA_FILE", "ca-file", Kind::kString,
       "PEM file of CA roots for TLS (default: system roots)",
       [](Config& c, const std::string& v) { c.node_ca_file = v; }},
      {"node.api_key_header", "WAYPOINT_API_KEY_HEADER", "api-key-header", Kind::kString,
       "metadata header carrying the API key, e.g. x-api-key",
       [](Config& c, const std::string& v) {
         for (char ch : v)
           if (!(std::islower(static_cast<unsigned char>(ch)) || std::isdigit(static_cast<unsigned char>(ch)) ||
                 ch == '-' || ch == '_' || ch == '.'))
             Bad("", "header names must be lowercase letters, digits, '-', '_' or '.'");
         c.api_key_header = v;
       }},
      {"node.api_key", "WAYPOINT_API_KEY", "api-key", Kind::kString,
       "API key value (prefer the environment: flags show in ps); never logged",
       [](Config& c, const std::string& v) { c.api_key = v; }},
      {"node.timeout_ms", "WAYPOINT_NODE_TIMEOUT_MS", "node-timeout-ms", Kind::kInt,
       "deadline of unary node calls (default 30000)", int_opt(&Config::node_timeout_ms, 100, 3600000)},
      {"node.max_in_flight", "WAYPOINT_NODE_MAX_IN_FLIGHT", "node-max-in-flight", Kind::kInt,
       "concurrent unary calls toward the node, shared by backfill and repair (default 8)",
       int_opt(&Config::node_max_in_flight, 1, 1024)},
      {"redis.url", "WAYPOINT_REDIS_URL", "redis-url", Kind::kString,
       "redis://[[user]:password@]host:port[/db] (no TLS: hiredis 0.14 has none)",
       [](Config& c, const std::string& v) {
         ParseRedisUrl(v);
         c.redis_url = v;
       }},
      {"redis.key_prefix", "WAYPOINT_KEY_PREFIX", "key-prefix", Kind::kString, "Redis key prefix (default waypoint)",
       [](Config& c, const std::string& v) {
         if (v.empty() || v.find_first_of(" {}") != std::string::npos)
           Bad("", "must be non-empty without spaces or braces");
         c.key_prefix = v;
       }},
      {"redis.partitions", "WAYPOINT_PARTITIONS", "partitions", Kind::kInt,
       "partition streams P (fid mod P); must equal the extension's waypoint.partitions (default 8)",
       int_opt(&Config::partitions, 1, 1024)},
      {"redis.timeout_ms", "WAYPOINT_REDIS_TIMEOUT_MS", "redis-timeout-ms", Kind::kInt,
       "Redis connect and command timeout; must exceed the 1000 ms blocking read (default 5000)",
       int_opt(&Config::redis_timeout_ms, 100, 600000)},
      {"redis.pool_size", "WAYPOINT_REDIS_POOL_SIZE", "redis-pool-size", Kind::kInt,
       "long-lived Redis connections shared by concurrent short commands (default 8; blocking reads "
       "and stream writers keep their own)",
       int_opt(&Config::redis_pool_size, 1, 1024)},
      {"redis.pool_wait_ms", "WAYPOINT_REDIS_POOL_WAIT_MS", "redis-pool-wait-ms", Kind::kInt,
       "how long work waits for a free pooled connection before failing as 'pool exhausted' (default 2000)",
       int_opt(&Config::redis_pool_wait_ms, 1, 600000)},
      {"redis.allow_eviction", "WAYPOINT_REDIS_ALLOW_EVICTION", "redis-allow-eviction", Kind::kBool,
       "start even when Redis' maxmemory-policy can evict keys (default false: refused, entries could be lost)",
       [](Config& c, const std::string& v) { c.redis_allow_eviction = ParseBool("", v); }},
      {"stream.shards", "WAYPOINT_SHARDS", "shards", Kind::kList,
       "data shards to stream, comma-separated (default: every data shard from GetInfo)",
       [](Config& c, const std::string& v) {
         c.shards.clear();
         std::stringstream ss(v);
         std::string item;
         while (std::getline(ss, item, ','))
           if (!item.empty()) c.shards.push_back(static_cast<uint32_t>(ParseInt("", item, 1, 1024)));
       }},
      {"stream.start_from", "WAYPOINT_START_FROM", "start-from", Kind::kString,
       "without a cursor: earliest (replay the node's retained log) or latest (live only); default earliest",
       [](Config& c, const std::string& v) {
         if (v == "earliest")
           c.start_from_earliest = true;
         else if (v == "latest")
           c.start_from_earliest = false;
         else
           Bad("", "'" + v + "' is not earliest or latest");
       }},
      {"stream.queue_capacity", "WAYPOINT_QUEUE_CAPACITY", "queue-capacity", Kind::kInt,
       "events buffered per shard between the gRPC reader and the Redis writer (default 20000)",
       int_opt(&Config::queue_capacity, 16, 10000000)},
      {"stream.batch_size", "WAYPOINT_BATCH_SIZE", "batch-size", Kind::kInt,
       "events per MULTI/EXEC flush (default 500)", int_opt(&Config::batch_size, 1, 100000)},
      {"stream.high_watermark", "WAYPOINT_HIGH_WATERMARK", "high-watermark", Kind::kInt,
       "backlog (unapplied entries over all partitions) that closes subscriptions (default 500000)",
       int_opt(&Config::high_watermark, 1, INT64_MAX)},
      {"stream.low_watermark", "WAYPOINT_LOW_WATERMARK", "low-watermark", Kind::kInt,
       "backlog under which subscriptions resume (default 250000)", int_opt(&Config::low_watermark, 0, INT64_MAX)},
      {"stream.watchdog_ms", "WAYPOINT_WATCHDOG_MS", "watchdog-ms", Kind::kInt,
       "reconnect when no event (BLOCK_CONFIRMED comes every block) arrives this long (default 30000)",
       int_opt(&Config::watchdog_ms, 100, 3600000)},
      {"stream.trim_interval_ms", "WAYPOINT_TRIM_INTERVAL_MS", "trim-interval-ms", Kind::kInt,
       "how often entries every group has acknowledged are trimmed (default 10000)",
       int_opt(&Config::trim_interval_ms, 100, 3600000)},
      {"stream.repair_delay_ms", "WAYPOINT_REPAIR_DELAY_MS", "repair-delay-ms", Kind::kInt,
       "repair a short block after this long without further events (default 2000)",
       int_opt(&Config::repair_delay_ms, 10, 600000)},
      {"retry.backoff_base_ms", "WAYPOINT_BACKOFF_BASE_MS", "backoff-base-ms", Kind::kInt,
       "reconnect backoff base (exponential, full jitter; default 100)", int_opt(&Config::backoff_base_ms, 1, 600000)},
      {"retry.backoff_max_ms", "WAYPOINT_BACKOFF_MAX_MS", "backoff-max-ms", Kind::kInt,
       "reconnect backoff cap (default 30000)", int_opt(&Config::backoff_max_ms, 1, 3600000)},
      {"retry.breaker_failures", "WAYPOINT_BREAKER_FAILURES", "breaker-failures", Kind::kInt,
       "consecutive node failures that open the circuit breaker (default 5)",
       int_opt(&Config::breaker_failures, 1, 1000)},
      {"retry.breaker_open_ms", "WAYPOINT_BREAKER_OPEN_MS", "breaker-open-ms", Kind::kInt,
       "time the breaker stays open before a half-open trial (default 10000)",
       int_opt(&Config::breaker_open_ms, 1, 3600000)},
      {"backfill.concurrency", "WAYPOINT_BACKFILL_CONCURRENCY", "backfill-concurrency", Kind::kInt,
       "fids backfilled at once (default 4)", int_opt(&Config::backfill_concurrency, 1, 256)},
      {"backfill.node_rps", "WAYPOINT_NODE_RPS", "node-rps", Kind::kDouble,
       "request rate limit toward the node, shared by backfill and repairs (default 50/s)",
       [](Config& c, const std::string& v) { c.node_rps = ParseDouble("", v, 0.1, 1e6); }},
      {"backfill.page_size", "WAYPOINT_PAGE_SIZE", "page-size", Kind::kInt,
       "page size of node bulk calls (default 1000)", int_opt(&Config::page_size, 1, 10000)},
      {"backfill.fid_attempts", "WAYPOINT_FID_ATTEMPTS", "fid-attempts", Kind::kInt,
       "attempts per fid before it is reported failed (default 4)", int_opt(&Config::fid_attempts, 1, 100)},
      {"backfill.claim_idle_ms", "WAYPOINT_CLAIM_IDLE_MS", "claim-idle-ms", Kind::kInt,
       "jobs of a consumer idle this long are claimed (XAUTOCLAIM; default 60000)",
       int_opt(&Config::claim_idle_ms, 100, 86400000)},
      {"backfill.progress_interval_ms", "WAYPOINT_PROGRESS_INTERVAL_MS", "progress-interval-ms", Kind::kInt,
       "backfill progress log period (default 10000)", int_opt(&Config::progress_interval_ms, 100, 3600000)},
      {"backfill.consumer", "WAYPOINT_CONSUMER", "consumer", Kind::kString,
       "consumer name in the backfill group (default <hostname>-<pid>)",
       [](Config& c, const std::string& v) { c.consumer = v; }},
      {"backfill.preset", "WAYPOINT_PRESET", "preset", Kind::kString,
       "standard (concurrency 4, 50 req/s, 8 in flight, pool 8) or high (concurrency 16, 400 req/s, "
       "32 in flight, pool 24: a dedicated high-throughput worker); explicit options override (default standard)",
       [](Config& c, const std::string& v) {
         if (v != "standard" && v != "high") Bad("", "'" + v + "' is not standard or high");
         c.preset = v;
       }},
      {"alerts.backlog_warning", "WAYPOINT_ALERT_BACKLOG_WARNING", "alert-backlog-warning", Kind::kInt,
       "unapplied entries (pending + lag) of one stream that raise a warning; 0 = off (default 250000)",
       int_opt(&Config::alert_backlog_warning, 0, INT64_MAX)},
      {"alerts.backlog_critical", "WAYPOINT_ALERT_BACKLOG_CRITICAL", "alert-backlog-critical", Kind::kInt,
       "unapplied entries of one stream that are critical; 0 = off (default 500000)",
       int_opt(&Config::alert_backlog_critical, 0, INT64_MAX)},
      {"alerts.pending_age_warning_ms", "WAYPOINT_ALERT_AGE_WARNING_MS", "alert-age-warning-ms", Kind::kInt,
       "age of the oldest pending entry that raises a warning; 0 = off (default 60000)",
       int_opt(&Config::alert_age_warning_ms, 0, INT64_MAX)},
      {"alerts.pending_age_critical_ms", "WAYPOINT_ALERT_AGE_CRITICAL_MS", "alert-age-critical-ms", Kind::kInt,
       "age of the oldest pending entry that is critical; 0 = off (default 300000)",
       int_opt(&Config::alert_age_critical_ms, 0, INT64_MAX)},
      {"verify.level", "WAYPOINT_VERIFY", "verify", Kind::kString,
       "what is checked before a message is written: off, hash (BLAKE3 of the data, data consistent), "
       "signature (hash, schemes, Ed25519 signature, network) or full (signature, and the extension holds "
       "a message until its signer is a key of its fid); refused messages become dead letters "
       "(default signature; docs/verification.md)",
       [](Config& c, const std::string& v) {
         if (!core::ParseVerifyLevel(v)) Bad("", "'" + v + "' is not off, hash, signature or full");
         c.verify_level = v;
       }},
      {"verify.network", "WAYPOINT_NETWORK", "network", Kind::kString,
       "the Farcaster network followed: messages naming another are refused (mainnet, testnet, devnet; "
       "default mainnet)",
       [](Config& c, const std::string& v) {
         if (!core::ParseNetwork(v)) Bad("", "'" + v + "' is not mainnet, testnet or devnet");
         c.network = v;
       }},
      {"verify.threads", "WAYPOINT_VERIFY_THREADS", "verify-threads", Kind::kInt,
       "verification threads beside the stream and backfill threads (default: one per core)",
       int_opt(&Config::verify_threads, 0, 256)},
      {"filter.spam_labels_file", "WAYPOINT_SPAM_LABELS_FILE", "spam-labels-file", Kind::kString,
       "Farcaster spam label JSONL file; fids whose latest label_value is 0 (spam) are not written to Redis "
       "(default: no file, no filter)",
       [](Config& c, const std::string& v) { c.spam_labels_file = v; }},
      {"http.listen", "WAYPOINT_METRICS_LISTEN", "metrics-listen", Kind::kString,
       "host:port of /metrics, /healthz, /readyz (default 127.0.0.1:9102; port 0 = any)",
       [](Config& c, const std::string& v) {
         CheckListen("", v);
         c.metrics_listen = v;
       }},
      {"log.level", "WAYPOINT_LOG_LEVEL", "log-level", Kind::kString, "trace|debug|info|warn|error (default info)",
       [](Config& c, const std::string& v) {
         if (v != "trace" && v != "debug" && v != "info" && v != "warn" && v != "error")
           Bad("", "'" + v + "' is not a log level");
         c.log_level = v;
       }},
      {"shutdown_grace_ms", "WAYPOINT_SHUTDOWN_GRACE_MS", "shutdown-grace-ms", Kind::kInt,
       "on SIGTERM, time allowed to flush what was read (default 10000)",
       int_opt(&Config::shutdown_grace_ms, 0, 600000)},
  };
}

// Keys given explicitly (by any source): presets fill only the others.
thread_local std::set<std::string>* g_explicit = nullptr;

void Apply(const Option& o, Config& c, const std::string& source, const std::string& value) {
  if (g_explicit) g_explicit->insert(o.key);
  try {
    o.set(c, value);
  } catch (const Error& e) {
    std::string what = e.what();
    if (what.rfind(": ", 0) == 0) what = what.substr(2);
    throw Error(ErrorClass::kConfig, source + " '" + o.key + "': " + what);
  }
}

std::string TomlScalar(const std::string& key, const toml::node& n) {
  if (auto s = n.as_string()) return s->get();
  if (auto i = n.as_integer()) return std::to_string(i->get());
  if (auto b = n.as_boolean()) return b->get() ? "true" : "false";
  if (auto d = n.as_floating_point()) {
    std::ostringstream os;
    os << d->get();
    return os.str();
  }
  if (auto a = n.as_array()) {
    std::string out;
    for (const auto& el : *a) {
      if (el.is_array() || el.is_table()) Bad("config file key '" + key + "'", "nested arrays are not allowed");
      if (!out.empty()) out += ",";
      out += TomlScalar(key, el);
    }
    return out;
  }
  Bad("config file key '" + key + "'", "unsupported value type");
}

void WalkToml(const toml::table& t, const std::string& prefix, const std::vector<Option>& opts, Config& c,
              const std::string& file) {
  for (const auto& [k, v] : t) {
    const std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (auto sub = v.as_table()) {
      WalkToml(*sub, key, opts, c, file);
      continue;
    }
    const Option* found = nullptr;
    for (const auto& o : opts)
      if (key == o.key) found = &o;
    if (!found) Bad("config file " + file, "unknown key '" + key + "'");
    if (found->kind == Kind::kList && !v.is_array() && !v.is_string())
      Bad("config file key '" + key + "'", "expected an array of integers");
    if (found->kind == Kind::kBool && !v.is_boolean()) Bad("config file key '" + key + "'", "expected true or false");
    if (found->kind == Kind::kInt && !v.is_integer()) Bad("config file key '" + key + "'", "expected an integer");
    if (found->kind == Kind::kString && !v.is_string()) Bad("config file key '" + key + "'", "expected a string");
    Apply(*found, c, "config file key", TomlScalar(key, v));
  }
}

// The environment's WAYPOINT_* variables, for what CLI11 does not do: refuse unknown
// names, and treat a variable set to "" as a value (CLI11 skips empty ones).
std::map<std::string, std::string> WaypointEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    if (kv.rfind("WAYPOINT_", 0) != 0) continue;
    const auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

constexpr const char* kHelpIntro =
    "waypoint-sidecar: streams Snapchain events and backfills fids into Redis Streams\n\n"
    "usage: waypoint-sidecar [stream|backfill|both] [--config FILE] [--FLAG VALUE ...]\n\n"
    "Modes: stream   subscribe to every data shard, write events to partition streams\n"
    "       backfill consume backfill jobs (<prefix>:backfill:jobs) and page every per-fid bulk method\n"
    "       both     both at once (default)\n\n"
    "Every option is a TOML key (file given by --config or WAYPOINT_CONFIG), an environment\n"
    "variable and a flag. Precedence: flags > environment > file > defaults. Unknown keys,\n"
    "unknown WAYPOINT_* variables and bad values are errors.\n"
    "Redis TLS is not supported (hiredis 0.14 has no TLS): keep Redis on a private network.\n\n";
constexpr const char* kHelpFooter =
    "HTTP: GET /metrics (Prometheus text), /healthz (process alive), /readyz (Redis and node reachable).\n"
    "Signals: SIGTERM/SIGINT stop reading, flush what was read with its cursor, exit 0.\n";

// --help in the sidecar's own layout: each flag with its TOML key and its variable, which
// CLI11's default formatter has no place for. Rendered from the CLI11 options themselves,
// so help and parser cannot disagree.
class HelpFormatter : public CLI::FormatterBase {
 public:
  explicit HelpFormatter(std::map<std::string, std::string> key_of_flag) : key_of_flag_(std::move(key_of_flag)) {}

  std::string make_help(const CLI::App* app, std::string, CLI::AppFormatMode) const override {
    std::ostringstream os;
    os << app->get_description();
    for (const CLI::Option* o : app->get_options()) {
      if (o->get_lnames().empty()) continue;  // the positional mode, shown in the usage line
      const std::string& flag = o->get_lnames().front();
      const auto key = key_of_flag_.find(flag);
      const bool keyed = key != key_of_flag_.end();
      const bool is_flag = o->get_expected_min() == 0;
      os << "  --" << flag << (is_flag ? (keyed ? "[=BOOL]" : "") : " " + o->get_type_name()) << "\n      "
         << o->get_description();
      if (keyed)
        os << "\n      key " << key->second << ", env " << o->get_envname();
      else if (!o->get_envname().empty())
        os << " (env " << o->get_envname() << ")";
      os << "\n";
    }
    os << "\n" << app->get_footer();
    return os.str();
  }

 private:
  std::map<std::string, std::string> key_of_flag_;
};

// The command line and the environment as CLI11 sees them: one CLI11 option per row of
// Options(), named by its flag, reading its WAYPOINT_* variable when the flag is absent
// (so CLI11 gives flags > environment). Values stay text: Apply converts and checks them,
// with the same messages whatever the source.
struct CommandLine {
  explicit CommandLine(const std::vector<Option>& opts) : app(kHelpIntro, "waypoint-sidecar") {
    app.allow_extras();  // unknown flags are reported below, in the sidecar's words
    std::map<std::string, std::string> key_of_flag;
    for (const auto& o : opts) {
      const std::string name = std::string("--") + o.flag;
      CLI::Option* cli = o.kind == Kind::kBool ? app.add_flag(name, o.help) : app.add_option(name, o.help);
      // Repeating a flag is allowed; every occurrence is applied in order (the last wins).
      cli->envname(o.env)->type_name("VALUE")->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
      row[cli] = &o;
      rows.emplace_back(cli, &o);
      if (std::string(o.key) == "mode") mode_flag = cli;
      key_of_flag[o.flag] = o.key;
    }
    // The mode may also be given bare: `waypoint-sidecar backfill`. Positional words are
    // collected here and checked in LoadConfig (only mode names are allowed).
    positional = app.add_option("mode")
                     ->expected(-1)  // one or more words
                     ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    config = app.add_option("--config", "TOML configuration file")
                 ->envname("WAYPOINT_CONFIG")
                 ->type_name("FILE")
                 ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.set_help_flag("--help,-h", "this text");  // added last: listed last
    app.footer(kHelpFooter);
    app.formatter(std::make_shared<HelpFormatter>(std::move(key_of_flag)));
  }

  CLI::App app;
  std::vector<std::pair<const CLI::Option*, const Option*>> rows;  // in table order
  std::map<const CLI::Option*, const Option*> row;
  CLI::Option* mode_flag = nullptr;
  CLI::Option* positional = nullptr;
  CLI::Option* config = nullptr;
};

bool IsModeName(const std::string& v) { return v == "stream" || v == "backfill" || v == "both"; }

}  // namespace

const char* ModeName(Mode m) {
  switch (m) {
    case Mode::kStream: return "stream";
    case Mode::kBackfill: return "backfill";
    case Mode::kBoth: return "both";
  }
  return "?";
}

Config LoadConfig(const std::vector<std::string>& args, bool* help) {
  const auto opts = Options();
  *help = false;
  CommandLine cl(opts);
  try {
    cl.app.parse(std::vector<std::string>(args.rbegin(), args.rend()));  // CLI11 takes them last first
  } catch (const CLI::CallForHelp&) {
    *help = true;
    return Config{};
  } catch (const CLI::ParseError& e) {
    Bad("command line", std::string(e.what()) + " (see --help)");
  }
  for (const std::string& extra : cl.app.remaining()) {
    if (extra.rfind("--", 0) == 0)
      Bad("command line", "unknown flag '" + extra.substr(0, extra.find('=')) + "' (see --help)");
    Bad("command line", "unexpected argument '" + extra + "' (see --help)");
  }
  for (const std::string& word : cl.positional->results())
    if (!IsModeName(word)) Bad("command line", "unexpected argument '" + word + "' (see --help)");
  const std::string config_file = cl.config->count() ? cl.config->results().back() : "";

  Config c;
  std::set<std::string> explicit_keys;
  g_explicit = &explicit_keys;
  struct Reset {
    ~Reset() { g_explicit = nullptr; }
  } reset;
  if (!config_file.empty()) {
    toml::table t;
    try {
      t = toml::parse_file(config_file);
    } catch (const toml::parse_error& e) {
      std::ostringstream os;
      os << e.description() << " at line " << e.source().begin.line;
      Bad("config file " + config_file, os.str());
    }
    WalkToml(t, "", opts, c, config_file);
  }

  // The environment: what CLI11 read for options not given as flags.
  const auto env = WaypointEnvironment();
  for (const auto& [k, v] : env) {
    if (k == "WAYPOINT_CONFIG") continue;
    bool known = false;
    for (const auto& o : opts) known = known || k == o.env;
    if (!known) Bad("environment", "unknown variable " + k + " (see --help for the WAYPOINT_* names)");
  }
  std::set<const CLI::Option*> on_command_line(cl.app.parse_order().begin(), cl.app.parse_order().end());
  for (const auto& [cli, o] : cl.rows) {
    if (on_command_line.count(cli)) continue;
    const std::string source = std::string("environment ") + o->env + " for";
    if (cli->count() > 0) {
      Apply(*o, c, source, cli->results().back());
    } else if (auto it = env.find(o->env); it != env.end()) {
      Apply(*o, c, source, it->second);  // set but empty: a value, as it always was (WAYPOINT_SHARDS= means all)
    }
  }

  // Flags, in command-line order (every occurrence; the last wins); a bare mode word is --mode.
  std::map<const CLI::Option*, size_t> seen;
  for (const CLI::Option* cli : cl.app.parse_order()) {
    const size_t i = seen[cli]++;
    if (i >= cli->results().size()) continue;
    const auto it = cl.row.find(cli == cl.positional ? cl.mode_flag : cli);
    if (it == cl.row.end()) continue;  // --config, read above
    Apply(*it->second, c, std::string("flag --") + it->second->flag + " for", cli->results()[i]);
  }

  if (c.preset == "high") {
    if (!explicit_keys.count("backfill.concurrency")) c.backfill_concurrency = 16;
    if (!explicit_keys.count("backfill.node_rps")) c.node_rps = 400;
    if (!explicit_keys.count("node.max_in_flight")) c.node_max_in_flight = 32;
    if (!explicit_keys.count("redis.pool_size")) c.redis_pool_size = 24;
  }
  if (c.redis_timeout_ms <= kRedisBlockMs)
    Bad("redis.timeout_ms", "must be longer than the blocking read time (" + std::to_string(kRedisBlockMs) +
                                " ms), or idle blocking reads would time out");
  if (c.alert_backlog_warning > 0 && c.alert_backlog_critical > 0 && c.alert_backlog_warning > c.alert_backlog_critical)
    Bad("alerts.backlog_warning", "must not exceed alerts.backlog_critical");
  if (c.alert_age_warning_ms > 0 && c.alert_age_critical_ms > 0 && c.alert_age_warning_ms > c.alert_age_critical_ms)
    Bad("alerts.pending_age_warning_ms", "must not exceed alerts.pending_age_critical_ms");
  if (c.low_watermark >= c.high_watermark)
    Bad("stream.low_watermark", "must be below stream.high_watermark (" + std::to_string(c.high_watermark) + ")");
  if (c.backoff_base_ms > c.backoff_max_ms) Bad("retry.backoff_base_ms", "must not exceed retry.backoff_max_ms");
  if (c.api_key.empty() != c.api_key_header.empty())
    Bad("node.api_key", "node.api_key and node.api_key_header must be set together");
  if (!c.node_ca_file.empty() && !c.node_tls) Bad("node.ca_file", "is set but node.tls is false");
  if (c.consumer.empty()) {
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    c.consumer = std::string(host) + "-" + std::to_string(getpid());
  }
  return c;
}

std::string HelpText() {
  const auto opts = Options();
  return CommandLine(opts).app.help();
}

}  // namespace waypoint::sidecar
