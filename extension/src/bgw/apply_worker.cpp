// The apply worker: owns the partition streams p with p % waypoint.workers == index,
// reads them through consumer group "apply", applies each batch in one transaction and
// acknowledges the entries only after that transaction committed (architecture contract
// 3). Vocabulary: a *batch* is what one round of reads returned from all owned
// partitions; *pending mode* of a partition means "read my own delivered-but-unacked
// entries (id 0) before new ones (id >)": after a start, a claim or any failure.
//
// Poison (contract 7): entries that do not decode, that the sidecar's verification
// refused, that ApplyEntries rejects, or whose apply raises a data error when retried
// alone, are written to waypoint.dead_letters in the batch's transaction and to the
// dead-letter stream, and acknowledged.
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "../redis/client.hpp"
#include "encoding.hpp"
#include "settings.hpp"
#include "shmem.hpp"
#include "waypoint/core/decode.hpp"
#include "waypoint/core/entry.hpp"
#include "waypoint/core/routing.hpp"
#include "waypoint/core/text.hpp"
#include "waypoint/ext/apply.hpp"
#include "waypoint/ext/guard.hpp"
#include "waypoint/ext/spi.hpp"
#include "waypoint/ext/transaction.hpp"
#include "worker_util.hpp"

extern "C" {
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

PGDLLEXPORT void waypoint_apply_main(Datum arg);
}

namespace waypoint::bgw {
namespace {

using ext::pg::AbortTransaction;
using ext::pg::ArrayParam;
using ext::pg::BeginSubTransaction;
using ext::pg::BeginTransaction;
using ext::pg::CommitSubTransaction;
using ext::pg::CommitTransaction;
using ext::pg::ParamType;
using ext::pg::PreparedStatement;
using ext::pg::RollbackSubTransaction;
using redis::Command;
using redis::Reply;

struct Partition {
  uint32_t number;
  std::string key;
  bool pending_mode = true;
};

// One entry as read from a stream, with what became of it.
struct Item {
  size_t partition;  // index into the worker's partitions
  std::string id;
  core::EntryFields fields;
  bool deleted = false;  // entry trimmed while pending: nothing to apply, just ack
  bool decoded = false;
  core::StreamEntry entry;
  bool dead = false;
  std::string reason;
};

struct DeadLetter {
  size_t item;
};

// SQLSTATE classes that say "try again later" rather than "this entry is bad": such
// errors never dead-letter an entry (a full disk must not empty the stream into the
// dead-letter table).
bool IsTransientSqlState(int sqlerrcode) {
  const int cls = ERRCODE_TO_CATEGORY(sqlerrcode);
  return cls == ERRCODE_TO_CATEGORY(ERRCODE_T_R_SERIALIZATION_FAILURE) ||         // 40
         cls == ERRCODE_TO_CATEGORY(ERRCODE_INSUFFICIENT_RESOURCES) ||            // 53
         cls == ERRCODE_TO_CATEGORY(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE) ||  // 55
         cls == ERRCODE_TO_CATEGORY(ERRCODE_OPERATOR_INTERVENTION) ||             // 57
         cls == ERRCODE_TO_CATEGORY(ERRCODE_SYSTEM_ERROR) ||                      // 58
         cls == ERRCODE_TO_CATEGORY(ERRCODE_CONNECTION_EXCEPTION) ||              // 08
         sqlerrcode == ERRCODE_UNDEFINED_TABLE || sqlerrcode == ERRCODE_UNDEFINED_FUNCTION;
}

class ApplyWorker {
 public:
  explicit ApplyWorker(int index) : index_(index), link_(index) {
    core::KeyLayout layout;
    layout.prefix = settings::key_prefix;
    dead_stream_ = layout.DeadLetterStream();
    for (int p = 0; p < settings::partitions; ++p)
      if (p % settings::workers == index) partitions_.push_back({static_cast<uint32_t>(p), layout.PartitionStream(p)});
    consumer_ = "w" + std::to_string(index) + "-" + std::to_string(MyProcPid);
  }

