#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "loadgen/histogram.hpp"

namespace myriad::load {

/// Why a request failed. Responses with a status the request does not accept count under
/// kStatus, broken down by status code in Counters::statuses.
enum class ErrorKind : std::uint8_t {
  kConnect,   // could not connect (refused, unreachable) or the connect timed out
  kTimeout,   // no complete response within the request timeout
  kReset,     // the server closed or reset the connection mid-request
  kProtocol,  // a response that is not valid HTTP/1.1, or a capture that found nothing
  kStatus,    // a complete response whose status the request does not accept
};
inline constexpr std::size_t kErrorKinds = 5;
/// "connect", "timeout", "reset", "protocol", "status".
const char* ErrorKindName(ErrorKind kind);

/// What one group of requests (a task, or all of them) did.
struct Counters {
  Histogram latency;          // every completed or failed request's latency, in microseconds
  std::int64_t requests = 0;  // answered or failed: ok + errors
  std::int64_t ok = 0;
  std::array<std::int64_t, kErrorKinds> errors{};
  /// Status codes counted as kStatus errors: status -> count.
  std::map<int, std::int64_t> statuses;
  std::int64_t bytes_received = 0;

  std::int64_t Errors() const;
  void Merge(const Counters& other);
};

/// One second of the run (or whatever the sampling interval is): merged over threads.
struct IntervalSample {
  double start_s = 0;  // since the start of the run (warm-up included)
  double length_s = 1;
  bool warmup = false;  // inside the warm-up: excluded from the totals
  std::int64_t requests = 0;
  std::int64_t errors = 0;
  std::int64_t p50_us = 0;
  std::int64_t p90_us = 0;
  std::int64_t p99_us = 0;
  std::int64_t max_us = 0;
  std::int64_t users = 0;        // virtual users alive at the end of the interval
  std::int64_t connections = 0;  // open connections at the end of the interval
};

/// Everything a finished run measured; what the table, --json and --html show.
struct RunResult {
  std::string mode;    // "closed", "open" or "users"
  std::string target;  // the URL, or the scenario's name and base URL
  std::string command_line;
  std::string started_at;  // UTC, ISO 8601
  int threads = 1;
  std::int64_t connections = 0;  // -c (closed/open) or the peak open connections (users)
  std::int64_t users = 0;        // --users (0 unless mode "users")
  double spawn_rate = 0;
  std::string rate;  // --rate as given ("" unless mode "open")
  double warmup_s = 0;
  double duration_s = 0;                // measured time (warm-up excluded)
  Counters total;                       // all measured requests
  std::string latency_end = "arrival";  // "arrival" or "read" (LatencyEnd)
  /// total's latencies again, each ending when this process read the response instead of
  /// when it arrived (Response::received_at): what wrk measures. The difference is this
  /// process's own wait, with thousands of connections per thread. With latency_end "read",
  /// the same as total.latency.
  Histogram latency_at_read;
  /// Per task, in scenario order; for a plain URL one task named after the request.
  std::vector<std::pair<std::string, Counters>> tasks;
  std::vector<IntervalSample> timeline;
  /// Open loop: arrivals that were still waiting for a connection when the run ended
  /// (they count as kTimeout errors too).
  std::int64_t unsent = 0;
  /// "SIGINT" or "SIGTERM" when a signal stopped the run before its end: the figures cover
  /// the time until then. Empty when it ran as planned.
  std::string interrupted_by;

  double RequestsPerSecond() const;
};

}  // namespace myriad::load
