#include "metrics/http_metrics.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/client_metric.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace myriad::metrics {
namespace {

using Labels = std::map<std::string, std::string>;

constexpr std::array<double, 14> kBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                            0.1,    0.25,  0.5,    1,     2.5,  5,     10};

const prometheus::MetricFamily* FindFamily(const std::vector<prometheus::MetricFamily>& families,
                                           const std::string& name) {
  for (const auto& family : families) {
    if (family.name == name) return &family;
  }
  return nullptr;
}

const prometheus::ClientMetric* FindMetric(const prometheus::MetricFamily& family,
                                           const Labels& labels) {
  for (const auto& metric : family.metric) {
    Labels have;
    for (const auto& label : metric.label) have[label.name] = label.value;
    if (have == labels) return &metric;
  }
  return nullptr;
}

class HttpMetricsTest : public ::testing::Test {
 protected:
  std::vector<prometheus::MetricFamily> Collect() { return metrics_.Collectable()->Collect(); }

  const prometheus::MetricFamily& Family(const std::string& name) {
    families_ = Collect();
    const auto* family = FindFamily(families_, name);
    if (family == nullptr) {
      ADD_FAILURE() << "no family " << name;
      static const prometheus::MetricFamily kEmpty;
      return kEmpty;
    }
    return *family;
  }

  // Count of one http_requests_total series, or -1 if the series is absent.
  double Requests(const std::string& method, const std::string& route, const std::string& status) {
    const auto* metric = FindMetric(Family("http_requests_total"),
                                    {{"method", method}, {"route", route}, {"status", status}});
    return metric == nullptr ? -1 : metric->counter.value;
  }

  static constexpr std::size_t kUsers = 0;
  static constexpr std::size_t kHealth = 1;
  HttpMetrics metrics_{2, {"/api/users/{id}", "/api/health"}};
  std::vector<prometheus::MetricFamily> families_;
};

TEST_F(HttpMetricsTest, CountsFromTwoThreadsAreExactAfterJoin) {
  std::thread first([&] {
    for (int i = 0; i < 100000; ++i) {
      metrics_.ObserveRequest(0, kUsers, http::Method::kGet, 200, 0.002);
    }
    for (int i = 0; i < 10; ++i) {
      metrics_.ObserveRequest(0, kHealth, http::Method::kPost, 201, 0.002);
    }
  });
  std::thread second([&] {
    for (int i = 0; i < 100000; ++i) {
      metrics_.ObserveRequest(1, kUsers, http::Method::kGet, 200, 0.002);
    }
    for (int i = 0; i < 7; ++i) {
      metrics_.ObserveRequest(1, kUsers, http::Method::kGet, 404, 0.002);
    }
  });
  first.join();
  second.join();

  EXPECT_EQ(Requests("GET", "/api/users/{id}", "200"), 200000);
  EXPECT_EQ(Requests("GET", "/api/users/{id}", "404"), 7);
  EXPECT_EQ(Requests("POST", "/api/health", "201"), 10);
  // Only non-zero series are emitted.
  EXPECT_EQ(Family("http_requests_total").metric.size(), 3U);

  const auto* users =
      FindMetric(Family("http_request_duration_seconds"), {{"route", "/api/users/{id}"}});
  ASSERT_NE(users, nullptr);
  EXPECT_EQ(users->histogram.sample_count, 200007U);
  EXPECT_NEAR(users->histogram.sample_sum, 200007 * 0.002, 1e-6);
}

TEST_F(HttpMetricsTest, HistogramOnlyForObservedRoutes) {
  EXPECT_TRUE(Family("http_request_duration_seconds").metric.empty());
  metrics_.ObserveRequest(0, kHealth, http::Method::kGet, 200, 0.001);
  const auto& family = Family("http_request_duration_seconds");
  ASSERT_EQ(family.metric.size(), 1U);
  EXPECT_NE(FindMetric(family, {{"route", "/api/health"}}), nullptr);
}

TEST_F(HttpMetricsTest, BucketUpperBoundsAreInclusive) {
  // One observation exactly on each bound, and one just above it (which belongs to the
  // next bucket, or only to +Inf for the last bound).
  for (const double bound : kBounds) {
    metrics_.ObserveRequest(0, kUsers, http::Method::kGet, 200, bound);
    metrics_.ObserveRequest(1, kUsers, http::Method::kGet, 200,
                            std::nextafter(bound, std::numeric_limits<double>::infinity()));
  }
  const auto* metric =
      FindMetric(Family("http_request_duration_seconds"), {{"route", "/api/users/{id}"}});
  ASSERT_NE(metric, nullptr);
  const auto& buckets = metric->histogram.bucket;
  ASSERT_EQ(buckets.size(), kBounds.size() + 1);
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    EXPECT_EQ(buckets[i].upper_bound, kBounds[i]);
    // Bound i plus the i "just above" values of the bounds below it.
    EXPECT_EQ(buckets[i].cumulative_count, 2 * i + 1) << "le=" << kBounds[i];
  }
  EXPECT_TRUE(std::isinf(buckets.back().upper_bound));
  EXPECT_EQ(buckets.back().cumulative_count, 2 * kBounds.size());
  EXPECT_EQ(metric->histogram.sample_count, 2 * kBounds.size());
}