  [[noreturn]] void Run() {
    WaitForExtension();
    MemoryContext loop_ctx = nullptr;
    ext::PgCall(
        [&] { loop_ctx = AllocSetContextCreate(TopMemoryContext, "waypoint apply loop", ALLOCSET_DEFAULT_SIZES); });
    int error_delay = 100;
    for (;;) {
      MemoryContextSwitchTo(loop_ctx);
      // A reload may also have been processed inside a sleep: compare every round (cheap).
      ProcessPending();
      link_.Reconfigure();
      if (settings::apply_paused) {
        Sleep(200);
        continue;
      }
      MaybeStorageStep();
      bool busy = false;
      bool redis_failed = false;
      redis::Client* r = link_.Get();
      if (r == nullptr) {
        Sleep(link_.DelayMs());
        continue;
      }
      try {
        if (!set_up_) SetUp(*r);
        MaybeClaim(*r);
        // After an empty round the read blocks in Redis (up to block_ms) instead of a
        // sleep: an entry written meanwhile is applied at once, not at the next poll.
        busy = Round(*r, idle_);
        idle_ = !busy;
        error_delay = 100;
        ResolveThreads(next_replies_.has_value());
      } catch (const redis::RedisError& e) {
        AbortTransaction();
        link_.Failed(e.what());
        Reset();
        redis_failed = true;
      } catch (const ext::PgError& e) {
        AbortTransaction();
        Failure(std::string("batch failed, will retry: ") + e.what(), &error_delay);
      } catch (const std::exception& e) {
        AbortTransaction();
        Failure(std::string("batch failed, will retry: ") + e.what(), &error_delay);
      }
      MemoryContextReset(loop_ctx);
      if (redis_failed) Sleep(link_.DelayMs());
    }
  }

 private:
  void Reset() {
    set_up_ = false;
    idle_ = false;
    next_replies_.reset();
    for (Partition& p : partitions_) p.pending_mode = true;
  }

  // Storage mode (sql/install/12_storage.sql): at most every few seconds, in its own
  // transaction between batches, end a completed bulk sync or build one secondary index
  // of a table partition this worker owns. While building, it runs every round, so the
  // indexes are back soon after a bulk sync ends; the entries wait in Redis meanwhile.
  void MaybeStorageStep() {
    const TimestampTz now = GetCurrentTimestamp();
    if (!storage_building_ && !TimestampDifferenceExceeds(last_storage_step_, now, 5000)) return;
    last_storage_step_ = now;
    static PreparedStatement step{
        "storage_step", "SELECT waypoint.storage_step($1, $2)", {ParamType::kInt4, ParamType::kInt4}, {1, 2}};
    try {
      std::vector<ArrayParam> rows = {ArrayParam(ParamType::kText)};
      ext::pg::WithTransaction("waypoint: storage step", [&] {
        ext::pg::ExecuteArrays(
            step, {ArrayParam(ParamType::kInt4, index_), ArrayParam(ParamType::kInt4, settings::workers)}, &rows);
      });
      const bool done = rows[0].size() > 0 && !rows[0].null_at(0);
      storage_building_ = done && rows[0].str_at(0) != "live";
      if (done)
        LogMessage(LOG,
                   "waypoint apply worker " + std::to_string(index_) + ": storage: " + std::string(rows[0].str_at(0)));
    } catch (const std::exception& e) {
      storage_building_ = false;
      LogMessage(WARNING, "waypoint apply worker " + std::to_string(index_) + ": storage step failed: " + e.what());
    }
  }

