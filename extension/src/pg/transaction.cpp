// Postgres side of transaction.hpp. Every Postgres call goes through PgCall; the lambdas
// hold only trivially destructible locals.
#include "waypoint/ext/transaction.hpp"

#include "waypoint/ext/guard.hpp"

extern "C" {
#include "access/xact.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "tcop/tcopprot.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
}

namespace waypoint::ext::pg {
namespace {

MemoryContext g_outer_context = nullptr;  // CurrentMemoryContext before the transaction
MemoryContext g_sub_context = nullptr;    // ... before the subtransaction
ResourceOwner g_sub_owner = nullptr;

}  // namespace

void BeginTransaction(const char* activity) {
  g_outer_context = CurrentMemoryContext;
  PgCall([&] {
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
  });
  int rc = 0;
  PgCall([&] { rc = SPI_connect(); });
  if (rc != SPI_OK_CONNECT) throw SqlError(ERRCODE_INTERNAL_ERROR, "SPI_connect failed");
  PgCall([&] {
    PushActiveSnapshot(GetTransactionSnapshot());
    debug_query_string = activity;
    pgstat_report_activity(STATE_RUNNING, activity);
  });
}

void CommitTransaction() {
  PgCall([] {
    SPI_finish();
    PopActiveSnapshot();
  });
  PgCall([] { CommitTransactionCommand(); });
  MemoryContextSwitchTo(g_outer_context);
  PgCall([] {
    debug_query_string = nullptr;
    pgstat_report_stat(true);
    pgstat_report_activity(STATE_IDLE, nullptr);
  });
}

void AbortTransaction() {
  // AbortCurrentTransaction also unwinds SPI, snapshots and subtransactions.
  PgCall([] { AbortCurrentTransaction(); });
  if (g_outer_context != nullptr) MemoryContextSwitchTo(g_outer_context);
  PgCall([] {
    debug_query_string = nullptr;
    pgstat_report_activity(STATE_IDLE, nullptr);
  });
}

void BeginSubTransaction() {
  g_sub_context = CurrentMemoryContext;
  g_sub_owner = CurrentResourceOwner;
  PgCall([] { BeginInternalSubTransaction(nullptr); });
}

void CommitSubTransaction() {
  PgCall([] { ReleaseCurrentSubTransaction(); });
  MemoryContextSwitchTo(g_sub_context);
  CurrentResourceOwner = g_sub_owner;
}

void RollbackSubTransaction() {
  PgCall([] { RollbackAndReleaseCurrentSubTransaction(); });
  MemoryContextSwitchTo(g_sub_context);
  CurrentResourceOwner = g_sub_owner;
}

}  // namespace waypoint::ext::pg
