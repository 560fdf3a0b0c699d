// Why HttpMetrics shards per io thread: the cost of recording one request (a counter
// increment plus a histogram observation) with our shards against prometheus-cpp's own
// Counter and Histogram, from one thread and from two threads that share the series.
//
//   BM_HttpMetrics          HttpMetrics::ObserveRequest, each thread on its own shard
//   BM_PrometheusCppCached  Counter& and Histogram& looked up once, then Increment/Observe
//   BM_PrometheusCppLookup  Family::Add(labels) on every request (what a handler that
//                           does not cache the series does)
//   BM_Serialize            one scrape of http metrics with every route observed
#include <benchmark/benchmark.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "http/method.hpp"
#include "metrics/http_metrics.hpp"
#include "metrics/registry.hpp"

namespace {

using myriad::http::Method;
using myriad::metrics::HttpMetrics;

constexpr std::size_t kRoutes = 16;
constexpr std::size_t kInputs = 64;  // power of two: the loop indexes with a mask
constexpr int kThreadsMax = 2;

struct Request {
  std::size_t route;
  Method method;
  int status;
  double seconds;
};

std::vector<std::string> RouteNames() {
  std::vector<std::string> routes;
  for (std::size_t i = 0; i < kRoutes; ++i) routes.push_back("/api/route" + std::to_string(i));
  return routes;
}

// A fixed mix: mostly GET 200 over a few hot routes, some writes and errors, durations
// spread over the buckets.
const std::array<Request, kInputs>& Requests() {
  static const auto kRequests = [] {
    constexpr std::array<Method, 4> kMethods = {Method::kGet, Method::kGet, Method::kPost,
                                                Method::kGet};
    constexpr std::array<int, 8> kStatuses = {200, 200, 200, 201, 200, 404, 200, 503};
    constexpr std::array<double, 8> kSeconds = {0.0003, 0.0012, 0.004, 0.0008,
                                                0.02,   0.0021, 0.3,   0.0009};
    std::array<Request, kInputs> requests{};
    for (std::size_t i = 0; i < kInputs; ++i) {
      requests[i] = {(i * 7) % 5, kMethods[i % kMethods.size()], kStatuses[i % kStatuses.size()],
                     kSeconds[(i * 3) % kSeconds.size()]};
    }
    return requests;
  }();
  return kRequests;
}

const prometheus::Histogram::BucketBoundaries& Bounds() {
  static const prometheus::Histogram::BucketBoundaries kBounds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return kBounds;
}

void BM_HttpMetrics(benchmark::State& state) {
  static HttpMetrics metrics(kThreadsMax, RouteNames());
  const auto& requests = Requests();
  const auto thread = static_cast<std::size_t>(state.thread_index());
  std::size_t i = 0;
  for (auto _ : state) {
    const Request& r = requests[i++ & (kInputs - 1)];
    metrics.ObserveRequest(thread, r.route, r.method, r.status, r.seconds);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HttpMetrics)->Threads(1)->Threads(2)->UseRealTime();

// The same series, created once and shared by all benchmark threads, as a server's io
// threads would share them.
struct PrometheusCppSeries {
  prometheus::Registry registry;
  prometheus::Family<prometheus::Counter>& requests =
      prometheus::BuildCounter().Name("http_requests_total").Help("Requests.").Register(registry);
  prometheus::Family<prometheus::Histogram>& durations = prometheus::BuildHistogram()
                                                             .Name("http_request_duration_seconds")
                                                             .Help("Durations.")
                                                             .Register(registry);
  std::vector<std::string> routes = RouteNames();
  std::array<prometheus::Counter*, kInputs> counters{};
  std::array<prometheus::Histogram*, kInputs> histograms{};

  PrometheusCppSeries() {
    const auto& requests_in = Requests();
    for (std::size_t i = 0; i < kInputs; ++i) {
      counters[i] = &requests.Add(Labels(requests_in[i]));
      histograms[i] = &durations.Add({{"route", routes[requests_in[i].route]}}, Bounds());
    }
  }

  prometheus::Labels Labels(const Request& r) const {
    return {{"method", std::string(myriad::http::ToString(r.method))},
            {"route", routes[r.route]},
            {"status", std::to_string(r.status)}};
  }
};

PrometheusCppSeries& Series() {
  static PrometheusCppSeries series;
  return series;
}

void BM_PrometheusCppCached(benchmark::State& state) {
  auto& series = Series();
  const auto& requests = Requests();
  std::size_t i = 0;
  for (auto _ : state) {
    const std::size_t k = i++ & (kInputs - 1);
    series.counters[k]->Increment();
    series.histograms[k]->Observe(requests[k].seconds);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PrometheusCppCached)->Threads(1)->Threads(2)->UseRealTime();

void BM_PrometheusCppLookup(benchmark::State& state) {
  auto& series = Series();
  const auto& requests = Requests();
  std::size_t i = 0;
  for (auto _ : state) {
    const Request& r = requests[i++ & (kInputs - 1)];
    series.requests.Add(series.Labels(r)).Increment();
    series.durations.Add({{"route", series.routes[r.route]}}, Bounds()).Observe(r.seconds);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PrometheusCppLookup)->Threads(1)->Threads(2)->UseRealTime();

void BM_Serialize(benchmark::State& state) {
  myriad::metrics::Registry registry;
  HttpMetrics metrics(kThreadsMax, RouteNames());
  registry.Add(metrics.Collectable());
  for (std::size_t route = 0; route <= metrics.UnmatchedRoute(); ++route) {
    for (const int status : {200, 201, 404, 503}) {
      metrics.ObserveRequest(route % kThreadsMax, route, Method::kGet, status, 0.002);
    }
  }
  std::size_t bytes = 0;
  for (auto _ : state) {
    const std::string text = registry.Serialize();
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Serialize)->Unit(benchmark::kMicrosecond);

}  // namespace
