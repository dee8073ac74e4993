// Transactions of a background worker, in one place: the sequence that opens one (with
// SPI connected, so spi.hpp's statements can run), commits it durably or aborts it,
// subtransactions inside it, and WithTransaction, which ties the three together.
//
// No Postgres headers here (like spi.hpp). Failures are the guard's exceptions
// (guard.hpp): PgError for a Postgres ERROR (its SQLSTATE kept), SqlError when SPI
// itself refuses (SPI_connect).
#pragma once

#include <type_traits>

namespace waypoint::ext::pg {

// BeginTransaction: statement start timestamp, StartTransactionCommand, SPI_connect,
// PushActiveSnapshot, pg_stat_activity "active" with `activity` (a string that outlives
// the transaction: it is shown while the transaction runs).
void BeginTransaction(const char* activity);
// CommitTransaction: SPI_finish, PopActiveSnapshot, CommitTransactionCommand (durable:
// synchronous_commit is whatever the server says, on by default), restores the memory
// context saved by BeginTransaction, flushes statistics, reports idle. Throws PgError if
// the commit fails (the caller then aborts).
void CommitTransaction();
// AbortTransaction rolls back whatever is open (SPI, snapshots, subtransactions
// included) and restores the saved memory context. Harmless when nothing is open.
void AbortTransaction();

// WithTransaction runs fn() in a transaction of its own: commits when fn returns,
// aborts and rethrows when fn (or the commit) throws anything. Returns what fn returns.
template <typename F>
auto WithTransaction(const char* activity, F&& fn) -> decltype(fn()) {
  try {
    BeginTransaction(activity);
    if constexpr (std::is_void_v<decltype(fn())>) {
      fn();
      CommitTransaction();
    } else {
      auto result = fn();
      CommitTransaction();
      return result;
    }
  } catch (...) {
    AbortTransaction();
    throw;
  }
}

// Subtransaction around one risky call inside an open transaction (not nested): after
// a PgError inside it, roll it back and the transaction goes on.
void BeginSubTransaction();
void CommitSubTransaction();
void RollbackSubTransaction();

}  // namespace waypoint::ext::pg
