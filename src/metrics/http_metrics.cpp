#include "metrics/http_metrics.hpp"

#include <prometheus/client_metric.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string_view>
#include <utility>

namespace myriad::metrics {
namespace {

// Every code in the IANA HTTP status code registry within 100-599 (RFC 9110 and friends).
// 306 and 418 are registered as "(Unused)" and so left to their class slot.
constexpr std::array<std::uint16_t, 61> kKnownStatuses = {
    100, 101, 102, 103,                                                    //
    200, 201, 202, 203, 204, 205, 206, 207, 208, 226,                      //
    300, 301, 302, 303, 304, 305, 307, 308,                                //
    400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413,  //
    414, 415, 416, 417, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451,  //
    500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511,                 //
};
constexpr std::size_t kFirstClassSlot = kKnownStatuses.size();  // "1xx" .. "5xx"
constexpr std::size_t kOutOfRangeSlot = kFirstClassSlot + 5;    // "other"
constexpr std::size_t kStatusSlots = kOutOfRangeSlot + 1;

constexpr int kMinStatus = 100;
constexpr int kMaxStatus = 599;

constexpr std::array<std::uint8_t, kMaxStatus - kMinStatus + 1> MakeStatusToSlot() {
  std::array<std::uint8_t, kMaxStatus - kMinStatus + 1> table{};
  for (int status = kMinStatus; status <= kMaxStatus; ++status) {
    table[status - kMinStatus] = static_cast<std::uint8_t>(kFirstClassSlot + status / 100 - 1);
  }
  for (std::size_t i = 0; i < kKnownStatuses.size(); ++i) {
    table[kKnownStatuses[i] - kMinStatus] = static_cast<std::uint8_t>(i);
  }
  return table;
}
constexpr auto kStatusToSlot = MakeStatusToSlot();
static_assert(kStatusSlots <= std::numeric_limits<std::uint8_t>::max());

std::size_t StatusSlot(int status) {
  if (status < kMinStatus || status > kMaxStatus) return kOutOfRangeSlot;
  return kStatusToSlot[static_cast<std::size_t>(status - kMinStatus)];
}

std::string StatusLabel(std::size_t slot) {
  if (slot < kFirstClassSlot) return std::to_string(kKnownStatuses[slot]);
  if (slot < kOutOfRangeSlot) return std::to_string(slot - kFirstClassSlot + 1) + "xx";
  return "other";
}

constexpr std::array<double, 14> kDurationBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                    0.1,    0.25,  0.5,    1,     2.5,  5,     10};
constexpr std::size_t kDurationBuckets = kDurationBounds.size() + 1;  // + "+Inf"
// A request cannot take a year; the cap keeps the double -> integer conversion defined.
constexpr double kMaxObservedSeconds = 365.0 * 24 * 3600;

constexpr std::array<std::string_view, kRejectionCount> kRejectionLabels = {
    "concurrency", "connections", "timeout", "too_large", "bad_request"};

constexpr std::string_view kUnmatchedLabel = "unmatched";

// Two 64-byte lines: x86's adjacent-line prefetcher moves lines in pairs, so shards of
// different threads must not share a 128-byte block either.
constexpr std::size_t kFalseSharingRange = 128;
using Cell = std::atomic<std::uint64_t>;
static_assert(Cell::is_always_lock_free);

struct alignas(kFalseSharingRange) Block {
  static constexpr std::size_t kCells = kFalseSharingRange / sizeof(Cell);
  std::array<Cell, kCells> cells{};
};

// Single writer per cell, so a relaxed load + store is enough and compiles to plain moves
// (no lock prefix); the atomic only makes the scraper's concurrent read well-defined.
void Bump(Cell& cell, std::uint64_t by) {
  cell.store(cell.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

[[noreturn]] void DieOnBadIndex(const char* what, std::size_t value, std::size_t limit) {
  std::fprintf(stderr, "myriad: HttpMetrics: %s %zu out of range (limit %zu)\n", what, value,
               limit);
  std::abort();
}

}  // namespace

// Cell layout of one shard (each shard starts on its own Block):
//   [rejections: kRejectionCount]
//   [per route: kDurationBuckets non-cumulative bucket counts, then the sum in ns]
//   [per route, per method, per status slot: request count]
class HttpMetrics::Impl final : public prometheus::Collectable {
 public:
  Impl(std::size_t threads, std::vector<std::string> routes)
      : threads_(std::max<std::size_t>(threads, 1)),
        routes_(std::move(routes)),
        route_count_(routes_.size() + 1),
        histogram_base_(kRejectionCount),
        requests_base_(histogram_base_ + route_count_ * kHistogramCells),
        blocks_per_shard_((requests_base_ + route_count_ * http::kMethodCount * kStatusSlots +
                           Block::kCells - 1) /
                          Block::kCells),
        blocks_(threads_ * blocks_per_shard_) {
    routes_.emplace_back(kUnmatchedLabel);
  }

  std::size_t RouteCount() const { return route_count_; }

  void ObserveRequest(std::size_t thread, std::size_t route, http::Method method, int status,
                      double seconds) {
    if (thread >= threads_) [[unlikely]] {
      DieOnBadIndex("thread", thread, threads_);
    }
    if (route >= route_count_) [[unlikely]] {
      DieOnBadIndex("route", route, route_count_);
    }
    auto method_index = static_cast<std::size_t>(method);
    if (method_index >= http::kMethodCount) [[unlikely]] {
      method_index = static_cast<std::size_t>(http::Method::kOther);
    }

    Bump(At(thread, RequestCell(route, method_index, StatusSlot(status))), 1);

    // `!(x > 0)` also catches NaN, which would otherwise land in the first bucket.
    if (!(seconds > 0)) seconds = 0;
    seconds = std::min(seconds, kMaxObservedSeconds);
    const auto bucket = static_cast<std::size_t>(
        std::lower_bound(kDurationBounds.begin(), kDurationBounds.end(), seconds) -
        kDurationBounds.begin());
    const std::size_t histogram = histogram_base_ + route * kHistogramCells;
    Bump(At(thread, histogram + bucket), 1);
    Bump(At(thread, histogram + kDurationBuckets),
         static_cast<std::uint64_t>(std::llround(seconds * 1e9)));
  }

  void Reject(std::size_t thread, Rejection reason) {
    if (thread >= threads_) [[unlikely]] {
      DieOnBadIndex("thread", thread, threads_);
    }
    const auto index = static_cast<std::size_t>(reason);
    if (index >= kRejectionCount) [[unlikely]] {
      DieOnBadIndex("reason", index, kRejectionCount);
    }
    Bump(At(thread, index), 1);
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> families(3);
    CollectRequests(families[0]);
    CollectDurations(families[1]);
    CollectRejections(families[2]);
    return families;
  }

 private:
  static constexpr std::size_t kHistogramCells = kDurationBuckets + 1;

  std::size_t RequestCell(std::size_t route, std::size_t method, std::size_t slot) const {
    return requests_base_ + (route * http::kMethodCount + method) * kStatusSlots + slot;
  }

  Cell& At(std::size_t thread, std::size_t cell) const {
    return blocks_[thread * blocks_per_shard_ + cell / Block::kCells].cells[cell % Block::kCells];
  }

  std::uint64_t Sum(std::size_t cell) const {
    std::uint64_t total = 0;
    for (std::size_t t = 0; t < threads_; ++t) {
      total += At(t, cell).load(std::memory_order_relaxed);
    }
    return total;
  }

  void CollectRequests(prometheus::MetricFamily& family) const {
    family.name = "http_requests_total";
    family.help = "HTTP requests answered, by method, route template and status code.";
    family.type = prometheus::MetricType::Counter;
    for (std::size_t route = 0; route < route_count_; ++route) {
      for (std::size_t method = 0; method < http::kMethodCount; ++method) {
        for (std::size_t slot = 0; slot < kStatusSlots; ++slot) {
          const std::uint64_t count = Sum(RequestCell(route, method, slot));
          if (count == 0) continue;
          prometheus::ClientMetric metric;
          metric.label = {
              {"method", std::string(http::ToString(static_cast<http::Method>(method)))},
              {"route", routes_[route]},
              {"status", StatusLabel(slot)}};
          metric.counter.value = static_cast<double>(count);
          family.metric.push_back(std::move(metric));
        }
      }
    }
  }

  void CollectDurations(prometheus::MetricFamily& family) const {
    family.name = "http_request_duration_seconds";
    family.help = "Time from the first byte of a request to its response, by route template.";
    family.type = prometheus::MetricType::Histogram;
    for (std::size_t route = 0; route < route_count_; ++route) {
      const std::size_t histogram = histogram_base_ + route * kHistogramCells;
      // Each bucket is read once, so the cumulative counts stay monotonic and _count
      // equals the +Inf bucket even while io threads keep writing; _sum is read after
      // and may include a few observations more than the buckets.
      std::array<std::uint64_t, kDurationBuckets> buckets{};
      std::uint64_t count = 0;
      for (std::size_t b = 0; b < kDurationBuckets; ++b) {
        buckets[b] = Sum(histogram + b);
        count += buckets[b];
      }
      if (count == 0) continue;
      prometheus::ClientMetric metric;
      metric.label = {{"route", routes_[route]}};
      metric.histogram.sample_count = count;
      metric.histogram.sample_sum = static_cast<double>(Sum(histogram + kDurationBuckets)) / 1e9;
      metric.histogram.bucket.reserve(kDurationBuckets);
      std::uint64_t cumulative = 0;
      for (std::size_t b = 0; b < kDurationBuckets; ++b) {
        cumulative += buckets[b];
        metric.histogram.bucket.push_back(
            {cumulative, b < kDurationBounds.size() ? kDurationBounds[b]
                                                    : std::numeric_limits<double>::infinity()});
      }
      family.metric.push_back(std::move(metric));
    }
  }

  void CollectRejections(prometheus::MetricFamily& family) const {
    family.name = "http_rejections_total";
    family.help = "Requests or connections turned away before a handler ran, by reason.";
    family.type = prometheus::MetricType::Counter;
    for (std::size_t reason = 0; reason < kRejectionCount; ++reason) {
      prometheus::ClientMetric metric;
      metric.label = {{"reason", std::string(kRejectionLabels[reason])}};
      metric.counter.value = static_cast<double>(Sum(reason));
      family.metric.push_back(std::move(metric));
    }
  }

  const std::size_t threads_;
  std::vector<std::string> routes_;  // route_count_ labels, "unmatched" last
  const std::size_t route_count_;
  const std::size_t histogram_base_;
  const std::size_t requests_base_;
  const std::size_t blocks_per_shard_;
  // mutable: Collect() is const but reads atomics; At() hands out the same cells to writers.
  mutable std::vector<Block> blocks_;
};

HttpMetrics::HttpMetrics(std::size_t threads, std::vector<std::string> routes)
    : impl_(std::make_shared<Impl>(threads, std::move(routes))) {}

HttpMetrics::~HttpMetrics() = default;

std::size_t HttpMetrics::UnmatchedRoute() const { return impl_->RouteCount() - 1; }

void HttpMetrics::ObserveRequest(std::size_t thread, std::size_t route, http::Method method,
                                 int status, double seconds) {
  impl_->ObserveRequest(thread, route, method, status, seconds);
}

void HttpMetrics::Reject(std::size_t thread, Rejection reason) { impl_->Reject(thread, reason); }

std::shared_ptr<prometheus::Collectable> HttpMetrics::Collectable() { return impl_; }

}  // namespace myriad::metrics