  // Thread roots (waypoint.resolve_thread_roots, docs/apply-semantics.md): after every
  // round, in its own transaction, one step of the queue the batches filled. One worker
  // at a time does it (the others return at once); it reads across all partitions, so
  // it is not part of any batch. Under a backlog (the round read a full batch and the
  // next read is already here) the queue is left to grow, and taken only by the
  // set-based pass once that is due (checked at most every second): a lookup per queued
  // cast and an exclusive lock every round cost a catch-up more than a pass over the
  // table (bench/notes.md, round 13). Caught up, the incremental resolver takes the rest.
  void ResolveThreads(bool backlog) {
    static PreparedStatement resolve{
        "resolve_thread_roots", "SELECT waypoint.resolve_thread_roots($1)", {ParamType::kInt4}, {1}};
    static PreparedStatement rebuild_if_due{
        "rebuild_thread_roots_if_due", "SELECT waypoint.rebuild_thread_roots_if_due()", {}, {}};
    if (backlog) {
      const TimestampTz now = GetCurrentTimestamp();
      if (!TimestampDifferenceExceeds(last_rebuild_check_, now, 1000)) return;
      last_rebuild_check_ = now;
    }
    try {
      ext::pg::WithTransaction("waypoint: resolving thread roots", [&] {
        if (backlog)
          ext::pg::ExecuteArrays(rebuild_if_due, {});
        else
          ext::pg::ExecuteArrays(resolve, {ArrayParam(ParamType::kInt4, settings::batch_size * 4)});
      });
    } catch (const std::exception& e) {
      LogMessage(WARNING,
                 "waypoint apply worker " + std::to_string(index_) + ": resolving thread roots failed: " + e.what());
    }
  }

  void Failure(const std::string& msg, int* delay) {
    LogMessage(WARNING, "waypoint apply worker " + std::to_string(index_) + ": " + msg);
    NoteError(index_, core::SanitizeText(msg).c_str());
    next_replies_.reset();
    for (Partition& p : partitions_) p.pending_mode = true;
    Sleep(*delay);
    *delay = std::min(*delay * 2, 10000);
    // DROP EXTENSION makes every batch fail: go back to waiting for CREATE EXTENSION
    // instead of retrying (the entries stay pending in Redis meanwhile).
    if (!ExtensionCreated()) {
      LogMessage(LOG, "waypoint apply worker " + std::to_string(index_) + ": extension dropped, waiting for it");
      WaitForExtension();
      *delay = 100;
    }
  }

  // SetUp runs after every (re)connect: create the groups (from id 0, so entries written
  // before the group existed are not skipped), then take over every pending entry of
  // the partitions. That is safe because the shared-memory slot guarantees this process
  // is the only one applying these partitions; entries a dead incarnation read but never
  // acknowledged are redelivered at once instead of after claim_idle_ms. Consumers left
  // behind by dead incarnations (now without pending entries) are removed.
  void SetUp(redis::Client& r) {
    std::vector<Command> create;
    for (const Partition& p : partitions_)
      create.push_back({"XGROUP", "CREATE", p.key, core::KeyLayout::kApplyGroup, "0", "MKSTREAM"});
    const auto replies = r.Pipeline(create);
    for (const Reply& rep : replies)
      if (rep.IsError() && rep.str.rfind("BUSYGROUP", 0) != 0) throw redis::RedisError("XGROUP CREATE: " + rep.str);
    for (Partition& p : partitions_) {
      Claim(r, p, 0);
      const Reply consumers = r.Call({"XINFO", "CONSUMERS", p.key, core::KeyLayout::kApplyGroup});
      if (!consumers.IsArray()) continue;
      std::vector<Command> del;
      for (const Reply& c : consumers.elements) {
        std::string name;
        long long pending = -1;
        for (size_t i = 0; i + 1 < c.elements.size(); i += 2) {
          if (c.elements[i].str == "name") name = c.elements[i + 1].str;
          if (c.elements[i].str == "pending") pending = redis::ReplyInt(c.elements[i + 1]);
        }
        if (!name.empty() && name != consumer_ && pending == 0)
          del.push_back({"XGROUP", "DELCONSUMER", p.key, core::KeyLayout::kApplyGroup, name});
      }
      if (!del.empty()) r.Pipeline(del);
      p.pending_mode = true;
    }
    set_up_ = true;
    last_claim_ = GetCurrentTimestamp();
  }

