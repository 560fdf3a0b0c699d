#pragma once

#include <functional>
#include <memory>
#include <string>

#include "health/health_api.hpp"
#include "http/server.hpp"
#include "metrics/registry.hpp"

namespace myriad::testing {

/// A real Myriad HTTP server in the test process on an ephemeral loopback port, with the
/// health routes plus whatever the test adds. Stops (gracefully) when destroyed.
class TestServer {
 public:
  static http::ServerOptions DefaultOptions();

  explicit TestServer(http::ServerOptions options = DefaultOptions(),
                      const std::function<void(http::Routes&)>& add_routes = {},
                      const std::string& access_log = "off");
  ~TestServer();

  std::uint16_t port() const { return server_->port(); }
  http::Server& server() { return *server_; }
  metrics::Registry& registry() { return registry_; }
  health::Readiness& readiness() { return readiness_; }
  /// The /metrics text.
  std::string Metrics() const { return registry_.Serialize(); }

 private:
  metrics::Registry registry_;
  health::Readiness readiness_;
  http::Routes routes_;
  std::unique_ptr<http::AccessLog> access_log_;
  std::unique_ptr<http::Server> server_;
};

/// Adds test routes: GET /test/sleep?ms=N (async, answers after N ms), POST /test/echo
/// (sync, echoes the body), GET /test/throw (a handler that throws).
void AddTestRoutes(http::Routes& routes);

/// The value of a sample line "name{labels} value" in Prometheus text, or -1 if absent.
double MetricValue(const std::string& text, const std::string& series);

/// Polls `condition` every 5 ms for up to `timeout`; true as soon as it holds.
bool Eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace myriad::testing
