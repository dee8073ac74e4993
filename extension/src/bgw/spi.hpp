// The transaction sequence of a background worker, in one place,
// and a text-in/text-out SPI statement helper for the control tables.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace waypoint::bgw {

using Value = std::optional<std::string>;
using Params = std::vector<Value>;
using Row = std::vector<Value>;

// BeginTransaction: statement start timestamp, StartTransactionCommand, SPI_connect,
// PushActiveSnapshot, pg_stat_activity "active" with `activity`.
void BeginTransaction(const char* activity);
// CommitTransaction: SPI_finish, PopActiveSnapshot, CommitTransactionCommand (durable:
// synchronous_commit is whatever the server says, on by default), restores the memory
// context saved by BeginTransaction, flushes statistics, reports idle. Throws PgError if
// the commit fails (the transaction is then aborted by the caller).
void CommitTransaction();
// AbortTransaction rolls back whatever is open and restores the saved memory context.
void AbortTransaction();

// Exec runs `sql` with text parameters ($1::bigint etc. in the SQL) and returns the rows
// as text. Throws PgError on a database error, std::runtime_error on an SPI failure.
std::vector<Row> Exec(const char* sql, const Params& params = {});

// Subtransaction around one risky call inside an open transaction.
void BeginSubTransaction();
void CommitSubTransaction();
void RollbackSubTransaction();

// True when CREATE EXTENSION waypoint has been run (inside a transaction).
bool ExtensionExists();

}  // namespace waypoint::bgw