  void GroupLost(const std::string& key) {
    LogMessage(WARNING, "waypoint apply worker " + std::to_string(index_) + ": stream " + key +
                            " or its group was deleted (NOGROUP); recreating group \"" + core::KeyLayout::kApplyGroup +
                            "\" from id 0 (entries deleted before they were applied are gone: backfill the "
                            "affected fids)");
    set_up_ = false;
  }

  // Claim moves pending entries idle for at least min_idle_ms to this consumer;
  // returns how many were claimed.
  size_t Claim(redis::Client& r, Partition& p, int min_idle_ms) {
    std::string cursor = "0-0";
    size_t claimed = 0;
    for (int round = 0; round < 1000; ++round) {
      const Reply rep = r.Call({"XAUTOCLAIM", p.key, core::KeyLayout::kApplyGroup, consumer_,
                                std::to_string(min_idle_ms), cursor, "COUNT", "1000", "JUSTID"});
      if (rep.IsError() && rep.str.rfind("NOGROUP", 0) == 0) {
        GroupLost(p.key);
        return claimed;
      }
      if (rep.IsError()) throw redis::RedisError("XAUTOCLAIM: " + rep.str);
      if (!rep.IsArray() || rep.elements.size() < 2) break;
      claimed += rep.elements[1].elements.size();
      cursor = rep.elements[0].str;
      if (cursor == "0-0") break;
    }
    if (claimed > 0) p.pending_mode = true;
    return claimed;
  }

  void MaybeClaim(redis::Client& r) {
    const TimestampTz now = GetCurrentTimestamp();
    if (!TimestampDifferenceExceeds(last_claim_, now, std::max(settings::claim_idle_ms / 2, 100))) return;
    last_claim_ = now;
    for (Partition& p : partitions_) {
      const size_t n = Claim(r, p, settings::claim_idle_ms);
      if (n > 0)
        LogMessage(LOG, "waypoint apply worker " + std::to_string(index_) + ": claimed " + std::to_string(n) +
                            " idle entries of " + p.key);
    }
  }

