// The launcher: a static background worker (restarted by the postmaster after 5 s if it
// dies) that starts the apply workers and the outbox dispatcher as dynamic workers and
// restarts any that stop. Dynamic workers are BGW_NEVER_RESTART on purpose: the
// launcher owns the restart policy (a per-worker delay, so a worker that fails at once,
// e.g. because waypoint.database does not exist, does not spin), and bgw_notify_pid
// makes the postmaster set our latch whenever one starts or stops.
#include <algorithm>
#include <cstdio>

#include "settings.hpp"
#include "shmem.hpp"
#include "waypoint/ext/guard.hpp"

extern "C" {
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/timestamp.h"

PGDLLEXPORT void waypoint_launcher_main(Datum arg);
}

namespace waypoint::bgw {
namespace {

constexpr int kRestartDelayMs = 2000;
constexpr int kMaxRestartDelayMs = 60000;
constexpr int kStableRunMs = 10000;  // a worker that lived this long restarts at the base delay
constexpr int kMaxSlots = 65;

struct Managed {
  BackgroundWorkerHandle* handle = nullptr;
  TimestampTz last_start = 0;
  int delay_ms = kRestartDelayMs;
  bool warned = false;
};

// Registers the dynamic worker of slot `index`. Only plain PG calls: this runs in the
// launcher's C frames.
bool StartWorker(int index, Managed* m) {
  const bool dispatcher = index == DispatcherSlot();
  BackgroundWorker w;
  memset(&w, 0, sizeof w);
  w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  w.bgw_start_time = BgWorkerStart_RecoveryFinished;
  w.bgw_restart_time = BGW_NEVER_RESTART;
  strlcpy(w.bgw_library_name, "waypoint", sizeof w.bgw_library_name);
  strlcpy(w.bgw_function_name, dispatcher ? "waypoint_dispatcher_main" : "waypoint_apply_main",
          sizeof w.bgw_function_name);
  if (dispatcher) {
    strlcpy(w.bgw_name, "waypoint outbox dispatcher", sizeof w.bgw_name);
    strlcpy(w.bgw_type, "waypoint outbox dispatcher", sizeof w.bgw_type);
  } else {
    snprintf(w.bgw_name, sizeof w.bgw_name, "waypoint apply worker %d", index);
    strlcpy(w.bgw_type, "waypoint apply worker", sizeof w.bgw_type);
  }
  w.bgw_main_arg = Int32GetDatum(index);
  w.bgw_notify_pid = MyProcPid;
  m->last_start = GetCurrentTimestamp();
  if (!RegisterDynamicBackgroundWorker(&w, &m->handle)) {
    m->handle = nullptr;
    if (!m->warned)
      ereport(WARNING, (errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
                        errmsg("waypoint: could not start %s: no free background worker slot", w.bgw_name),
                        errhint("Increase max_worker_processes: waypoint needs waypoint.workers + 2.")));
    m->warned = true;
    return false;
  }
  m->warned = false;
  return true;
}

// Checks every slot and (re)starts the workers that are not running.
void Supervise(Managed* managed, int nslots) {
  const TimestampTz now = GetCurrentTimestamp();
  for (int i = 0; i < nslots; ++i) {
    Managed* m = &managed[i];
    if (m->handle != nullptr) {
      pid_t pid;
      const BgwHandleStatus st = GetBackgroundWorkerPid(m->handle, &pid);
      if (st == BGWH_STARTED || st == BGWH_NOT_YET_STARTED) continue;
      if (st == BGWH_POSTMASTER_DIED) proc_exit(1);
      pfree(m->handle);  // BGWH_STOPPED
      m->handle = nullptr;
      // A worker that keeps failing right after start (e.g. waypoint.database does not
      // exist) is restarted less and less often instead of filling the log.
      m->delay_ms = TimestampDifferenceExceeds(m->last_start, now, kStableRunMs)
                        ? kRestartDelayMs
                        : std::min(m->delay_ms * 2, kMaxRestartDelayMs);
    }
    // A worker from an earlier launcher incarnation may still hold the slot.
    if (SlotPid(i) != 0) continue;
    if (!TimestampDifferenceExceeds(m->last_start, now, m->delay_ms)) continue;
    StartWorker(i, m);
  }
}

}  // namespace
}  // namespace waypoint::bgw

void waypoint_launcher_main(Datum arg) {
  using namespace waypoint::bgw;
  // Handlers first, then unblock: die and the reload handler only set flags.
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();

  const int nslots = SlotCount();
  if (State() == nullptr || nslots > kMaxSlots) ereport(FATAL, (errmsg("waypoint: shared memory not initialised")));
  static Managed managed[kMaxSlots];
  ereport(LOG, (errmsg("waypoint launcher started: %d apply workers, %d partitions, database \"%s\"",
                       waypoint::settings::workers, waypoint::settings::partitions, waypoint::settings::database)));
  for (;;) {
    CHECK_FOR_INTERRUPTS();
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      ProcessConfigFile(PGC_SIGHUP);
    }
    Supervise(managed, nslots);
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1000, PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
  }
}
