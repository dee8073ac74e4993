// SQL-callable functions behind the monitoring views: worker counters from shared
// memory, and the Redis-backed queue depth and node heads. Each extern "C" entry only
// calls InvokeCpp; Postgres calls inside the C++ bodies go through PgCall.
#include <optional>
#include <string>
#include <vector>

#include "../bgw/settings.hpp"
#include "../bgw/shmem.hpp"
#include "../redis/client.hpp"
#include "waypoint/core/routing.hpp"
#include "waypoint/ext/guard.hpp"

extern "C" {
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "catalog/pg_type_d.h"

PG_FUNCTION_INFO_V1(waypoint_worker_stats);
PG_FUNCTION_INFO_V1(waypoint_redis_queue_depth);
PG_FUNCTION_INFO_V1(waypoint_node_heads);
PG_FUNCTION_INFO_V1(waypoint_sidecar_health);
}

namespace waypoint::control {
namespace {

using redis::Reply;

redis::Client MakeClient() {
  return redis::Client(redis::RedisUrl::Parse(settings::redis_url), settings::redis_timeout_ms, PG_WAIT_EXTENSION);
}

Datum TextOrNull(const std::optional<std::string>& s, bool* isnull) {
  *isnull = !s.has_value();
  return s ? PointerGetDatum(cstring_to_text_with_len(s->data(), static_cast<int>(s->size()))) : Datum(0);
}

Datum WorkerStatsImpl(FunctionCallInfo fcinfo) {
  bgw::SharedState* st = bgw::State();
  if (st == nullptr) throw ext::SqlError(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, "waypoint is not preloaded");
  const int n = st->nslots;
  ext::PgCall([&] {
    InitMaterializedSRF(fcinfo, 0);
    ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (int i = 0; i < n; ++i) {
      bgw::WorkerSlot copy;
      bgw::WorkerSlot* s = &st->slots[i];
      SpinLockAcquire(&s->mutex);
      memcpy(&copy, s, sizeof copy);
      SpinLockRelease(&s->mutex);
      const bool dispatcher = i == n - 1;
      Datum v[14];
      bool nulls[14];
      memset(nulls, 0, sizeof nulls);
      v[0] = Int32GetDatum(i);
      v[1] = CStringGetTextDatum(dispatcher ? "dispatcher" : "apply");
      v[2] = Int32GetDatum(copy.pid);
      nulls[2] = copy.pid == 0;
      if (dispatcher) {
        nulls[3] = true;
      } else {
        int count = 0;
        Datum* parts = static_cast<Datum*>(palloc(sizeof(Datum) * (settings::partitions + 1)));
        for (int p = 0; p < settings::partitions; ++p)
          if (p % settings::workers == i) parts[count++] = Int32GetDatum(p);
        v[3] = PointerGetDatum(construct_array(parts, count, INT4OID, 4, true, TYPALIGN_INT));
      }
      v[4] = BoolGetDatum(copy.redis_up && copy.pid != 0);
      v[5] = Int64GetDatum(static_cast<int64>(copy.applied));
      v[6] = Int64GetDatum(static_cast<int64>(copy.batches));
      v[7] = Int64GetDatum(static_cast<int64>(copy.dead_letters));
      v[8] = Int64GetDatum(static_cast<int64>(copy.errors));
      const TimestampTz ts[4] = {copy.started_at, copy.last_batch_at, copy.last_applied_at, copy.last_error_at};
      for (int k = 0; k < 4; ++k) {
        v[9 + k] = TimestampTzGetDatum(ts[k]);
        nulls[9 + k] = ts[k] == 0;
      }
      copy.last_error[bgw::kLastErrorLen - 1] = '\0';
      v[13] = CStringGetTextDatum(copy.last_error);
      nulls[13] = copy.last_error[0] == '\0';
      tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
    }
  });
  return Datum(0);
}

struct DepthRow {
  std::string stream;
  std::optional<int> partition;
  std::optional<std::string> group;
  long long length = 0;
  std::optional<long long> pending, lag, consumers;
  std::optional<std::string> last_delivered, oldest_id;
  std::optional<int64_t> oldest_age_ms;
};

std::optional<std::string> MapField(const Reply& map, const char* name, std::optional<long long>* as_int = nullptr) {
  for (size_t i = 0; i + 1 < map.elements.size(); i += 2) {
    if (map.elements[i].str != name) continue;
    const Reply& v = map.elements[i + 1];
    if (v.IsNil()) return std::nullopt;
    if (as_int) *as_int = redis::ReplyInt(v);
    return v.type == Reply::Type::kInteger ? std::to_string(v.integer) : v.str;
  }
  return std::nullopt;
}

Datum QueueDepthImpl(FunctionCallInfo fcinfo) {
  core::KeyLayout layout;
  layout.prefix = settings::key_prefix;
  struct Stream {
    std::string key;
    std::optional<int> partition;
    bool has_group;
  };
  std::vector<Stream> streams;
  for (int p = 0; p < settings::partitions; ++p) streams.push_back({layout.PartitionStream(p), p, true});
  streams.push_back({layout.BackfillJobStream(), std::nullopt, true});
  streams.push_back({layout.DeadLetterStream(), std::nullopt, false});

  redis::Client client = MakeClient();
  std::vector<redis::Command> first;
  for (const Stream& s : streams) {
    first.push_back({"XLEN", s.key});
    first.push_back({"XINFO", "GROUPS", s.key});
  }
  std::vector<Reply> r1;
  try {
    r1 = client.Pipeline(first);
  } catch (const redis::RedisError& e) {
    throw ext::SqlError(ERRCODE_CONNECTION_FAILURE, e.what(), "Check waypoint.redis_url and that Redis is running.");
  }
  std::vector<DepthRow> rows;
  std::vector<redis::Command> pend;
  std::vector<size_t> pend_row;
  for (size_t i = 0; i < streams.size(); ++i) {
    const long long len = redis::ReplyInt(r1[2 * i]);
    const Reply& groups = r1[2 * i + 1];
    bool any = false;
    if (groups.IsArray())
      for (const Reply& g : groups.elements) {
        DepthRow row;
        row.stream = streams[i].key;
        row.partition = streams[i].partition;
        row.length = len;
        row.group = MapField(g, "name");
        MapField(g, "pending", &row.pending);
        MapField(g, "consumers", &row.consumers);
        MapField(g, "lag", &row.lag);
        row.last_delivered = MapField(g, "last-delivered-id");
        if (row.group) {
          pend.push_back({"XPENDING", streams[i].key, *row.group});
          pend_row.push_back(rows.size());
        }
        rows.push_back(std::move(row));
        any = true;
      }
    if (!any) {
      DepthRow row;
      row.stream = streams[i].key;
      row.partition = streams[i].partition;
      row.length = len;
      rows.push_back(std::move(row));
    }
  }
  if (!pend.empty()) {
    std::vector<Reply> r2;
    try {
      r2 = client.Pipeline(pend);
    } catch (const redis::RedisError& e) {
      throw ext::SqlError(ERRCODE_CONNECTION_FAILURE, e.what(), "Check waypoint.redis_url and that Redis is running.");
    }
    const int64_t now_ms = GetCurrentTimestamp() / 1000 + 946684800000LL;
    for (size_t k = 0; k < r2.size(); ++k) {
      const Reply& x = r2[k];
      if (!x.IsArray() || x.elements.size() < 2 || x.elements[1].IsNil()) continue;
      DepthRow& row = rows[pend_row[k]];
      row.oldest_id = x.elements[1].str;
      const int64_t ms = redis::StreamIdMillis(*row.oldest_id);
      if (ms > 0) row.oldest_age_ms = std::max<int64_t>(0, now_ms - ms);
    }
  }
  const std::vector<DepthRow>* out = &rows;
  ext::PgCall([&] {
    InitMaterializedSRF(fcinfo, 0);
    ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (const DepthRow& row : *out) {
      Datum v[10];
      bool nulls[10];
      memset(nulls, 0, sizeof nulls);
      v[0] = CStringGetTextDatum(row.stream.c_str());
      v[1] = Int32GetDatum(row.partition.value_or(0));
      nulls[1] = !row.partition.has_value();
      v[2] = TextOrNull(row.group, &nulls[2]);
      v[3] = Int64GetDatum(row.length);
      v[4] = Int64GetDatum(row.pending.value_or(0));
      nulls[4] = !row.pending.has_value();
      v[5] = Int64GetDatum(row.lag.value_or(0));
      nulls[5] = !row.lag.has_value();
      v[6] = Int32GetDatum(static_cast<int32>(row.consumers.value_or(0)));
      nulls[6] = !row.consumers.has_value();
      v[7] = TextOrNull(row.last_delivered, &nulls[7]);
      v[8] = TextOrNull(row.oldest_id, &nulls[8]);
      if (row.oldest_age_ms) {
        Interval* iv = static_cast<Interval*>(palloc0(sizeof(Interval)));
        iv->time = *row.oldest_age_ms * 1000;
        v[9] = IntervalPGetDatum(iv);
      } else {
        nulls[9] = true;
      }
      tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
    }
  });
  return Datum(0);
}

constexpr int kMaxProbedShard = 64;

struct Head {
  int shard;
  long long block;
  std::optional<long long> event_id;
  std::optional<int64_t> ts_ms;
};

Datum NodeHeadsImpl(FunctionCallInfo fcinfo) {
  std::vector<Head> heads;
  std::string problem;
  try {
    redis::Client client = MakeClient();
    core::KeyLayout layout;
    layout.prefix = settings::key_prefix;
    std::vector<redis::Command> gets;
    for (int shard = 1; shard <= kMaxProbedShard; ++shard)
      gets.push_back({"HMGET", layout.NodeHeadKey(shard), "block", "event_id", "ts"});
    const auto replies = client.Pipeline(gets);
    for (size_t i = 0; i < replies.size(); ++i) {
      const Reply& r = replies[i];
      // Missing key: all nil. A key of another type (WRONGTYPE) is skipped as well.
      if (!r.IsArray() || r.elements.size() != 3 || !r.elements[0].IsString()) continue;
      Head h{static_cast<int>(i) + 1, redis::ReplyInt(r.elements[0]), std::nullopt, std::nullopt};
      if (r.elements[1].IsString()) h.event_id = redis::ReplyInt(r.elements[1]);
      if (r.elements[2].IsString()) h.ts_ms = redis::ReplyInt(r.elements[2]);
      heads.push_back(h);
    }
  } catch (const redis::RedisError& e) {
    problem = e.what();
  }
  const char* note = problem.empty() ? nullptr : problem.c_str();
  const auto* out = &heads;
  ext::PgCall([&] {
    if (note != nullptr) ereport(NOTICE, (errmsg("waypoint: node heads unavailable: %s", note)));
    InitMaterializedSRF(fcinfo, 0);
    ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (const Head& h : *out) {
      Datum v[4] = {Int32GetDatum(h.shard), Int64GetDatum(h.block), Int64GetDatum(h.event_id.value_or(0)),
                    TimestampTzGetDatum((h.ts_ms.value_or(0) - 946684800000LL) * 1000)};
      bool nulls[4] = {false, false, !h.event_id.has_value(), !h.ts_ms.has_value()};
      tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
    }
  });
  return Datum(0);
}

// SidecarHealthImpl reads the hash the sidecar refreshes every second
// (<prefix>:sidecar:health: node_breaker, redis, consumer, mode, updated_ms, verify).
// The declared result may be 0.2.0's, without verify_level (a library newer than the
// installed extension until ALTER EXTENSION runs): fill what is declared.
Datum SidecarHealthImpl(FunctionCallInfo fcinfo) {
  std::vector<std::optional<std::string>> fields;
  std::string problem;
  try {
    redis::Client client = MakeClient();
    core::KeyLayout layout;
    layout.prefix = settings::key_prefix;
    const Reply r = client.Call(
        {"HMGET", layout.SidecarHealthKey(), "node_breaker", "redis", "consumer", "mode", "updated_ms", "verify"});
    if (r.IsArray() && r.elements.size() == 6 && r.elements[4].IsString())
      for (const Reply& e : r.elements)
        fields.push_back(e.IsString() ? std::optional<std::string>(e.str) : std::nullopt);
  } catch (const redis::RedisError& e) {
    problem = e.what();
  }
  const char* note = problem.empty() ? nullptr : problem.c_str();
  const auto* out = &fields;
  ext::PgCall([&] {
    if (note != nullptr) ereport(NOTICE, (errmsg("waypoint: sidecar health unavailable: %s", note)));
    InitMaterializedSRF(fcinfo, 0);
    if (out->empty()) return;
    ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    Datum v[6];
    bool nulls[6];
    bool isnull = false;
    for (int i = 0; i < 4; ++i) {
      v[i] = TextOrNull((*out)[i], &isnull);
      nulls[i] = isnull;
    }
    Reply ts;
    ts.type = Reply::Type::kString;
    ts.str = *(*out)[4];
    v[4] = TimestampTzGetDatum((redis::ReplyInt(ts) - 946684800000LL) * 1000);
    nulls[4] = false;
    v[5] = TextOrNull((*out)[5], &isnull);
    nulls[5] = isnull;
    if (rsinfo->setDesc->natts != 5 && rsinfo->setDesc->natts != 6)
      ereport(ERROR,
              (errcode(ERRCODE_DATATYPE_MISMATCH), errmsg("waypoint.sidecar_health: unexpected result columns")));
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
  });
  return Datum(0);
}

}  // namespace
}  // namespace waypoint::control

extern "C" Datum waypoint_worker_stats(PG_FUNCTION_ARGS) {
  return waypoint::ext::InvokeCpp([&] { return waypoint::control::WorkerStatsImpl(fcinfo); });
}

extern "C" Datum waypoint_redis_queue_depth(PG_FUNCTION_ARGS) {
  return waypoint::ext::InvokeCpp([&] { return waypoint::control::QueueDepthImpl(fcinfo); });
}

extern "C" Datum waypoint_node_heads(PG_FUNCTION_ARGS) {
  return waypoint::ext::InvokeCpp([&] { return waypoint::control::NodeHeadsImpl(fcinfo); });
}

extern "C" Datum waypoint_sidecar_health(PG_FUNCTION_ARGS) {
  return waypoint::ext::InvokeCpp([&] { return waypoint::control::SidecarHealthImpl(fcinfo); });
}
