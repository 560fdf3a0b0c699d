#include "api/db_problem.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>

namespace myriad::api {
namespace {

// While the database is down every request fails the same way: at tens of thousands of
// requests a second, a line each would flood the log (and a blocked stderr would stall the
// io thread). One line per second per io thread, with the count of those left out.
bool ShouldLog(std::uint64_t& suppressed) {
  struct Throttle {
    std::chrono::steady_clock::time_point next{};
    std::uint64_t suppressed = 0;
  };
  thread_local Throttle throttle;
  const auto now = std::chrono::steady_clock::now();
  if (now < throttle.next) {
    ++throttle.suppressed;
    return false;
  }
  throttle.next = now + std::chrono::seconds(1);
  suppressed = throttle.suppressed;
  throttle.suppressed = 0;
  return true;
}

}  // namespace

http::Error ToHttpError(const db::DbError& error, std::string_view request_id) {
  using db::DbErrorKind;
  switch (error.kind) {
    case DbErrorKind::kPoolExhausted:
      return {http::ErrorCode::kOverloaded, "Every database connection is busy; retry shortly."};
    case DbErrorKind::kConnection:
      if (std::uint64_t suppressed = 0; ShouldLog(suppressed)) {
        spdlog::warn("request {}: database unavailable: {} ({} more in the last second)",
                     request_id, error.Describe(), suppressed);
      }
      return {http::ErrorCode::kUnavailable, "The database is unavailable; retry shortly."};
    case DbErrorKind::kTimeout:
    case DbErrorKind::kCancelled:
      return {http::ErrorCode::kGatewayTimeout,
              "The database did not answer in time; the query was cancelled."};
    case DbErrorKind::kQuery:
    case DbErrorKind::kBadData:
    case DbErrorKind::kBadParameter:
      break;
  }
  if (std::uint64_t suppressed = 0; ShouldLog(suppressed)) {
    spdlog::error("request {}: database error: {} ({} more in the last second)", request_id,
                  error.Describe(), suppressed);
  }
  return {http::ErrorCode::kInternal, "Internal error."};
}

http::Response DbProblem(const db::DbError& error, std::string_view request_id) {
  http::Error http_error = ToHttpError(error, request_id);
  http::Response response = http::ProblemResponse(http_error, request_id);
  if (response.status == 503) response.Header("Retry-After", "1");
  return response;
}

}  // namespace myriad::api