TEST_F(HttpMetricsTest, SumIsExactForWholeNanoseconds) {
  metrics_.ObserveRequest(0, kUsers, http::Method::kGet, 200, 0.25);
  metrics_.ObserveRequest(1, kUsers, http::Method::kGet, 200, 0.5);
  metrics_.ObserveRequest(1, kUsers, http::Method::kGet, 200, 0.000000001);
  const auto* metric =
      FindMetric(Family("http_request_duration_seconds"), {{"route", "/api/users/{id}"}});
  ASSERT_NE(metric, nullptr);
  EXPECT_DOUBLE_EQ(metric->histogram.sample_sum, 0.750000001);
}

TEST_F(HttpMetricsTest, NegativeAndNanDurationsCountAsZero) {
  metrics_.ObserveRequest(0, kUsers, http::Method::kGet, 200, -1.0);
  metrics_.ObserveRequest(0, kUsers, http::Method::kGet, 200,
                          std::numeric_limits<double>::quiet_NaN());
  const auto* metric =
      FindMetric(Family("http_request_duration_seconds"), {{"route", "/api/users/{id}"}});
  ASSERT_NE(metric, nullptr);
  EXPECT_EQ(metric->histogram.bucket.front().cumulative_count, 2U);
  EXPECT_EQ(metric->histogram.sample_sum, 0);
}

TEST_F(HttpMetricsTest, InfiniteDurationLandsInInfBucketWithFiniteSum) {
  metrics_.ObserveRequest(0, kUsers, http::Method::kGet, 200,
                          std::numeric_limits<double>::infinity());
  const auto* metric =
      FindMetric(Family("http_request_duration_seconds"), {{"route", "/api/users/{id}"}});
  ASSERT_NE(metric, nullptr);
  EXPECT_EQ(metric->histogram.bucket[kBounds.size() - 1].cumulative_count, 0U);
  EXPECT_EQ(metric->histogram.bucket.back().cumulative_count, 1U);
  EXPECT_TRUE(std::isfinite(metric->histogram.sample_sum));
  EXPECT_GT(metric->histogram.sample_sum, 10);
}

TEST_F(HttpMetricsTest, UnmatchedRouteHasItsOwnLabel) {
  EXPECT_EQ(metrics_.UnmatchedRoute(), 2U);
  metrics_.ObserveRequest(1, metrics_.UnmatchedRoute(), http::Method::kGet, 404, 0.0001);
  EXPECT_EQ(Requests("GET", "unmatched", "404"), 1);
  EXPECT_NE(FindMetric(Family("http_request_duration_seconds"), {{"route", "unmatched"}}), nullptr);
}

TEST_F(HttpMetricsTest, StatusLabels) {
  const std::vector<std::pair<int, std::string>> cases = {
      {100, "100"}, {200, "200"},  {226, "226"},   {308, "308"},  {429, "429"},  {451, "451"},
      {511, "511"}, {299, "2xx"},  {306, "3xx"},   {418, "4xx"},  {599, "5xx"},  {150, "1xx"},
      {0, "other"}, {99, "other"}, {600, "other"}, {-1, "other"}, {999, "other"}};
  for (const auto& [status, label] : cases) {
    metrics_.ObserveRequest(0, kUsers, http::Method::kGet, status, 0.001);
  }
  EXPECT_EQ(Requests("GET", "/api/users/{id}", "other"), 5);
  EXPECT_EQ(Requests("GET", "/api/users/{id}", "418"), -1);
  for (const auto& [status, label] : cases) {
    if (label != "other") {
      EXPECT_EQ(Requests("GET", "/api/users/{id}", label), 1) << status;
    }
  }
}

TEST_F(HttpMetricsTest, MethodLabels) {
  for (std::size_t m = 0; m < http::kMethodCount; ++m) {
    metrics_.ObserveRequest(0, kHealth, static_cast<http::Method>(m), 200, 0.001);
  }
  for (const char* method : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"}) {
    EXPECT_EQ(Requests(method, "/api/health", "200"), 1) << method;
  }
}

