#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

struct pg_result;  // PGresult, from libpq-fe.h

namespace myriad::db {

/// What went wrong with a database call, coarse enough to pick a reaction: retry on another
/// connection, answer 503/504, or report the query's own SQLSTATE.
enum class DbErrorKind {
  kConnection,     // could not connect, or the connection was lost/closed/broken
  kQuery,          // the server rejected the statement; see sqlstate
  kTimeout,        // the caller's deadline passed; the server-side statement was cancelled
  kCancelled,      // the caller cancelled, or the server cancelled the statement (57014)
  kBadData,        // a value in a result is NULL or does not parse as the asked-for type
  kBadParameter,   // a parameter cannot be sent (text parameters may not contain NUL)
  kPoolExhausted,  // no room on any pooled connection within the pool's acquire timeout
};

std::string_view ToString(DbErrorKind kind);

/// A database error as a value. `sqlstate` is the five-character SQLSTATE when the server
/// sent one, else empty. `message` is for logs only: it may quote SQL and must never reach
/// an HTTP response (docs/design/errors.md).
struct DbError {
  DbErrorKind kind = DbErrorKind::kConnection;
  std::string sqlstate;
  std::string message;

  /// The SQLSTATE class ("23" for integrity constraint violations), or "" if none.
  std::string_view SqlStateClass() const;
  bool Is(std::string_view state) const { return sqlstate == state; }
  /// "kind [SQLSTATE] message", for logs and test failures.
  std::string Describe() const;
};

template <class T>
using DbResult = core::Result<T, DbError>;

inline core::Unexpected<DbError> MakeDbError(DbErrorKind kind, std::string message,
                                             std::string sqlstate = {}) {
  return core::Unexpected<DbError>{DbError{kind, std::move(sqlstate), std::move(message)}};
}

/// The kind for a server error's SQLSTATE: class 08 and the shutdown states 57P01..57P03
/// mean the connection is gone; 57014 (query_canceled) is kCancelled; anything else,
/// including a missing or malformed state, is kQuery.
DbErrorKind ClassifySqlState(std::string_view sqlstate);

/// The error carried by a failed PGresult (status FATAL_ERROR or BAD_RESPONSE); the kind
/// comes from ClassifySqlState. A result without a SQLSTATE is a protocol-level failure
/// and counts as kConnection.
DbError ErrorFromResult(const pg_result* result);

}  // namespace myriad::db
