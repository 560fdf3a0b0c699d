#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "http/method.hpp"

namespace prometheus {
class Collectable;
}

namespace myriad::metrics {

/// Why the server turned a request or connection away (label `reason`).
enum class Rejection : std::uint8_t {
  kConcurrency,       // --max-concurrency reached: 503
  kConnections,       // --max-connections reached: connection refused
  kTimeout,           // header/body/idle/write timeout
  kTooLarge,          // 413 / 431
  kBadRequest,        // malformed HTTP: 400
  kPerIpConnections,  // --max-connections-per-ip reached: canned 429, connection closed
};
inline constexpr std::size_t kRejectionCount = 6;

/// HTTP metrics kept in per-io-thread shards so that the hot path takes no lock, makes no
/// allocation and shares no cache line (nor adjacent-line pair) with another thread. Each
/// shard has a single writer (its io thread); the scraper reads shards from any thread and
/// merges them.
///
/// Families exposed through Collectable():
///   http_requests_total{method,route,status}            counter, non-zero series only
///   http_request_duration_seconds{route}                histogram, routes observed so far
///   http_rejections_total{reason}                       counter, every reason always
///
/// `status` is the decimal code for every status code registered with IANA in 100-599
/// (100, 200, 404, 429, 503, ...). An unregistered code inside 100-599 is counted under
/// its class ("1xx" .. "5xx") and a code outside 100-599 under "other": 67 slots per
/// (route, method) instead of one per possible code.
///
/// Memory: about (routes + 1) * 4.4 KB per io thread, allocated in the constructor.
class HttpMetrics {
 public:
  /// `routes` are the route templates (label values), index = route id. One more id,
  /// routes.size(), is reserved for requests that matched no route ("unmatched").
  /// `threads` is the number of io threads (shards); at least 1.
  HttpMetrics(std::size_t threads, std::vector<std::string> routes);
  ~HttpMetrics();
  HttpMetrics(const HttpMetrics&) = delete;
  HttpMetrics& operator=(const HttpMetrics&) = delete;

  std::size_t UnmatchedRoute() const;

  /// Counts one request and its duration. Only from io thread `thread`; wait-free, no
  /// allocation, never throws. `seconds` that is negative or NaN counts as 0.
  /// A `thread` or `route` out of range is a bug in the caller: the process aborts.
  void ObserveRequest(std::size_t thread, std::size_t route, http::Method method, int status,
                      double seconds);
  /// Counts one rejection. Only from io thread `thread`; same guarantees as ObserveRequest.
  void Reject(std::size_t thread, Rejection reason);

  /// Adapter for the prometheus-cpp registry. It shares ownership of the counters, so it
  /// stays valid (and keeps reporting the last values) even if it outlives this object.
  /// Its Collect() may run on any thread, concurrently with the io threads' updates.
  std::shared_ptr<prometheus::Collectable> Collectable();

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace myriad::metrics
