// Transaction and SPI helpers for the workers (see spi.hpp). Every Postgres call goes
// through PgCall; the lambdas hold only trivially destructible locals.
#include "spi.hpp"

#include <stdexcept>

#include "waypoint/ext/guard.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
}

namespace waypoint::bgw {
namespace {

MemoryContext g_outer_context = nullptr;  // CurrentMemoryContext before the transaction
MemoryContext g_sub_context = nullptr;    // ... before the subtransaction
ResourceOwner g_sub_owner = nullptr;
bool g_spi_connected = false;

}  // namespace

void BeginTransaction(const char* activity) {
  g_outer_context = CurrentMemoryContext;
  ext::PgCall([&] {
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
  });
  int rc = 0;
  ext::PgCall([&] { rc = SPI_connect(); });
  if (rc != SPI_OK_CONNECT) throw std::runtime_error("SPI_connect failed");
  g_spi_connected = true;
  ext::PgCall([&] {
    PushActiveSnapshot(GetTransactionSnapshot());
    debug_query_string = activity;
    pgstat_report_activity(STATE_RUNNING, activity);
  });
}

void CommitTransaction() {
  ext::PgCall([] {
    SPI_finish();
    PopActiveSnapshot();
  });
  g_spi_connected = false;
  ext::PgCall([] { CommitTransactionCommand(); });
  MemoryContextSwitchTo(g_outer_context);
  ext::PgCall([] {
    debug_query_string = nullptr;
    pgstat_report_stat(true);
    pgstat_report_activity(STATE_IDLE, nullptr);
  });
}

void AbortTransaction() {
  // AbortCurrentTransaction also unwinds SPI, snapshots and subtransactions.
  g_spi_connected = false;
  ext::PgCall([] { AbortCurrentTransaction(); });
  if (g_outer_context != nullptr) MemoryContextSwitchTo(g_outer_context);
  ext::PgCall([] {
    debug_query_string = nullptr;
    pgstat_report_activity(STATE_IDLE, nullptr);
  });
}

std::vector<Row> Exec(const char* sql, const Params& params) {
  const int n = static_cast<int>(params.size());
  int rc = 0;
  uint64 nrows = 0;
  int ncols = 0;
  char** cells = nullptr;  // palloc'd, nrows * ncols, NULL for SQL NULL
  const Params* p = &params;
  ext::PgCall([&] {
    Oid* types = static_cast<Oid*>(palloc0(sizeof(Oid) * (n + 1)));
    Datum* values = static_cast<Datum*>(palloc0(sizeof(Datum) * (n + 1)));
    char* nulls = static_cast<char*>(palloc0(n + 1));
    for (int i = 0; i < n; ++i) {
      const Value& v = (*p)[i];
      types[i] = TEXTOID;
      if (v.has_value()) {
        values[i] = PointerGetDatum(cstring_to_text_with_len(v->data(), static_cast<int>(v->size())));
        nulls[i] = ' ';
      } else {
        nulls[i] = 'n';
      }
    }
    rc = SPI_execute_with_args(sql, n, types, values, nulls, false, 0);
    if (rc >= 0 && SPI_tuptable != nullptr) {
      nrows = SPI_processed;
      ncols = SPI_tuptable->tupdesc->natts;
      cells = static_cast<char**>(palloc0(sizeof(char*) * (nrows * ncols + 1)));
      for (uint64 r = 0; r < nrows; ++r)
        for (int c = 0; c < ncols; ++c)
          cells[r * ncols + c] = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, c + 1);
    }
  });
  if (rc < 0) throw std::runtime_error(std::string("SPI failed: ") + SPI_result_code_string(rc));
  std::vector<Row> rows;
  rows.reserve(nrows);
  for (uint64 r = 0; r < nrows; ++r) {
    Row row;
    for (int c = 0; c < ncols; ++c) {
      const char* cell = cells[r * ncols + c];
      row.push_back(cell ? Value(cell) : Value());
    }
    rows.push_back(std::move(row));
  }
  if (cells != nullptr)
    ext::PgCall([&] {
      if (SPI_tuptable != nullptr) SPI_freetuptable(SPI_tuptable);
    });
  return rows;
}

void BeginSubTransaction() {
  g_sub_context = CurrentMemoryContext;
  g_sub_owner = CurrentResourceOwner;
  ext::PgCall([] { BeginInternalSubTransaction(nullptr); });
}

void CommitSubTransaction() {
  ext::PgCall([] { ReleaseCurrentSubTransaction(); });
  MemoryContextSwitchTo(g_sub_context);
  CurrentResourceOwner = g_sub_owner;
}

void RollbackSubTransaction() {
  ext::PgCall([] { RollbackAndReleaseCurrentSubTransaction(); });
  MemoryContextSwitchTo(g_sub_context);
  CurrentResourceOwner = g_sub_owner;
}

bool ExtensionExists() {
  bool exists = false;
  ext::PgCall([&] { exists = OidIsValid(get_extension_oid("waypoint", true)); });
  return exists;
}

}  // namespace waypoint::bgw