  // Round reads once from every owned partition and applies what came back. Returns
  // true when there may be more to do right away. With `block` (the previous round found
  // nothing) and no partition in pending mode, the read is one XREADGROUP over all owned
  // streams that waits in Redis up to block_ms for the first new entry.
  bool Round(redis::Client& r, bool block) {
    // Replies of a read sent while the previous batch was applying (see below).
    const bool prefetched = next_replies_.has_value();
    if (prefetched) block = false;
    for (const Partition& p : partitions_) block = block && !p.pending_mode;
    std::vector<Command> reads;
    const std::string count = std::to_string(settings::batch_size);
    if (prefetched) {
      // nothing to send: the replies are here
    } else if (block) {
      // Below the client's round-trip timeout, so an idle wait is never a Redis failure.
      const int ms = std::max(1, std::min(settings::block_ms, settings::redis_timeout_ms / 2));
      Command x = {"XREADGROUP", "GROUP", core::KeyLayout::kApplyGroup, consumer_, "COUNT",
                   count,        "BLOCK", std::to_string(ms),           "STREAMS"};
      for (const Partition& p : partitions_) x.push_back(p.key);
      for (size_t i = 0; i < partitions_.size(); ++i) x.push_back(">");
      reads.push_back(std::move(x));
    } else {
      for (const Partition& p : partitions_)
        reads.push_back({"XREADGROUP", "GROUP", core::KeyLayout::kApplyGroup, consumer_, "COUNT", count, "STREAMS",
                         p.key, p.pending_mode ? "0" : ">"});
    }
    std::vector<Reply> replies;
    if (prefetched) {
      replies = std::move(*next_replies_);
      next_replies_.reset();
    } else {
      replies = r.Pipeline(reads);
    }
    std::vector<Item> items;
    bool more = false;
    for (size_t ri = 0; ri < replies.size(); ++ri) {
      const Reply& rep = replies[ri];
      if (rep.IsError()) {
        // NOGROUP: the stream or its group was deleted under us; set up again (groups
        // are recreated from 0: what is left of the stream is redelivered, never skipped).
        // UNBLOCKED: the same, noticed by a blocking read (Redis 7 ends it with this error).
        if (rep.str.rfind("NOGROUP", 0) == 0 || rep.str.rfind("UNBLOCKED", 0) == 0) {
          std::string keys = partitions_[ri].key;
          if (block)
            for (size_t k = 1; k < partitions_.size(); ++k) keys += ", " + partitions_[k].key;
          GroupLost(keys);
          return true;
        }
        throw redis::RedisError("XREADGROUP: " + rep.str);
      }
      if (!rep.IsArray()) continue;  // nil: nothing new (a blocking read that timed out)
      for (const Reply& stream : rep.elements) {
        if (stream.elements.size() < 2) continue;
        size_t pi = ri;
        if (block) {  // one reply for all streams: each part names its stream
          pi = partitions_.size();
          for (size_t k = 0; k < partitions_.size(); ++k)
            if (partitions_[k].key == stream.elements[0].str) pi = k;
          if (pi == partitions_.size())
            throw redis::RedisError("XREADGROUP: reply for unknown stream " + stream.elements[0].str);
        }
        size_t n = 0;
        for (const Reply& e : stream.elements[1].elements) {
          if (e.elements.empty()) continue;
          Item it;
          it.partition = pi;
          it.id = e.elements[0].str;
          if (e.elements.size() < 2 || e.elements[1].IsNil()) {
            it.deleted = true;
          } else {
            const auto& kv = e.elements[1].elements;
            for (size_t k = 0; k + 1 < kv.size(); k += 2) it.fields.emplace_back(kv[k].str, kv[k + 1].str);
          }
          items.push_back(std::move(it));
          ++n;
        }
        if (n >= static_cast<size_t>(settings::batch_size)) more = true;
      }
    }
    if (!block && !prefetched) {
      for (size_t pi = 0; pi < partitions_.size(); ++pi) {
        if (!partitions_[pi].pending_mode) continue;
        // Own pending list drained: continue with new entries right away.
        bool any = false;
        for (const Item& it : items) any = any || it.partition == pi;
        if (!any) {
          partitions_[pi].pending_mode = false;
          more = true;
        }
      }
    }
    if (items.empty()) return more;
    // Backlog (a full batch came back, every partition reads new entries): send the next
    // read now, so Redis builds its reply while this batch applies and commits. Its
    // entries are delivered (pending) at once; a failed batch drops the connection and
    // the pending lists are read again from id 0, as after any failure.
    bool prefetch = more;
    for (const Partition& p : partitions_) prefetch = prefetch && !p.pending_mode;
    if (prefetch) {
      std::vector<Command> next;
      for (const Partition& p : partitions_)
        next.push_back(
            {"XREADGROUP", "GROUP", core::KeyLayout::kApplyGroup, consumer_, "COUNT", count, "STREAMS", p.key, ">"});
      r.Send(next);
      try {
        ApplyBatch(items);
      } catch (...) {
        r.Close();
        throw;
      }
      next_replies_ = r.Receive(next.size());
    } else {
      ApplyBatch(items);
    }
    Acknowledge(r, items);
    return true;
  }

  void Decode(std::vector<Item>& items) {
    for (Item& it : items) {
      if (it.deleted) continue;
      try {
        it.entry = core::DecodeEntry(it.fields);
        it.decoded = true;
      } catch (const core::Error& e) {
        it.dead = true;
        it.reason = std::string("decode: ") + e.what();
      }
      if (it.decoded && it.entry.kind == core::EntryKind::kRefused) {
        // The sidecar's verification refused it: kept as evidence, never applied.
        it.dead = true;
        it.reason = "refused by verification (" + it.entry.refused_check + "): " + it.entry.refused_reason;
      }
      if (it.decoded && it.entry.kind == core::EntryKind::kFidDone) {
        try {
          (void)core::ParseJobId(it.entry.job_id);
          (void)core::ParseFidDone(it.entry.payload);
        } catch (const std::exception& e) {
          it.dead = true;
          it.reason = std::string("fid_done: ") + e.what();
        }
      }
    }
  }

