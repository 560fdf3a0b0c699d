#include "db/pg_result.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <string>

namespace myriad::db {

void PgResult::Clear::operator()(pg_result* r) const { PQclear(r); }

int PgResult::rows() const { return result_ ? PQntuples(result_.get()) : 0; }

int PgResult::columns() const { return result_ ? PQnfields(result_.get()) : 0; }

std::int64_t PgResult::affected_rows() const {
  if (!result_) return 0;
  std::string_view text = PQcmdTuples(result_.get());
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) return 0;
  return n;
}

int PgResult::ColumnIndex(std::string_view name) const {
  // PQfnumber would case-fold unquoted names; a plain compare matches what the server sent.
  for (int c = 0; c < columns(); ++c) {
    if (name == PQfname(result_.get(), c)) return c;
  }
  return -1;
}

std::string_view PgResult::ColumnName(int column) const {
  if (column < 0 || column >= columns()) return {};
  return PQfname(result_.get(), column);
}

bool PgResult::IsNull(int row, int column) const {
  if (row < 0 || row >= rows() || column < 0 || column >= columns()) return true;
  return PQgetisnull(result_.get(), row, column) != 0;
}

DbResult<std::string_view> PgResult::Cell(int row, int column) const {
  if (row < 0 || row >= rows()) {
    return MakeDbError(DbErrorKind::kBadData, "row " + std::to_string(row) + " out of range");
  }
  if (column < 0 || column >= columns()) {
    return MakeDbError(DbErrorKind::kBadData, "no column " + std::to_string(column));
  }
  if (PQgetisnull(result_.get(), row, column) != 0) {
    return MakeDbError(DbErrorKind::kBadData,
                       "column " + std::string(ColumnName(column)) + " is NULL");
  }
  return std::string_view(PQgetvalue(result_.get(), row, column),
                          static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
}

DbResult<std::string_view> PgResult::GetString(int row, int column) const {
  return Cell(row, column);
}

DbResult<std::int64_t> PgResult::GetInt64(int row, int column) const {
  auto cell = Cell(row, column);
  if (!cell) return core::Unexpected<DbError>{std::move(cell).error()};
  std::string_view text = *cell;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return MakeDbError(DbErrorKind::kBadData,
                       "column " + std::string(ColumnName(column)) + " is not an int64");
  }
  return value;
}

DbResult<bool> PgResult::GetBool(int row, int column) const {
  auto cell = Cell(row, column);
  if (!cell) return core::Unexpected<DbError>{std::move(cell).error()};
  if (*cell == "t") return true;
  if (*cell == "f") return false;
  return MakeDbError(DbErrorKind::kBadData,
                     "column " + std::string(ColumnName(column)) + " is not a bool");
}

}  // namespace myriad::db
