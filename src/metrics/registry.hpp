#pragma once

#include <functional>
#include <memory>
#include <string>

namespace prometheus {
class Collectable;
class Registry;
}  // namespace prometheus

namespace myriad::metrics {

/// The process's metric registry: prometheus-cpp's Registry for the families modules
/// create, plus collectables (our sharded HTTP metrics, process metrics, gauges read at
/// scrape time). Serialize() renders the Prometheus text format (version 0.0.4).
/// Thread-safe: every member may run on any thread, and Serialize while others update
/// metrics. Family names must be unique across everything added; that is not checked
/// across collectables (a duplicate makes the exposition invalid), so give each module
/// its own prefix.
class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  /// For modules that create prometheus-cpp families directly (not on hot paths: a
  /// Family::Add takes a lock and a map lookup, a Histogram::Observe takes a lock).
  /// The reference lives as long as this Registry.
  prometheus::Registry& Prometheus();

  /// Adds a collectable that is asked for its families at every scrape, after the
  /// prometheus-cpp families, in the order added. Shares ownership of it.
  void Add(std::shared_ptr<prometheus::Collectable> collectable);

  /// A gauge whose value `read` returns at scrape time (e.g. open connections, requests in
  /// flight). `read` runs on the scraping thread, concurrently with everything else, so it
  /// must be thread-safe; if it throws, the gauge is left out of that scrape.
  /// Start-up only: throws std::invalid_argument if `name` is not a valid metric name or
  /// was given to an earlier callback gauge.
  void AddCallbackGauge(std::string name, std::string help, std::function<double()> read);

  /// Standard process_* metrics (cpu seconds, resident and virtual memory, open and max
  /// fds, start time) and myriad_build_info{version,commit}, read from /proc at every
  /// scrape. A source that cannot be read leaves its metrics out; never throws. A second
  /// call has no effect.
  void AddProcessMetrics();

  /// The text exposition of every metric. Thread-safe; allocates, so not for io-thread hot
  /// paths beyond a /metrics handler.
  std::string Serialize() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace myriad::metrics