TEST_F(HttpMetricsTest, AllRejectionReasonsAlwaysPresent) {
  const auto reasons = [&] {
    Labels counts;
    for (const auto& metric : Family("http_rejections_total").metric) {
      counts[metric.label.at(0).value] = std::to_string(static_cast<int>(metric.counter.value));
    }
    return counts;
  };
  EXPECT_EQ(reasons(), (Labels{{"concurrency", "0"},
                               {"connections", "0"},
                               {"timeout", "0"},
                               {"too_large", "0"},
                               {"bad_request", "0"},
                               {"per_ip_connections", "0"}}));
  for (int i = 0; i < 3; ++i) metrics_.Reject(0, Rejection::kTimeout);
  for (int i = 0; i < 2; ++i) metrics_.Reject(1, Rejection::kTimeout);
  metrics_.Reject(1, Rejection::kConcurrency);
  metrics_.Reject(0, Rejection::kBadRequest);
  metrics_.Reject(1, Rejection::kPerIpConnections);
  EXPECT_EQ(reasons(), (Labels{{"concurrency", "1"},
                               {"connections", "0"},
                               {"timeout", "5"},
                               {"too_large", "0"},
                               {"bad_request", "1"},
                               {"per_ip_connections", "1"}}));
  // Rejections are not requests.
  EXPECT_TRUE(Family("http_requests_total").metric.empty());
}

TEST_F(HttpMetricsTest, ScrapesWhileWritingAreMonotonicAndFinalIsExact) {
  constexpr int kPerThread = 200000;
  std::atomic<bool> done{false};
  std::vector<std::thread> writers;
  for (std::size_t t = 0; t < 2; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        metrics_.ObserveRequest(t, kUsers, http::Method::kGet, 200, 0.003);
        if (i % 100 == 0) metrics_.Reject(t, Rejection::kTooLarge);
      }
    });
  }
  const auto collectable = metrics_.Collectable();
  double last_requests = 0;
  std::uint64_t last_count = 0;
  int scrapes = 0;
  std::thread scraper([&] {
    while (!done.load()) {
      const auto families = collectable->Collect();
      const auto* requests = FindFamily(families, "http_requests_total");
      const auto* durations = FindFamily(families, "http_request_duration_seconds");
      if (requests == nullptr || durations == nullptr) {
        ADD_FAILURE() << "family missing";
        return;
      }
      if (!requests->metric.empty()) {
        EXPECT_GE(requests->metric[0].counter.value, last_requests);
        last_requests = requests->metric[0].counter.value;
      }
      if (!durations->metric.empty()) {
        const auto& histogram = durations->metric[0].histogram;
        EXPECT_GE(histogram.sample_count, last_count);
        EXPECT_EQ(histogram.bucket.back().cumulative_count, histogram.sample_count);
        last_count = histogram.sample_count;
      }
      ++scrapes;
    }
  });
  for (auto& writer : writers) writer.join();
  done.store(true);
  scraper.join();
  EXPECT_GT(scrapes, 0);
  EXPECT_EQ(Requests("GET", "/api/users/{id}", "200"), 2 * kPerThread);
  const auto* rejected = FindMetric(Family("http_rejections_total"), {{"reason", "too_large"}});
  ASSERT_NE(rejected, nullptr);
  EXPECT_EQ(rejected->counter.value, 2 * kPerThread / 100);
}

TEST(HttpMetricsLifetime, CollectableOutlivesMetrics) {
  std::shared_ptr<prometheus::Collectable> collectable;
  {
    HttpMetrics metrics(1, {"/a"});
    metrics.ObserveRequest(0, 0, http::Method::kGet, 200, 0.001);
    collectable = metrics.Collectable();
  }
  const auto families = collectable->Collect();
  const auto* family = FindFamily(families, "http_requests_total");
  ASSERT_NE(family, nullptr);
  ASSERT_EQ(family->metric.size(), 1U);
  EXPECT_EQ(family->metric[0].counter.value, 1);
}

TEST(HttpMetricsDeathTest, OutOfRangeThreadOrRouteAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  HttpMetrics metrics(2, {"/a"});
  EXPECT_DEATH(metrics.ObserveRequest(2, 0, http::Method::kGet, 200, 0.001), "thread 2");
  EXPECT_DEATH(metrics.ObserveRequest(0, 2, http::Method::kGet, 200, 0.001), "route 2");
  EXPECT_DEATH(metrics.Reject(5, Rejection::kTimeout), "thread 5");
}

}  // namespace
}  // namespace myriad::metrics
