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
#include "settings.hpp"
#include "shmem.hpp"
#include "waypoint/core/routing.hpp"
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
#include "utils/memutils.h"
#include "utils/timestamp.h"

PGDLLEXPORT void waypoint_dispatcher_main(Datum arg);
}

namespace waypoint::bgw {
namespace {

using ext::pg::ArrayParam;
using ext::pg::ParamType;
using ext::pg::PreparedStatement;

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
          link_.Failed(e.what());
          group_ready_ = false;
        } catch (const std::exception& e) {
          // Round's transactions are rolled back already (WithTransaction).
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
    const redis::Reply rep = r.Call({"XGROUP", "CREATE", stream_, core::KeyLayout::kBackfillGroup, "0", "MKSTREAM"});
    if (rep.IsError() && rep.str.rfind("BUSYGROUP", 0) != 0) throw redis::RedisError("XGROUP CREATE: " + rep.str);
    group_ready_ = true;
  }

  bool Round(redis::Client& r) {
    static PreparedStatement select{
        "outbox",
        "SELECT job_id, coalesce(array_to_string(fids, ','), 'all'), array_to_string(types, ','), max_fid "
        "FROM waypoint.backfill_jobs WHERE dispatched_at IS NULL ORDER BY job_id LIMIT " +
            std::to_string(kJobsPerRound),
        {}};
    static PreparedStatement mark{
        "outbox_dispatched",
        "UPDATE waypoint.backfill_jobs AS j SET dispatched_at = now(), stream_entry_id = t.e "
        "FROM unnest($1::bigint[], $2::text[]) AS t(id, e) WHERE j.job_id = t.id AND j.dispatched_at IS NULL",
        {ParamType::kInt8, ParamType::kText}};
    // Columns: job id, fids, types, max_fid.
    std::vector<ArrayParam> jobs = {ArrayParam(ParamType::kInt8), ArrayParam(ParamType::kText),
                                    ArrayParam(ParamType::kText), ArrayParam(ParamType::kInt8)};
    ext::pg::WithTransaction("waypoint: reading the backfill outbox",
                             [&] { ext::pg::ExecuteArrays(select, {}, &jobs); });
    const size_t n = jobs[0].size();
    if (n == 0) {
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
    for (size_t i = 0; i < n; ++i) {
      cmds.push_back({"XADD", stream_, "*", "v", "1", "job", std::to_string(jobs[0].int_at(i)), "fids",
                      std::string(jobs[1].null_at(i) ? "all" : jobs[1].str_at(i)), "types",
                      std::string(jobs[2].null_at(i) ? "" : jobs[2].str_at(i))});
      if (!jobs[3].null_at(i)) {
        cmds.back().push_back("max_fid");
        cmds.back().push_back(std::to_string(jobs[3].int_at(i)));
      }
    }
    const auto replies = r.Pipeline(cmds);
    std::vector<ArrayParam> marks = {ArrayParam(ParamType::kInt8), ArrayParam(ParamType::kText)};
    for (size_t i = 0; i < n; ++i) {
      if (replies[i].IsError()) throw redis::RedisError("XADD " + stream_ + ": " + replies[i].str);
      marks[0].AddInt(jobs[0].int_at(i));
      marks[1].AddStr(replies[i].str);
    }

    ext::pg::WithTransaction("waypoint: marking backfill jobs dispatched",
                             [&] { ext::pg::ExecuteArrays(mark, marks); });
    NoteBatch(slot_, n, 0);
    LogMessage(DEBUG1, "waypoint outbox dispatcher: sent " + std::to_string(n) + " backfill jobs");
    return n == static_cast<size_t>(kJobsPerRound);
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
