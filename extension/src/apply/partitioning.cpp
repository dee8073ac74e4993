// waypoint.fid_partition_hash(fid bigint, seed bigint) RETURNS bigint: the hash support
// function of the operator class waypoint.fid_partition_ops, which partitions the
// per-fid tables by fid (sql/install/10_apply_tables.sql, docs/storage.md).
//
// PostgreSQL routes a row of a hash-partitioned table to the partition whose remainder
// is combined % modulus, where combined = h + 0x49a0f4dd15e5a8e3 (hash_combine64 of 0
// and the support function's result h, for a one-column key; partbounds.c). Returning
// fid - 0x49a0f4dd15e5a8e3 (mod 2^64) makes combined = fid: partition = fid % modulus,
// the stream partitions' rule. Were a future PostgreSQL to combine differently, rows
// would still be routed and found consistently (the same function decides both), only
// no longer aligned with the streams; the pg_regress test storage_layout checks it.
extern "C" {
#include "postgres.h"

#include "fmgr.h"

PG_FUNCTION_INFO_V1(waypoint_fid_partition_hash);
PG_FUNCTION_INFO_V1(waypoint_fid_partition_hash_int4);

static Datum FidPartitionHash(int64 fid) {
  return Int64GetDatum(static_cast<int64>(static_cast<uint64>(fid) - UINT64CONST(0x49a0f4dd15e5a8e3)));
}

Datum waypoint_fid_partition_hash(PG_FUNCTION_ARGS) { return FidPartitionHash(PG_GETARG_INT64(0)); }

// The same hash for an integer fid: equal values hash alike across the operator family.
Datum waypoint_fid_partition_hash_int4(PG_FUNCTION_ARGS) { return FidPartitionHash(PG_GETARG_INT32(0)); }
}
