#pragma once

#include <string_view>

#include "db/error.hpp"
#include "http/problem.hpp"
#include "http/response.hpp"

namespace myriad::api {

/// The HTTP answer for a database failure that the handler has no specific meaning for
/// (a duplicate key, say, is the handler's to turn into 409 before calling this):
///   kPoolExhausted             -> 503 overloaded (Retry-After): every connection is busy
///   kConnection                -> 503 unavailable: the database cannot be reached
///   kTimeout, kCancelled       -> 504: the request's time ran out, the query was cancelled
///   kQuery, kBadData, others   -> 500: a bug or a schema mismatch; logged with the
///                                 request id, never shown to the client (it may quote SQL)
http::Error ToHttpError(const db::DbError& error, std::string_view request_id);

/// ProblemResponse(ToHttpError(...)) plus Retry-After on 503s.
http::Response DbProblem(const db::DbError& error, std::string_view request_id);

}  // namespace myriad::api