  // ApplyBatch runs the batch's transaction; on return it has committed.
  void ApplyBatch(std::vector<Item>& items) {
    Decode(items);
    // Backfill markers (fid_start, fid_done) go to ApplyEntries too, in stream order: it
    // reconciles a completed fid in the batch's transaction (docs/apply-semantics.md).
    std::vector<size_t> to_apply;  // indexes of items handed to ApplyEntries
    for (size_t i = 0; i < items.size(); ++i)
      if (!items[i].deleted && !items[i].dead) to_apply.push_back(i);

    const std::string activity = "waypoint: applying " + std::to_string(items.size()) + " entries";
    BeginTransaction(activity.c_str());
    bool isolate = false;
    std::string batch_error;
    try {
      if (!to_apply.empty()) {
        std::vector<core::StreamEntry> entries;
        entries.reserve(to_apply.size());
        for (size_t i : to_apply) entries.push_back(items[i].entry);
        const auto outcomes = ext::ApplyEntries(entries);
        if (outcomes.size() != entries.size()) throw std::runtime_error("ApplyEntries returned a wrong outcome count");
        for (size_t k = 0; k < to_apply.size(); ++k)
          if (!outcomes[k].applied) {
            items[to_apply[k]].dead = true;
            items[to_apply[k]].reason = outcomes[k].reason.empty() ? "rejected" : outcomes[k].reason;
          }
      }
      Record(items);
      CommitTransaction();
    } catch (const ext::PgError& e) {
      if (IsTransientSqlState(e.sqlerrcode())) throw;
      AbortTransaction();
      isolate = true;
      batch_error = e.what();
    }
    if (!isolate) {
      Count(items);
      return;
    }
    // Isolation: one subtransaction per entry; entries failing alone are dead letters.
    LogMessage(LOG, "waypoint apply worker " + std::to_string(index_) + ": batch of " + std::to_string(items.size()) +
                        " failed (" + core::SanitizeText(batch_error) + "); retrying entry by entry");
    BeginTransaction("waypoint: applying entries one by one");
    for (size_t i : to_apply) {
      Item& it = items[i];
      it.dead = false;
      BeginSubTransaction();
      try {
        const auto outcomes = ext::ApplyEntries({it.entry});
        CommitSubTransaction();
        if (!outcomes.empty() && !outcomes[0].applied) {
          it.dead = true;
          it.reason = outcomes[0].reason.empty() ? "rejected" : outcomes[0].reason;
        }
      } catch (const ext::PgError& e) {
        RollbackSubTransaction();
        if (IsTransientSqlState(e.sqlerrcode())) throw;
        it.dead = true;
        it.reason = std::string("apply: ") + e.what();
      }
    }
    Record(items);
    CommitTransaction();
    Count(items);
  }

  void Count(const std::vector<Item>& items) {
    uint64_t applied = 0, dead = 0;
    for (const Item& it : items) {
      if (it.dead)
        ++dead;
      else if (!it.deleted)
        ++applied;
    }
    NoteBatch(index_, applied, dead);
  }

