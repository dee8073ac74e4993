// The outbox dispatcher (architecture contract 8): moves committed rows of
// waypoint.backfill_jobs to the Redis job stream, then marks them dispatched. Jobs are
// read in one transaction and marked in another, with the XADD in between, so a crash
// or a failed mark only means the job is sent again (the sidecar tolerates duplicates);
// a job is never marked before Redis accepted it. A rolled-back enqueue is never seen.
//
// Job entry fields: v="1", job=<job id>, fids=<comma-separated fids | "all">,
// types=<comma-separated store names, empty = every type>, and max_fid=<fid> for jobs of
// every fid up to a bound (fids=all).
#include <string>
#include <vector>

#include "../redis/client.hpp"
#include "encoding.hpp"
#include "settings.hpp"
#include "shmem.hpp"
#include "spi.hpp"
#include "waypoint/core/routing.hpp"
#include "waypoint/ext/guard.hpp"
#include "worker_util.hpp"

extern "C" {
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

PGDLLEXPORT void waypoint_dispatcher_main(Datum arg);
}

namespace waypoint::bgw {
namespace {

constexpr int kJobsPerRound = 100;
constexpr int kPollMs = 250;

class Dispatcher {
 public:
  explicit Dispatcher(int slot) : slot_(slot), link_(slot) {
    core::KeyLayout layout;
    layout.prefix = settings::key_prefix;
    stream_ = layout.BackfillJobStream();
  }

  [[noreturn]] void Run() {
    WaitForExtension();
    MemoryContext loop_ctx = nullptr;
    ext::PgCall([&] {
      loop_ctx = AllocSetContextCreate(TopMemoryContext, "waypoint dispatcher loop", ALLOCSET_DEFAULT_SIZES);
    });
    int error_delay = 100;
    for (;;) {
      MemoryContextSwitchTo(loop_ctx);
      // A reload may also have been processed inside a sleep: compare every round (cheap).
      ProcessPending();
      link_.Reconfigure();
      redis::Client* r = link_.Get();
      bool more = false;
      if (r != nullptr) {
        try {
          if (!group_ready_) EnsureGroup(*r);
          more = Round(*r);
          error_delay = 100;
        } catch (const redis::RedisError& e) {
          AbortTransaction();
          link_.Failed(e.what());
          group_ready_ = false;
        } catch (const std::exception& e) {
          AbortTransaction();
          LogMessage(WARNING, std::string("waypoint outbox dispatcher: ") + e.what());
          NoteError(slot_, e.what());
          Sleep(error_delay);
          error_delay = std::min(error_delay * 2, 10000);
        }
      }
      MemoryContextReset(loop_ctx);
      if (!more) Sleep(r == nullptr || !r->connected() ? std::max(link_.DelayMs(), 100) : kPollMs);
    }
  }

 private:
  // The sidecar's group is created here too, from id 0, so jobs sent before the sidecar
  // first started are not skipped (a group created at "$" would skip them).
  void EnsureGroup(redis::Client& r) {
    const redis::Reply rep =
        r.Call({"XGROUP", "CREATE", stream_, core::KeyLayout::kBackfillGroup, "0", "MKSTREAM"});
    if (rep.IsError() && rep.str.rfind("BUSYGROUP", 0) != 0) throw redis::RedisError("XGROUP CREATE: " + rep.str);
    group_ready_ = true;
  }

  bool Round(redis::Client& r) {
    BeginTransaction("waypoint: reading the backfill outbox");
    std::vector<Row> jobs;
    try {
      static const std::string kSelect =
          "SELECT job_id::text, coalesce(array_to_string(fids, ','), 'all'), array_to_string(types, ','), "
          "max_fid::text "
          "FROM waypoint.backfill_jobs WHERE dispatched_at IS NULL ORDER BY job_id LIMIT " +
          std::to_string(kJobsPerRound);
      jobs = Exec(kSelect.c_str());
      CommitTransaction();
    } catch (...) {
      AbortTransaction();
      throw;
    }
    if (jobs.empty()) {
      // Idle: a cheap PING now and then keeps waypoint.workers.redis_connected honest
      // and notices an outage before there is a job to send.
      const TimestampTz now = GetCurrentTimestamp();
      if (TimestampDifferenceExceeds(last_ping_, now, 1000)) {
        last_ping_ = now;
        const redis::Reply pong = r.Call({"PING"});
        if (pong.IsError()) throw redis::RedisError("PING: " + pong.str);
      }
      return false;
    }

    std::vector<redis::Command> cmds;
    for (const Row& j : jobs) {
      cmds.push_back({"XADD", stream_, "*", "v", "1", "job", *j[0], "fids", j[1].value_or("all"), "types",
                      j[2].value_or("")});
      if (j.size() > 3 && j[3]) {
        cmds.back().push_back("max_fid");
        cmds.back().push_back(*j[3]);
      }
    }
    const auto replies = r.Pipeline(cmds);
    std::vector<std::optional<std::string>> ids, entry_ids;
    for (size_t i = 0; i < jobs.size(); ++i) {
      if (replies[i].IsError()) throw redis::RedisError("XADD " + stream_ + ": " + replies[i].str);
      ids.push_back(jobs[i][0]);
      entry_ids.push_back(replies[i].str);
    }

    BeginTransaction("waypoint: marking backfill jobs dispatched");
    try {
      Exec(
          "UPDATE waypoint.backfill_jobs AS j SET dispatched_at = now(), stream_entry_id = t.e "
          "FROM unnest($1::bigint[], $2::text[]) AS t(id, e) WHERE j.job_id = t.id AND j.dispatched_at IS NULL",
          {ArrayLiteral(ids), ArrayLiteral(entry_ids)});
      CommitTransaction();
    } catch (...) {
      AbortTransaction();
      throw;
    }
    NoteBatch(slot_, jobs.size(), 0);
    LogMessage(DEBUG1, "waypoint outbox dispatcher: sent " + std::to_string(jobs.size()) + " backfill jobs");
    return jobs.size() == static_cast<size_t>(kJobsPerRound);
  }

  int slot_;
  RedisLink link_;
  std::string stream_;
  bool group_ready_ = false;
  TimestampTz last_ping_ = 0;
};

}  // namespace
}  // namespace waypoint::bgw

void waypoint_dispatcher_main(Datum arg) {
  const int slot = DatumGetInt32(arg);
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  if (!waypoint::bgw::ClaimSlot(slot, waypoint::bgw::WorkerRole::kDispatcher)) proc_exit(0);
  BackgroundWorkerInitializeConnection(waypoint::settings::database, nullptr, 0);
  pgstat_report_appname("waypoint outbox dispatcher");
  waypoint::ext::InvokeCpp([&] { waypoint::bgw::Dispatcher(slot).Run(); });
}
