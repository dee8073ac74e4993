// Postgres side of spi.hpp: C++ columns -> Postgres arrays and values -> SPI_execute_plan.
#include "waypoint/ext/spi.hpp"

#include "waypoint/ext/guard.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
}

namespace waypoint::ext::pg {
namespace {

struct TypeInfo {
  Oid elem;
  Oid array;
  int16 len;
  bool byval;
  char align;
};

TypeInfo Info(ParamType t) {
  switch (t) {
    case ParamType::kInt8: return {INT8OID, INT8ARRAYOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE};
    case ParamType::kInt4: return {INT4OID, INT4ARRAYOID, 4, true, TYPALIGN_INT};
    case ParamType::kBool: return {BOOLOID, BOOLARRAYOID, 1, true, TYPALIGN_CHAR};
    case ParamType::kText: return {TEXTOID, TEXTARRAYOID, -1, false, TYPALIGN_INT};
    case ParamType::kBytea: return {BYTEAOID, BYTEAARRAYOID, -1, false, TYPALIGN_INT};
    case ParamType::kTimestamptz: return {TIMESTAMPTZOID, TIMESTAMPTZARRAYOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE};
  }
  return {InvalidOid, InvalidOid, 0, false, 'c'};
}

// The datum of p's value i, in the current memory context. Only POD locals: it runs
// inside PgCall.
Datum ElementDatum(const ArrayParam& p, size_t i) {
  switch (p.type()) {
    case ParamType::kInt8:
    case ParamType::kTimestamptz: return Int64GetDatum(p.int_at(i));
    case ParamType::kInt4: return Int32GetDatum(static_cast<int32>(p.int_at(i)));
    case ParamType::kBool: return BoolGetDatum(p.int_at(i) != 0);
    case ParamType::kText:
    case ParamType::kBytea: {
      const std::string_view s = p.str_at(i);
      // text and bytea share the varlena layout.
      return PointerGetDatum(cstring_to_text_with_len(s.data(), static_cast<int>(s.size())));
    }
  }
  return (Datum)0;
}

// Builds a one-dimensional Postgres array of `p` in the current memory context. Only
// POD locals: it runs inside PgCall. Text and bytea arrays are laid out here in one
// allocation (what construct_md_array would build, without a palloc and a copy per
// element): 4-byte varlena headers, each element int-aligned, a null bitmap when needed.
Datum BuildArray(const ArrayParam& p) {
  const TypeInfo ti = Info(p.type());
  const int n = static_cast<int>(p.size());
  if (n == 0) return PointerGetDatum(construct_empty_array(ti.elem));
  if (ti.len == -1) {
    bool hasnull = false;
    Size data = 0;
    for (int i = 0; i < n; ++i) {
      if (p.null_at(i))
        hasnull = true;
      else
        data += INTALIGN(VARHDRSZ + p.str_at(i).size());
    }
    const int32 dataoffset = hasnull ? ARR_OVERHEAD_WITHNULLS(1, n) : 0;
    const Size total = (hasnull ? dataoffset : ARR_OVERHEAD_NONULLS(1)) + data;
    if (!AllocSizeIsValid(total))
      ereport(ERROR,
              (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED), errmsg("array parameter of %zu bytes is too large", total)));
    ArrayType* a = static_cast<ArrayType*>(palloc0(total));
    SET_VARSIZE(a, total);
    a->ndim = 1;
    a->dataoffset = dataoffset;
    a->elemtype = ti.elem;
    ARR_DIMS(a)[0] = n;
    ARR_LBOUND(a)[0] = 1;
    bits8* bitmap = ARR_NULLBITMAP(a);
    char* out = ARR_DATA_PTR(a);
    for (int i = 0; i < n; ++i) {
      if (p.null_at(i)) continue;  // bit stays 0: NULL
      if (bitmap != nullptr) bitmap[i / 8] |= static_cast<bits8>(1 << (i % 8));
      const std::string_view s = p.str_at(i);
      SET_VARSIZE(out, VARHDRSZ + s.size());
      memcpy(VARDATA(out), s.data(), s.size());
      out += INTALIGN(VARHDRSZ + s.size());
    }
    return PointerGetDatum(a);
  }
  Datum* elems = static_cast<Datum*>(palloc(sizeof(Datum) * n));
  bool* nulls = static_cast<bool*>(palloc(sizeof(bool) * n));
  for (int i = 0; i < n; ++i) {
    nulls[i] = p.null_at(i);
    elems[i] = nulls[i] ? (Datum)0 : ElementDatum(p, i);  // fixed-width types only here
  }
  int dims[1] = {n};
  int lbs[1] = {1};
  return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs, ti.elem, ti.len, ti.byval, ti.align));
}

bool IsScalar(const PreparedStatement& stmt, size_t i) {
  for (int n : stmt.scalars)
    if (n == static_cast<int>(i) + 1) return true;
  return false;
}

