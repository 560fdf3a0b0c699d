#include "db/error.hpp"

#include <libpq-fe.h>

#include <cctype>

namespace myriad::db {

std::string DbError::Describe() const {
  return std::string(ToString(kind)) + " [" + sqlstate + "] " + message;
}

std::string_view ToString(DbErrorKind kind) {
  switch (kind) {
    case DbErrorKind::kConnection:
      return "connection";
    case DbErrorKind::kQuery:
      return "query";
    case DbErrorKind::kTimeout:
      return "timeout";
    case DbErrorKind::kCancelled:
      return "cancelled";
    case DbErrorKind::kBadData:
      return "bad_data";
    case DbErrorKind::kBadParameter:
      return "bad_parameter";
    case DbErrorKind::kPoolExhausted:
      return "pool_exhausted";
  }
  return "unknown";
}

std::string_view DbError::SqlStateClass() const {
  if (sqlstate.size() != 5) return {};
  return std::string_view(sqlstate).substr(0, 2);
}

DbErrorKind ClassifySqlState(std::string_view sqlstate) {
  if (sqlstate.size() != 5) return DbErrorKind::kQuery;
  for (char c : sqlstate) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0) return DbErrorKind::kQuery;
  }
  if (sqlstate.substr(0, 2) == "08") return DbErrorKind::kConnection;
  if (sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03") {
    return DbErrorKind::kConnection;
  }
  if (sqlstate == "57014") return DbErrorKind::kCancelled;
  return DbErrorKind::kQuery;
}

DbError ErrorFromResult(const pg_result* result) {
  if (result == nullptr) return DbError{DbErrorKind::kConnection, {}, "no result"};
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  std::string message = primary != nullptr ? primary : PQresultErrorMessage(result);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.pop_back();
  }
  if (state == nullptr || *state == '\0') {
    return DbError{DbErrorKind::kConnection, {}, std::move(message)};
  }
  return DbError{ClassifySqlState(state), state, std::move(message)};
}

}  // namespace myriad::db
