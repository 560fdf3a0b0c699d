#include "metrics/http_metrics.hpp"

#include <prometheus/client_metric.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string_view>
#include <utility>

#include "metrics/sharded_cells.hpp"

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
constexpr HistogramCells kDuration{kDurationBounds};

constexpr std::array<std::string_view, kRejectionCount> kRejectionLabels = {
    "concurrency", "connections", "timeout", "too_large", "bad_request", "per_ip_connections"};

constexpr std::string_view kUnmatchedLabel = "unmatched";

[[noreturn]] void DieOnBadIndex(const char* what, std::size_t value, std::size_t limit) {
  std::fprintf(stderr, "myriad: HttpMetrics: %s %zu out of range (limit %zu)\n", what, value,
               limit);
  std::abort();
}

}  // namespace

// Cell layout of one shard:
//   [rejections: kRejectionCount]
//   [per route: kDuration.cells() (buckets, then the sum in ns)]
//   [per route, per method, per status slot: request count]
class HttpMetrics::Impl final : public prometheus::Collectable {
 public:
  Impl(std::size_t threads, std::vector<std::string> routes)
      : threads_(std::max<std::size_t>(threads, 1)),
        routes_(std::move(routes)),
        route_count_(routes_.size() + 1),
        histogram_base_(kRejectionCount),
        requests_base_(histogram_base_ + route_count_ * kDuration.cells()),
        cells_(threads_, requests_base_ + route_count_ * http::kMethodCount * kStatusSlots) {
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

    cells_.Add(thread, RequestCell(route, method_index, StatusSlot(status)), 1);
    kDuration.Observe(cells_, thread, histogram_base_ + route * kDuration.cells(), seconds);
  }

  void Reject(std::size_t thread, Rejection reason) {
    if (thread >= threads_) [[unlikely]] {
      DieOnBadIndex("thread", thread, threads_);
    }
    const auto index = static_cast<std::size_t>(reason);
    if (index >= kRejectionCount) [[unlikely]] {
      DieOnBadIndex("reason", index, kRejectionCount);
    }
    cells_.Add(thread, index, 1);
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> families(3);
    CollectRequests(families[0]);
    CollectDurations(families[1]);
    CollectRejections(families[2]);
    return families;
  }

 private:
  std::size_t RequestCell(std::size_t route, std::size_t method, std::size_t slot) const {
    return requests_base_ + (route * http::kMethodCount + method) * kStatusSlots + slot;
  }

  std::uint64_t Sum(std::size_t cell) const { return cells_.Sum(cell); }

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
      prometheus::ClientMetric metric;
      if (!kDuration.Collect(cells_, histogram_base_ + route * kDuration.cells(), metric)) continue;
      metric.label = {{"route", routes_[route]}};
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
  ShardedCells cells_;
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
