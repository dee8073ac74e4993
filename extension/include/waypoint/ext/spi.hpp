// The extension's one way to run SQL: statements prepared once per backend
// (SPI_prepare + SPI_keepplan) and executed with typed parameters, so a whole batch of
// rows is one statement (INSERT ... SELECT FROM unnest($1, $2, ...)) with one array
// parameter per column; a statement may also take single values (scalar parameters).
// Values travel as what they are (bytea as bytea, arrays as arrays): no text forms.
// Run inside a transaction with SPI connected (transaction.hpp, or the caller's).
//
// This header holds no Postgres headers: callers build columns from plain C++ values;
// spi.cpp turns them into Postgres datums and runs the plan, every Postgres call
// behind PgCall (a Postgres ERROR becomes a PgError).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace waypoint::ext::pg {

// kTimestamptz values are PostgreSQL timestamps (microseconds since 2000-01-01 UTC).
enum class ParamType { kInt8, kInt4, kBool, kText, kBytea, kTimestamptz };

// A column of values, NULLs allowed: an array parameter, the one value of a scalar
// parameter, or a column a statement returned. Integers are kept as they are; the
// bytes of text and bytea values go into one buffer (element i ends at ints_[i]), so a
// column of a batch costs a few allocations, not one per value.
class ArrayParam {
 public:
  explicit ArrayParam(ParamType type)
      : type_(type), bytes_valued_(type == ParamType::kText || type == ParamType::kBytea) {}
  // A column of one value (for a scalar parameter).
  ArrayParam(ParamType type, int64_t v) : ArrayParam(type) { AddInt(v); }
  ArrayParam(ParamType type, std::string_view v) : ArrayParam(type) { AddStr(v); }

  void AddInt(int64_t v) { ints_.push_back(v), nulls_.push_back(false); }
  void AddBool(bool v) { AddInt(v ? 1 : 0); }
  void AddStr(std::string_view v) {
    bytes_.append(v);
    ints_.push_back(static_cast<int64_t>(bytes_.size())), nulls_.push_back(false);
  }
  void AddNull() { ints_.push_back(bytes_valued_ ? static_cast<int64_t>(bytes_.size()) : 0), nulls_.push_back(true); }
  template <typename T>
  void AddOptInt(const std::optional<T>& v) {
    v ? AddInt(static_cast<int64_t>(*v)) : AddNull();
  }
  void AddOptStr(const std::optional<std::string>& v) { v ? AddStr(*v) : AddNull(); }
  void Reserve(size_t n) { ints_.reserve(n), nulls_.reserve(n); }
  // An unsigned value checked against the column's type (kInt8, kInt4): one that does
  // not fit throws what Postgres' input of the type raises (PgError, SQLSTATE 22003).
  void AddUint(uint64_t v);

  ParamType type() const { return type_; }
  size_t size() const { return nulls_.size(); }
  int64_t int_at(size_t i) const { return ints_[i]; }
  std::string_view str_at(size_t i) const {
    const size_t begin = i == 0 ? 0 : static_cast<size_t>(ints_[i - 1]);
    return std::string_view(bytes_).substr(begin, static_cast<size_t>(ints_[i]) - begin);
  }
  bool null_at(size_t i) const { return nulls_[i]; }
  size_t bytes() const { return bytes_.size(); }

 private:
  ParamType type_;
  bool bytes_valued_;
  std::vector<int64_t> ints_;  // values, or (text, bytea) end offsets into bytes_
  std::string bytes_;
  std::vector<bool> nulls_;
};

// A statement whose plan is kept for the life of the backend. Declare it static; the
// plan is prepared on first use (SPI must be connected) and replanned by Postgres'
// plan cache when the tables change.
struct PreparedStatement {
  const char* name;  // for error messages
  std::string sql;
  std::vector<ParamType> types;  // of $1, $2, ...: arrays of these element types
  // Numbers (1-based) of the parameters that are one value of their type instead.
  std::vector<int> scalars = {};
  void* plan = nullptr;  // SPIPlanPtr
};

// Executes `stmt` with one column per parameter: for an array parameter all of its rows
// (arrays of any length), for a scalar one exactly one value. Returns the number of
// rows processed. With `result`, the rows the statement returns (SELECT, RETURNING)
// are appended to it, column i to (*result)[i], which must have the column's type.
// Throws PgError on a Postgres error, SqlError when SPI reports failure or the
// parameters do not fit the statement.
uint64_t ExecuteArrays(PreparedStatement& stmt, const std::vector<ArrayParam>& params,
                       std::vector<ArrayParam>* result = nullptr);

}  // namespace waypoint::ext::pg