// Appends the returned rows to `result` (one ArrayParam per column). Only POD locals
// besides the caller's vectors: it runs inside PgCall.
void ReadResult(std::vector<ArrayParam>& result) {
  SPITupleTable* tt = SPI_tuptable;
  if (tt == nullptr) return;
  const int ncols =
      tt->tupdesc->natts < static_cast<int>(result.size()) ? tt->tupdesc->natts : static_cast<int>(result.size());
  for (uint64 r = 0; r < SPI_processed; ++r) {
    for (int c = 0; c < ncols; ++c) {
      bool isnull = false;
      const Datum d = SPI_getbinval(tt->vals[r], tt->tupdesc, c + 1, &isnull);
      ArrayParam& col = result[c];
      if (isnull) {
        col.AddNull();
        continue;
      }
      switch (col.type()) {
        case ParamType::kInt8:
        case ParamType::kTimestamptz: col.AddInt(DatumGetInt64(d)); break;
        case ParamType::kInt4: col.AddInt(DatumGetInt32(d)); break;
        case ParamType::kBool: col.AddBool(DatumGetBool(d)); break;
        case ParamType::kText:
        case ParamType::kBytea: {
          text* t = DatumGetTextPP(d);
          col.AddStr(std::string_view(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)));
          break;
        }
      }
    }
  }
}

}  // namespace

void ArrayParam::AddUint(uint64_t v) {
  const bool int4 = type_ == ParamType::kInt4;
  const uint64_t max = int4 ? static_cast<uint64_t>(PG_INT32_MAX) : static_cast<uint64_t>(PG_INT64_MAX);
  if (v > max)
    throw PgError(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
                  "value \"" + std::to_string(v) + "\" is out of range for type " + (int4 ? "integer" : "bigint"));
  AddInt(static_cast<int64_t>(v));
}

uint64_t ExecuteArrays(PreparedStatement& stmt, const std::vector<ArrayParam>& params,
                       std::vector<ArrayParam>* result) {
  if (params.size() != stmt.types.size() || params.size() > FUNC_MAX_ARGS)
    throw SqlError(ERRCODE_INTERNAL_ERROR, std::string("statement ") + stmt.name + ": wrong number of parameters");
  for (size_t i = 0; i < params.size(); ++i)
    if (params[i].type() != stmt.types[i] || (IsScalar(stmt, i) && params[i].size() != 1))
      throw SqlError(ERRCODE_INTERNAL_ERROR,
                     std::string("statement ") + stmt.name + ": parameter $" + std::to_string(i + 1) + " does not fit");
  if (stmt.plan == nullptr) {
    Oid argtypes[FUNC_MAX_ARGS];
    const int nargs = static_cast<int>(stmt.types.size());
    for (int i = 0; i < nargs; ++i)
      argtypes[i] = IsScalar(stmt, i) ? Info(stmt.types[i]).elem : Info(stmt.types[i]).array;
    SPIPlanPtr plan = nullptr;
    PgCall([&] {
      plan = SPI_prepare(stmt.sql.c_str(), nargs, argtypes);
      if (plan != nullptr && SPI_keepplan(plan) != 0) plan = nullptr;
    });
    if (plan == nullptr)
      throw SqlError(ERRCODE_INTERNAL_ERROR,
                     std::string("SPI_prepare failed for ") + stmt.name + ": " + SPI_result_code_string(SPI_result));
    stmt.plan = plan;
  }

  // The parameter arrays live in a context of their own, freed right after the
  // statement, so a long batch loop does not accumulate them.
  MemoryContext param_cxt = nullptr;
  MemoryContext old_cxt = CurrentMemoryContext;
  Datum values[FUNC_MAX_ARGS];
  char nulls[FUNC_MAX_ARGS];
  int rc = 0;
  uint64 processed = 0;
  try {
    PgCall([&] {
      param_cxt = AllocSetContextCreate(CurrentMemoryContext, "waypoint apply params", ALLOCSET_DEFAULT_SIZES);
      MemoryContextSwitchTo(param_cxt);
      for (size_t i = 0; i < params.size(); ++i) {
        const bool scalar = IsScalar(stmt, i);
        const bool null = scalar && params[i].null_at(0);
        values[i] = null ? (Datum)0 : scalar ? ElementDatum(params[i], 0) : BuildArray(params[i]);
        nulls[i] = null ? 'n' : ' ';
      }
      MemoryContextSwitchTo(old_cxt);
      rc = SPI_execute_plan(static_cast<SPIPlanPtr>(stmt.plan), values, nulls, false, 0);
      processed = SPI_processed;
      if (result != nullptr && rc > 0) ReadResult(*result);
      if (SPI_tuptable != nullptr) SPI_freetuptable(SPI_tuptable);
      MemoryContextDelete(param_cxt);
      param_cxt = nullptr;
    });
  } catch (...) {
    // The context is a child of the aborting transaction's memory; it goes with it.
    MemoryContextSwitchTo(old_cxt);
    throw;
  }
  if (rc < 0)
    throw SqlError(ERRCODE_INTERNAL_ERROR,
                   std::string("statement ") + stmt.name + " failed: " + SPI_result_code_string(rc));
  return processed;
}

}  // namespace waypoint::ext::pg
