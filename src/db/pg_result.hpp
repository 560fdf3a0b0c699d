#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "db/error.hpp"

namespace myriad::db {

/// One statement's result: owns the libpq PGresult (freed with it), move-only, immutable.
/// Values arrive in text format; the typed getters parse them and return kBadData, never
/// throw or assert, for NULL, malformed or out-of-range values and for a row or column
/// that does not exist (replies are untrusted input). Safe to read on any thread.
class PgResult {
 public:
  PgResult() = default;
  /// Takes ownership of `result` (may be null: an empty result with no rows).
  explicit PgResult(pg_result* result) : result_(result) {}

  int rows() const;
  int columns() const;
  /// Rows changed by INSERT/UPDATE/DELETE (PQcmdTuples), 0 when the command reports none.
  std::int64_t affected_rows() const;
  /// The column's index, or -1 when there is no column of that name.
  int ColumnIndex(std::string_view name) const;
  std::string_view ColumnName(int column) const;

  /// True for SQL NULL and for a cell that does not exist.
  bool IsNull(int row, int column) const;
  DbResult<std::string_view> GetString(int row, int column) const;
  DbResult<std::int64_t> GetInt64(int row, int column) const;
  DbResult<bool> GetBool(int row, int column) const;

  bool IsNull(int row, std::string_view column) const { return IsNull(row, ColumnIndex(column)); }
  DbResult<std::string_view> GetString(int row, std::string_view column) const {
    return GetString(row, ColumnIndex(column));
  }
  DbResult<std::int64_t> GetInt64(int row, std::string_view column) const {
    return GetInt64(row, ColumnIndex(column));
  }
  DbResult<bool> GetBool(int row, std::string_view column) const {
    return GetBool(row, ColumnIndex(column));
  }

  const pg_result* get() const { return result_.get(); }

 private:
  struct Clear {
    void operator()(pg_result* r) const;
  };
  DbResult<std::string_view> Cell(int row, int column) const;
  std::unique_ptr<pg_result, Clear> result_;
};

}  // namespace myriad::db
