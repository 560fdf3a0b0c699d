#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "http/handler.hpp"

namespace myriad::metrics {
class Registry;
}

namespace myriad::health {

/// What `GET /api/ready` reports. Checks are added at start-up by the modules that own a
/// dependency (database, cache); SetDraining() is called on SIGTERM. Thread-safe reads.
class Readiness {
 public:
  enum class State { kUp, kDegraded, kDown };
  struct Check {
    std::string name;
    /// Runs on an io thread: must only read state, never block.
    std::function<State()> probe;
  };

  void AddCheck(Check check) { checks_.push_back(std::move(check)); }
  const std::vector<Check>& checks() const { return checks_; }
  void SetDraining() { draining_.store(true, std::memory_order_relaxed); }
  bool draining() const { return draining_.load(std::memory_order_relaxed); }

 private:
  std::vector<Check> checks_;
  std::atomic<bool> draining_{false};
};

/// `{"status":"ok"}`; no I/O, always 200 while the process serves.
http::Response Liveness();
/// 200 {"status":"ready"|"degraded","checks":{...}} or 503 problem+json while draining or
/// when a check is down.
http::Response ReadinessAnswer(const Readiness& readiness, std::string_view request_id);
/// The registry in Prometheus text format.
http::Response MetricsAnswer(const metrics::Registry& registry);

/// GET /api/health, GET /api/ready, GET /metrics. Liveness and metrics are exempt from
/// the concurrency limit: they must answer while the server sheds load.
void RegisterHealthRoutes(http::Routes& routes, const Readiness& readiness,
                          const metrics::Registry& registry);

}  // namespace myriad::health