  // Record writes, in the batch's transaction: dead letters, backfill progress of
  // fid_done entries, and the per-shard high-water mark of live events.
  void Record(const std::vector<Item>& items) {
    static PreparedStatement dead_letters{
        "dead_letters",
        "INSERT INTO waypoint.dead_letters (stream, entry_id, reason, kind, fid, fields, payload, worker) "
        "SELECT t.s, t.i, t.r, t.k, t.f, t.fl::jsonb, t.pl, $8 "
        "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::bytea[]) "
        "AS t(s, i, r, k, f, fl, pl) ON CONFLICT (stream, entry_id) DO NOTHING",
        {ParamType::kText, ParamType::kText, ParamType::kText, ParamType::kText, ParamType::kInt8, ParamType::kText,
         ParamType::kBytea, ParamType::kInt4},
        {8}};
    static PreparedStatement fid_progress{
        "backfill_fid_progress",
        "INSERT INTO waypoint.backfill_fid_progress AS fp (job_id, fid, status, messages, error, reported_at) "
        "SELECT t.j, t.f, t.s, t.m, t.e, to_timestamp(t.ts / 1000.0) "
        "FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::bigint[]) "
        "AS t(j, f, s, m, e, ts) "
        "ON CONFLICT (job_id, fid) DO UPDATE SET status = excluded.status, messages = excluded.messages, "
        "error = excluded.error, reported_at = excluded.reported_at, recorded_at = now() "
        "WHERE excluded.reported_at >= fp.reported_at",
        {ParamType::kInt8, ParamType::kInt8, ParamType::kText, ParamType::kInt8, ParamType::kText, ParamType::kInt8}};
    static PreparedStatement shard_progress{
        "shard_progress",
        "INSERT INTO waypoint.shard_progress AS sp (shard, partition, applied_event_id, applied_at) "
        "SELECT t.s, t.p, t.e, now() FROM unnest($1::int[], $2::int[], $3::bigint[]) AS t(s, p, e) "
        "ON CONFLICT (shard, partition) DO UPDATE SET "
        "applied_event_id = greatest(sp.applied_event_id, excluded.applied_event_id), applied_at = now()",
        {ParamType::kInt4, ParamType::kInt4, ParamType::kInt8}};
    std::vector<ArrayParam> dead;
    for (ParamType t : dead_letters.types) dead.emplace_back(t);
    dead[7].AddInt(index_);
    std::map<std::pair<int64_t, uint64_t>, const Item*> done;  // (job, fid) -> latest report
    std::map<std::pair<uint32_t, uint32_t>, uint64_t> high;    // (shard, partition) -> event id
    for (const Item& it : items) {
      if (it.deleted) continue;
      if (it.dead) {
        dead[0].AddStr(partitions_[it.partition].key);
        dead[1].AddStr(it.id);
        dead[2].AddStr(core::SanitizeText(it.reason));
        it.decoded ? dead[3].AddStr(core::EntryKindName(it.entry.kind)) : dead[3].AddNull();
        it.decoded ? dead[4].AddUint(it.entry.fid) : dead[4].AddNull();
        dead[5].AddStr(FieldsJson(it.fields));
        const std::string* d = nullptr;
        for (const auto& [name, value] : it.fields)
          if (name == "d") d = &value;
        d ? dead[6].AddStr(*d) : dead[6].AddNull();
        continue;
      }
      if (it.entry.kind == core::EntryKind::kFidDone) {
        const auto key = std::make_pair(core::ParseJobId(it.entry.job_id), it.entry.fid);
        auto found = done.find(key);
        if (found == done.end() || found->second->entry.written_at_ms <= it.entry.written_at_ms) done[key] = &it;
        continue;
      }
      if (it.entry.kind == core::EntryKind::kHubEvent && it.entry.source != core::EntrySource::kBackfill &&
          it.entry.event_id > 0) {
        auto& h = high[{it.entry.shard, partitions_[it.partition].number}];
        h = std::max(h, it.entry.event_id);
      }
    }
    if (dead[0].size() > 0) ext::pg::ExecuteArrays(dead_letters, dead);
    if (!done.empty()) {
      std::vector<ArrayParam> p;
      for (ParamType t : fid_progress.types) p.emplace_back(t);
      for (const auto& [key, it] : done) {
        const core::FidDone fd = core::ParseFidDone(it->entry.payload);
        p[0].AddInt(key.first);
        p[1].AddUint(key.second);
        p[2].AddStr(fd.status);
        p[3].AddInt(fd.messages);
        fd.error.empty() ? p[4].AddNull() : p[4].AddStr(core::SanitizeText(fd.error));
        p[5].AddInt(it->entry.written_at_ms);
      }
      ext::pg::ExecuteArrays(fid_progress, p);
    }
    if (!high.empty()) {
      std::vector<ArrayParam> p;
      for (ParamType t : shard_progress.types) p.emplace_back(t);
      for (const auto& [key, e] : high) {
        p[0].AddUint(key.first);
        p[1].AddUint(key.second);
        p[2].AddUint(e);
      }
      ext::pg::ExecuteArrays(shard_progress, p);
    }
  }

