#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/response.hpp"

namespace myriad::http {

/// Every way a request can fail. The one mapping from these to an HTTP status and a
/// problem type lives in problem.cpp (docs/design/errors.md lists them).
enum class ErrorCode {
  kBadRequest,            // 400 malformed HTTP or unusable input
  kUnauthorized,          // 401
  kForbidden,             // 403
  kNotFound,              // 404
  kMethodNotAllowed,      // 405
  kRequestTimeout,        // 408 client too slow sending its request
  kConflict,              // 409
  kPreconditionFailed,    // 412
  kPayloadTooLarge,       // 413
  kUnsupportedMediaType,  // 415
  kValidation,            // 422
  kTooManyRequests,       // 429
  kTooManyConnections,    // 429 too many open connections from one client address
  kHeadersTooLarge,       // 431
  kInternal,              // 500
  kNotImplemented,        // 501
  kOverloaded,            // 503 concurrency limit: retry later
  kUnavailable,           // 503 a dependency is down or the server is draining
  kGatewayTimeout,        // 504 a dependency ran out of time
  kVersionNotSupported,   // 505
};

/// One invalid input field of a 422: which field ("email", "" for the whole body), a
/// stable machine-readable code ("required", "too_long", "invalid", "unknown_field"...) and
/// a sentence for people.
struct FieldError {
  std::string field;
  std::string code;
  std::string message;
};

/// A typed error travelling up a request path.
struct Error {
  Error() = default;
  // A constructor rather than aggregate initialisation, so {code, detail} needs no errors.
  Error(ErrorCode c, std::string d = {}, std::vector<FieldError> e = {})
      : code(c), detail(std::move(d)), errors(std::move(e)) {}

  ErrorCode code = ErrorCode::kInternal;
  std::string detail;
  /// Per-field errors, sent as the problem's "errors" member when not empty.
  std::vector<FieldError> errors;
};

/// The single mapping from error to HTTP status.
int GetHttpStatus(ErrorCode code);
/// "urn:myriad:problem:<slug>", stable: clients may switch on it.
std::string_view GetProblemType(ErrorCode code);
/// Short, human-readable, the same for every occurrence of the code.
std::string_view GetProblemTitle(ErrorCode code);
/// The standard reason phrase for a status ("Not Found"); "Unknown" if none.
std::string_view ReasonPhrase(int status);

/// An RFC 9457 application/problem+json response with type, title, status, detail and
/// request_id, plus "errors": [{"field", "code", "message"}...] when the error has field
/// errors. 401 gets WWW-Authenticate; the caller adds Allow, Retry-After and friends.
Response ProblemResponse(const Error& error, std::string_view request_id);

}  // namespace myriad::http