  // Acknowledge runs after the commit: dead letters to the dead-letter stream, then XACK.
  // If Redis fails here the entries are redelivered and applied again (idempotent).
  void Acknowledge(redis::Client& r, const std::vector<Item>& items) {
    std::vector<Command> cmds;
    std::vector<std::vector<std::string>> acks(partitions_.size());
    const std::string now_ms = std::to_string(GetCurrentTimestamp() / 1000 + 946684800000LL);
    for (const Item& it : items) {
      acks[it.partition].push_back(it.id);
      if (!it.dead) continue;
      // Field names as in the sidecar's dead letters (docs/sidecar.md): reason is the
      // class (decode, rejected, apply, fid_done), error the full text.
      const std::string cls = it.reason.substr(0, it.reason.find(':'));
      Command x = {"XADD",
                   dead_stream_,
                   "*",
                   "source_stream",
                   partitions_[it.partition].key,
                   "original_id",
                   it.id,
                   "reason",
                   cls,
                   "error",
                   it.reason,
                   "worker",
                   std::to_string(index_),
                   "at_ms",
                   now_ms};
      for (const auto& [name, value] : it.fields) {
        x.push_back("f." + name);
        x.push_back(value);
      }
      cmds.push_back(std::move(x));
    }
    for (size_t pi = 0; pi < partitions_.size(); ++pi) {
      if (acks[pi].empty()) continue;
      Command x = {"XACK", partitions_[pi].key, core::KeyLayout::kApplyGroup};
      x.insert(x.end(), acks[pi].begin(), acks[pi].end());
      cmds.push_back(std::move(x));
    }
    for (const Reply& rep : r.Pipeline(cmds))
      if (rep.IsError()) throw redis::RedisError("XADD/XACK: " + rep.str);
  }

  int index_;
  RedisLink link_;
  std::vector<Partition> partitions_;
  std::string consumer_;
  std::string dead_stream_;
  bool set_up_ = false;
  bool idle_ = false;                               // the last round found nothing: the next read may block
  std::optional<std::vector<Reply>> next_replies_;  // a read prefetched during the last batch
  TimestampTz last_claim_ = 0;
  TimestampTz last_storage_step_ = 0;
  TimestampTz last_rebuild_check_ = 0;  // under a backlog: the last rebuild_thread_roots_if_due
  bool storage_building_ = false;       // the last storage step did something: step again next round
};

}  // namespace
}  // namespace waypoint::bgw

void waypoint_apply_main(Datum arg) {
  const int index = DatumGetInt32(arg);
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  // One live process per worker index (and so per partition); a duplicate leaves
  // quietly (exit 0: the launcher decides about restarts).
  if (!waypoint::bgw::ClaimSlot(index, waypoint::bgw::WorkerRole::kApply)) proc_exit(0);
  BackgroundWorkerInitializeConnection(waypoint::settings::database, nullptr, 0);
  // No JIT: the apply's statements do per-row work on batches of a few thousand rows, and
  // once the tables are large their cost estimates pass jit_above_cost, so every batch
  // compiled its statements again (a third of a worker's CPU in a 30M stream catch-up,
  // bench/notes.md round 15). Compiling never pays back at this batch size.
  SetConfigOption("jit", "off", PGC_USERSET, PGC_S_SESSION);
  char appname[NAMEDATALEN];
  snprintf(appname, sizeof appname, "waypoint apply worker %d", index);
  pgstat_report_appname(appname);
  // An exception escaping the loop becomes an ERROR here: the worker exits with status
  // 1 and the launcher starts it again.
  waypoint::ext::InvokeCpp([&] { waypoint::bgw::ApplyWorker(index).Run(); });
}
